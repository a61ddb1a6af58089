/**
 * ORLY's policy file (ORLY_POLICY_ENABLED, ORLY_POLICY_PATH) on a real relay: write rules decided
 * about the submitter (NIP-42), validations, the kind filter, a rule's script (ORLY's script
 * protocol), read_allow and privileged on REQ and COUNT, kind 12345 hot reload by an owner
 * (applied at once, written back to the file, replays and non-owners refused, hidden from
 * non-admins), and start-up refused for a missing or unsafe file. In split mode
 * (ORLY_TEST_MODE=split) the same suite runs with the policy in orly-acl (CheckPolicy,
 * GetReadPolicy).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type Keys, newKeys, nowSec, rawAuth, sign } from '../helpers/nostr.js';
import { RawClient, startTestRelay, type TestRelay } from '../helpers/relay-harness.js';
import { ScriptDir } from '../helpers/write-plugins.js';

const owner = newKeys();
const writer = newKeys();
const banned = newKeys();
const reader = newKeys();
const stranger = newKeys();

/** ORLY's script protocol: the event's fields plus logged_in_pubkey; rejects content "bad". */
const ORLY_SCRIPT = `#!/usr/bin/env node
require('readline').createInterface({ input: process.stdin, terminal: false }).on('line', (line) => {
  const ev = JSON.parse(line);
  const bad = ev.content === 'bad';
  process.stdout.write(JSON.stringify({ id: ev.id, action: bad ? 'reject' : 'accept', msg: bad ? 'script says no' : '' }) + '\\n');
});
`;

function basePolicy(script: string): Record<string, unknown> {
  return {
    default_policy: 'allow',
    owners: [owner.pk],
    kind: { blacklist: [9] },
    global: { size_limit: 8000 },
    rules: {
      '1': { content_limit: 100, write_deny: [banned.pk] },
      '30023': { identifier_regex: '^[a-z0-9-]{1,64}$', write_allow: [writer.pk] },
      '7': { read_allow: [reader.pk] },
      '1984': { script },
      '20': { privileged: true },
    },
  };
}

async function authed(t: TestRelay, keys: Keys): Promise<RawClient> {
  const c = await RawClient.connect(t.url);
  assert.equal((await rawAuth(c, keys, t.url))[2], true);
  return c;
}

describe('ORLY policy file', () => {
  let dir: ScriptDir;
  let path: string;
  let t: TestRelay;
  let anon: RawClient;

  before(async () => {
    dir = await ScriptDir.create();
    const script = await dir.write('kind1984.js', ORLY_SCRIPT);
    path = await dir.write('policy.json', JSON.stringify(basePolicy(script)));
    t = await startTestRelay({
      ORLY_POLICY_ENABLED: 'true',
      ORLY_POLICY_PATH: path,
      ORLY_AUTH_REQUIRED: 'false',
    });
    anon = await RawClient.connect(t.url);
  });
  after(async () => {
    await anon?.close();
    await t?.stop();
    await dir?.remove();
  });

  it('validates writes: content_limit, the kind blacklist, the global size_limit', async () => {
    const short = sign(stranger, { content: 'hello' });
    assert.deepEqual(await anon.publish(short), ['OK', short.id, true, '']);
    const long = sign(stranger, { content: 'x'.repeat(101) });
    const answer = await anon.publish(long);
    assert.equal(answer[2], false);
    assert.match(answer[3], /^invalid: /);
    const nine = sign(stranger, { kind: 9, content: 'chat' });
    const refused = await anon.publish(nine);
    assert.equal(refused[2], false);
    assert.match(refused[3], /^blocked: /);
    const huge = sign(stranger, { kind: 1111, content: 'y'.repeat(9000) });
    assert.match((await anon.publish(huge))[3], /^invalid: /);
    assert.equal((await anon.query('v', { ids: [long.id, nine.id, huge.id] })).length, 0);
  });

  it('allow lists name the submitter (NIP-42); deny lists the submitter and the author; an allow list needs identity', async () => {
    const bannedClient = await authed(t, banned);
    try {
      const own = sign(banned, { content: 'from the banned key' });
      assert.match((await bannedClient.publish(own))[3], /^blocked: /);
      // A denied submitter cannot bring in someone else's event either.
      const other = sign(stranger, { content: 'brought by the banned key' });
      assert.match((await bannedClient.publish(other))[3], /^blocked: /);
    } finally {
      await bannedClient.close();
    }
    // Nor can a denied author get in by skipping AUTH.
    const relayed = sign(banned, { content: 'relayed by a stranger' });
    assert.match((await anon.publish(relayed))[3], /^blocked: /);

    const article = (d: string) => sign(writer, { kind: 30023, tags: [['d', d]], content: 'article' });
    const unauth = await anon.publish(article('intro'));
    assert.equal(unauth[2], false);
    assert.match(unauth[3], /^auth-required: /);
    const w = await authed(t, writer);
    try {
      assert.equal((await w.publish(article('intro')))[2], true);
      const badId = await w.publish(article('Not Valid!'));
      assert.equal(badId[2], false);
      assert.match(badId[3], /^invalid: /);
    } finally {
      await w.close();
    }
  });

  it("a rule's script decides with ORLY's script protocol", async () => {
    const fine = sign(stranger, { kind: 1984, content: 'fine' });
    assert.equal((await anon.publish(fine))[2], true);
    const bad = sign(stranger, { kind: 1984, content: 'bad' });
    assert.deepEqual(await anon.publish(bad), ['OK', bad.id, false, 'blocked: script says no']);
  });

  it('read_allow: only listed readers are served the kind, and COUNT does not count it for others', async () => {
    const reaction = sign(stranger, { kind: 7, content: '+' });
    assert.equal((await anon.publish(reaction))[2], true);
    assert.equal((await anon.query('r1', { kinds: [7] })).length, 0);
    assert.equal((await anon.query('r2', { ids: [reaction.id] })).length, 0);
    anon.send(['COUNT', 'c1', { kinds: [7] }]);
    assert.equal((await anon.next((f) => f[1] === 'c1'))[2].count, 0);
    const r = await authed(t, reader);
    try {
      assert.deepEqual(
        (await r.query('r3', { kinds: [7] })).map((e) => e.id),
        [reaction.id],
      );
    } finally {
      await r.close();
    }
  });

  it('privileged: served to the author and p-tagged readers only', async () => {
    const note = sign(stranger, { kind: 20, tags: [['p', reader.pk]], content: 'for the reader' });
    assert.equal((await anon.publish(note))[2], true);
    assert.equal((await anon.query('p1', { kinds: [20] })).length, 0);
    const r = await authed(t, reader);
    const o = await authed(t, owner);
    try {
      assert.equal((await r.query('p2', { kinds: [20] })).length, 1);
      assert.equal((await o.query('p3', { kinds: [20] })).length, 0);
    } finally {
      await r.close();
      await o.close();
    }
  });

  it('kind 12345 from an owner replaces the policy at once and writes it back; others and replays are refused', async () => {
    const current = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    const next = structuredClone(current) as { rules: Record<string, Record<string, unknown>> };
    next.rules['1']!.content_limit = 10;

    const notOwner = sign(stranger, { kind: 12345, content: JSON.stringify(next) });
    const refused = await anon.publish(notOwner);
    assert.equal(refused[2], false);
    assert.match(refused[3], /^restricted: /);

    const invalid = sign(owner, { kind: 12345, content: '{"rules": {"1": {"content_limit": "ten"}}}' });
    const bad = await anon.publish(invalid);
    assert.equal(bad[2], false);
    assert.match(bad[3], /^invalid: policy: /);

    const update = sign(owner, { kind: 12345, content: JSON.stringify(next), created_at: nowSec() });
    assert.deepEqual(await anon.publish(update), ['OK', update.id, true, 'policy configuration updated']);
    const written = JSON.parse(readFileSync(path, 'utf8')) as {
      rules: Record<string, Record<string, unknown>>;
    };
    assert.equal(written.rules['1']!.content_limit, 10);
    const now = sign(stranger, { content: 'eleven char' });
    assert.match((await anon.publish(now))[3], /^invalid: /);

    // An older update (a replay of an earlier one, or one signed before) is refused.
    const older = sign(owner, { kind: 12345, content: JSON.stringify(current), created_at: nowSec() - 60 });
    const stale = await anon.publish(older);
    assert.equal(stale[2], false);
    assert.equal(JSON.parse(readFileSync(path, 'utf8')).rules['1'].content_limit, 10);

    // Kind 12345 is kept from readers who are not owners or policy admins.
    assert.equal((await anon.query('k1', { kinds: [12345] })).length, 0);
    const o = await authed(t, owner);
    try {
      assert.deepEqual(
        (await o.query('k2', { kinds: [12345] })).map((e) => e.id),
        [update.id],
      );
    } finally {
      await o.close();
    }
  });
});

describe('ORLY policy file at start-up', () => {
  let dir: ScriptDir;
  before(async () => {
    dir = await ScriptDir.create();
  });
  after(async () => {
    await dir?.remove();
  });

  const startFails = async (env: Record<string, string>, pattern: RegExp) => {
    await assert.rejects(() => startTestRelay({ ORLY_POLICY_ENABLED: 'true', ...env }), pattern);
  };

  it('a missing file, invalid JSON, an unknown field or an unsafe regex stops start-up, naming the problem', async () => {
    await startFails({ ORLY_POLICY_PATH: `${dir.path}/absent.json` }, /ORLY_POLICY_PATH.*absent\.json/);
    await startFails({ ORLY_POLICY_PATH: await dir.write('broken.json', '{"rules": ') }, /ORLY_POLICY_PATH/);
    await startFails(
      {
        ORLY_POLICY_PATH: await dir.write(
          'typo.json',
          JSON.stringify({ rules: { '1': { write_alow: [] } } }),
        ),
      },
      /write_alow/,
    );
    await startFails(
      {
        ORLY_POLICY_PATH: await dir.write(
          'redos.json',
          JSON.stringify({ rules: { '1': { tag_validation: { t: '(a+)+$' } } } }),
        ),
      },
      /ORLY_POLICY_PATH.*tag_validation/,
    );
    await startFails({ ORLY_POLICY_PATH: 'relative/policy.json' }, /ORLY_POLICY_PATH.*absolute/);
  });
});
