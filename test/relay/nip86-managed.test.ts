/**
 * ACL mode "managed" governed over NIP-86 (issue 10): real HTTP with real NIP-98 tokens
 * (nostr-tools), every refusal of the management API, each mutating method shown by its list
 * method and by its effect on the WebSocket side, and the lists kept across a restart. In split
 * mode (ORLY_TEST_MODE=split) the same, with the relay asking an orly-acl in mode managed whose
 * state lives in orly-db; the restart restarts all three on the same data dir.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { finalizeEvent } from 'nostr-tools/pure';
import WebSocket from 'ws';
import { nip86, nip98Header } from '../helpers/nip86.js';
import { newKeys, rawAuth, sign } from '../helpers/nostr.js';
import { RawClient, startTestRelay, type TestRelay } from '../helpers/relay-harness.js';
import { waitFor } from '../helpers/wait.js';
import { rawSync } from './nip77/nip77-fixtures.js';

const owner = newKeys();
const admin = newKeys();
const stranger = newKeys();

/** The HTTP status of a WebSocket upgrade (101 when it opens). */
function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
    });
    ws.once('error', (err) => reject(err));
  });
}

describe('NIP-86 in ACL mode managed', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'orly-managed-'));
  const env = {
    ORLY_ACL_MODE: 'managed',
    ORLY_OWNERS: owner.pk,
    ORLY_ADMINS: admin.pk,
    ORLY_DATA_DIR: dataDir,
    ORLY_NEGENTROPY_ENABLED: 'true',
  };
  let t: TestRelay;
  let c: RawClient;

  before(async () => {
    t = await startTestRelay(env);
    c = await RawClient.connect(t.url);
  });
  after(async () => {
    await c?.close();
    await t?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const call = (method: string, params: unknown[] = [], keys = owner) =>
    nip86(t.httpUrl, keys, method, params);

  it('refuses what is not an authenticated owner or admin call', async () => {
    const none = await nip86(t.httpUrl, owner, 'supportedmethods', [], { authorization: null });
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Nostr');
    assert.equal((await call('supportedmethods', [], stranger)).status, 403);
    assert.equal((await nip86(t.httpUrl, owner, 'x', [], { contentType: 'application/json' })).status, 415);
    const elsewhere = await nip86(t.httpUrl, owner, 'supportedmethods', [], {
      tokenUrl: 'http://evil.example/',
    });
    assert.equal(elsewhere.status, 401);
    assert.match(String(elsewhere.body.error), /u tag/);
    const query = await nip86(t.httpUrl, owner, 'supportedmethods', [], { tokenUrl: `${t.httpUrl}/?x=1` });
    assert.equal(query.status, 401);
    // A token for another body (payload tag) or reused (replay).
    const other = await nip98Header(owner, `${t.httpUrl}/`, { method: 'banpubkey', params: [stranger.pk] });
    const mismatch = await nip86(t.httpUrl, owner, 'supportedmethods', [], { authorization: other });
    assert.equal(mismatch.status, 401);
    assert.match(String(mismatch.body.error), /payload/);
    const once = await nip98Header(owner, `${t.httpUrl}/`, { method: 'listblockedips', params: [] });
    assert.equal((await nip86(t.httpUrl, owner, 'listblockedips', [], { authorization: once })).status, 200);
    const replay = await nip86(t.httpUrl, owner, 'listblockedips', [], { authorization: once });
    assert.equal(replay.status, 401);
    assert.match(String(replay.body.error), /already used/);
    const unknown = await call('nosuchmethod');
    assert.equal(unknown.status, 200);
    assert.match(String(unknown.body.error), /unknown method/);
    const badParam = await call('banpubkey', ['not-hex']);
    assert.match(String(badParam.body.error), /64-character hex/);
  });

  it('refuses tokens with the wrong method, a stale time, the wrong kind or a bad signature', async () => {
    const url = `${t.httpUrl}/`;
    // A body no other call of this file sends: a valid token for it cannot collide with theirs (same second, same id).
    const params = ['token-construction-check'];
    const body = { method: 'listbannedevents', params };
    const payload = createHash('sha256').update(JSON.stringify(body)).digest('hex');
    const header = (template: { kind?: number; created_at?: number; method?: string }, tamper = false) => {
      const event = finalizeEvent(
        {
          kind: template.kind ?? 27235,
          created_at: template.created_at ?? Math.floor(Date.now() / 1000),
          tags: [
            ['u', url],
            ['method', template.method ?? 'POST'],
            ['payload', payload],
          ],
          content: '',
        },
        owner.sk,
      );
      const sig = tamper ? `${event.sig.slice(0, -1)}${event.sig.endsWith('0') ? '1' : '0'}` : event.sig;
      return `Nostr ${Buffer.from(JSON.stringify({ ...event, sig })).toString('base64')}`;
    };
    const cases: [string, string, RegExp][] = [
      ['wrong method', header({ method: 'GET' }), /method/],
      ['stale', header({ created_at: Math.floor(Date.now() / 1000) - 120 }), /stale|created_at/],
      ['wrong kind', header({ kind: 27236 }), /kind/],
      ['bad signature', header({}, true), /signature/],
    ];
    for (const [what, authorization, reason] of cases) {
      const answer = await nip86(t.httpUrl, owner, 'listbannedevents', params, { authorization });
      assert.equal(answer.status, 401, what);
      assert.match(String(answer.body.error), reason, what);
    }
    // The same construction, done right, is accepted (the cases above differ in one field each).
    assert.equal(
      (await nip86(t.httpUrl, owner, 'listbannedevents', params, { authorization: header({}) })).status,
      200,
    );
  });

  it('answers on / and on /api/nip86, for owners and admins; supportedmethods lists every method', async () => {
    const listed = await call('supportedmethods');
    const methods = listed.body.result as string[];
    assert.ok(Array.isArray(methods), JSON.stringify(listed.body));
    for (const m of [
      'banpubkey',
      'unbanpubkey',
      'listbannedpubkeys',
      'allowpubkey',
      'unallowpubkey',
      'listallowedpubkeys',
      'listeventsneedingmoderation',
      'allowevent',
      'banevent',
      'listbannedevents',
      'changerelayname',
      'changerelaydescription',
      'changerelayicon',
      'allowkind',
      'disallowkind',
      'listallowedkinds',
      'blockip',
      'unblockip',
      'listblockedips',
    ])
      assert.ok(methods.includes(m), m);
    const viaPath = await nip86(t.httpUrl, admin, 'supportedmethods', [], { path: '/api/nip86' });
    assert.equal(viaPath.status, 200);
    assert.deepEqual(viaPath.body.result, methods);
  });

  it('allowpubkey lets a pubkey publish; unallowpubkey takes it back', async () => {
    const before = await c.publish(sign(stranger, { content: 'before' }));
    assert.equal(before[2], false);
    assert.match(String(before[3]), /^blocked: /);
    assert.deepEqual((await call('allowpubkey', [stranger.pk, 'friend'])).body, { result: true });
    assert.deepEqual((await call('listallowedpubkeys')).body.result, [
      { pubkey: stranger.pk, reason: 'friend' },
    ]);
    assert.equal((await c.publish(sign(stranger, { content: 'after' })))[2], true);
    assert.deepEqual((await call('unallowpubkey', [stranger.pk])).body, { result: true });
    assert.equal((await c.publish(sign(stranger, { content: 'again' })))[2], false);
  });

  it('banpubkey refuses its EVENTs and hides its stored events from everyone but owners and admins', async () => {
    const writer = newKeys();
    await call('allowpubkey', [writer.pk]);
    const stored = sign(writer, { content: 'soon hidden' });
    assert.equal((await c.publish(stored))[2], true);
    assert.equal((await c.query('w1', { authors: [writer.pk] })).length, 1);
    assert.deepEqual((await call('banpubkey', [writer.pk, 'spam'])).body, { result: true });
    assert.deepEqual((await call('listbannedpubkeys')).body.result, [{ pubkey: writer.pk, reason: 'spam' }]);
    // banning removes the allowance
    assert.ok(
      !((await call('listallowedpubkeys')).body.result as { pubkey: string }[]).some(
        (e) => e.pubkey === writer.pk,
      ),
    );
    const refused = await c.publish(sign(writer, { content: 'new' }));
    assert.equal(refused[2], false);
    assert.match(String(refused[3]), /^blocked: .*banned/);
    assert.equal((await c.query('w2', { authors: [writer.pk] })).length, 0);
    assert.equal((await c.query('w3', { ids: [stored.id] })).length, 0);
    assert.equal(
      (await c.query('w4', { kinds: [1], limit: 500 })).filter((e) => e.pubkey === writer.pk).length,
      0,
    );
    c.send(['COUNT', 'n1', { authors: [writer.pk] }]);
    assert.deepEqual(await c.next((f) => f[1] === 'n1'), ['COUNT', 'n1', { count: 0 }]);
    // NIP-77: left out of the set being reconciled, with or without naming the author.
    assert.ok(!(await rawSync(c, 'neg1', {}, [])).need.has(stored.id), 'banned id in a {} set');
    assert.equal((await rawSync(c, 'neg2', { authors: [writer.pk] }, [])).need.size, 0);
    // An admin who authenticated (NIP-42) still sees them.
    const staff = await RawClient.connect(t.url);
    try {
      assert.equal((await rawAuth(staff, admin, t.url))[2], true);
      assert.equal((await staff.query('s1', { ids: [stored.id] })).length, 1);
      assert.ok((await rawSync(staff, 'neg3', {}, [])).need.has(stored.id));
    } finally {
      await staff.close();
    }
    assert.deepEqual((await call('unbanpubkey', [writer.pk])).body, { result: true });
    assert.equal((await c.query('w5', { ids: [stored.id] })).length, 1);
    assert.ok((await rawSync(c, 'neg4', {}, [])).need.has(stored.id));
  });

  it('banevent removes a stored event and refuses it thereafter; allowevent lets one event in', async () => {
    const writer = newKeys();
    await call('allowpubkey', [writer.pk]);
    const event = sign(writer, { content: 'to be banned' });
    assert.equal((await c.publish(event))[2], true);
    assert.deepEqual((await call('banevent', [event.id, 'illegal'])).body, { result: true });
    assert.deepEqual((await call('listbannedevents')).body.result, [{ id: event.id, reason: 'illegal' }]);
    assert.equal((await c.query('e1', { ids: [event.id] })).length, 0);
    const again = await c.publish(event);
    assert.equal(again[2], false);
    assert.match(String(again[3]), /^blocked: /);
    const outsider = sign(newKeys(), { content: 'one allowed event' });
    assert.equal((await c.publish(outsider))[2], false);
    await call('allowevent', [outsider.id]);
    assert.equal((await c.publish(outsider))[2], true);
  });

  it('allowkind restricts EVENT kinds while the list is not empty', async () => {
    const writer = newKeys();
    await call('allowpubkey', [writer.pk]);
    await call('allowkind', [1]);
    await call('allowkind', [7]);
    assert.deepEqual((await call('listallowedkinds')).body.result, [1, 7]);
    const reaction = await c.publish(sign(writer, { kind: 30023, tags: [['d', 'x']] }));
    assert.equal(reaction[2], false);
    assert.match(String(reaction[3]), /^blocked: kind 30023/);
    assert.equal((await c.publish(sign(writer, { kind: 7 })))[2], true);
    await call('disallowkind', [1]);
    await call('disallowkind', [7]);
    assert.deepEqual((await call('listallowedkinds')).body.result, []);
    assert.equal((await c.publish(sign(writer, { kind: 30023, tags: [['d', 'x']] })))[2], true);
  });

  it('name, description and icon show up in NIP-11', async () => {
    await call('changerelayname', ['Managed relay']);
    await call('changerelaydescription', ['Run by hand']);
    await call('changerelayicon', ['https://example.com/icon.png']);
    assert.match(String((await call('changerelayicon', ['javascript:alert(1)'])).body.error), /http/);
    const doc = (await (
      await fetch(t.httpUrl, { headers: { Accept: 'application/nostr+json', Connection: 'close' } })
    ).json()) as Record<string, unknown>;
    assert.equal(doc.name, 'Managed relay');
    assert.equal(doc.description, 'Run by hand');
    assert.equal(doc.icon, 'https://example.com/icon.png');
  });

  it('NIP-56 reports from allowed users list events needing moderation', async () => {
    const reporter = newKeys();
    await call('allowpubkey', [reporter.pk]);
    const bad = 'ab'.repeat(32);
    const report = sign(reporter, {
      kind: 1984,
      tags: [
        ['e', bad, 'spam'],
        ['p', stranger.pk],
      ],
    });
    assert.equal((await c.publish(report))[2], true);
    // In split mode orly-acl learns of the report through orly-db's change feed, a moment later.
    let queue: unknown;
    await waitFor(
      async () => {
        queue = (await call('listeventsneedingmoderation')).body.result;
        return Array.isArray(queue) && queue.length > 0;
      },
      10_000,
      () => `the report in the moderation queue (${JSON.stringify(queue)})`,
      100,
    );
    assert.deepEqual(queue, [{ id: bad, reason: 'spam' }]);
    await call('banevent', [bad]);
    assert.deepEqual((await call('listeventsneedingmoderation')).body.result, []);
  });

  it('blockip refuses the upgrade with 403; unblockip lets it in again; the lists survive a restart', async () => {
    assert.match(String((await call('blockip', ['not-an-ip'])).body.error), /IPv4 or IPv6/);
    await call('blockip', ['127.0.0.1', 'abuse']);
    assert.deepEqual((await call('listblockedips')).body.result, [{ ip: '127.0.0.1', reason: 'abuse' }]);
    assert.equal(await upgradeStatus(t.url), 403);
    await c.close();
    await t.stop();
    t = await startTestRelay(env);
    assert.equal(await upgradeStatus(t.url), 403, 'still blocked after a restart');
    assert.ok(((await call('listbannedevents')).body.result as unknown[]).length >= 1);
    await call('unblockip', ['127.0.0.1']);
    assert.equal(await upgradeStatus(t.url), 101);
    c = await RawClient.connect(t.url);
    const doc = (await (
      await fetch(t.httpUrl, { headers: { Accept: 'application/nostr+json', Connection: 'close' } })
    ).json()) as Record<string, unknown>;
    assert.equal(doc.name, 'Managed relay');
  });
});

describe('NIP-86 bounds', () => {
  let t: TestRelay;
  before(async () => {
    t = await startTestRelay({ ORLY_ACL_MODE: 'managed', ORLY_OWNERS: owner.pk });
  });
  after(() => t?.stop());

  it('a body over 64 KiB gets 413 without being read to the end', async () => {
    const big = await nip86(t.httpUrl, owner, 'banpubkey', ['x'.repeat(70 * 1024)]);
    assert.equal(big.status, 413);
  });

  it('after 20 refused requests from one address, 429 with Retry-After; an owner is then refused too until it refills', async () => {
    for (let i = 0; i < 20; i++)
      assert.equal(
        (await nip86(t.httpUrl, owner, 'supportedmethods', [], { authorization: null })).status,
        401,
      );
    const limited = await nip86(t.httpUrl, owner, 'supportedmethods', [], { authorization: null });
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '1');
    assert.match(String(limited.body.error), /^rate-limited: /);
  });
});
