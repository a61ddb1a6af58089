/**
 * ACL mode "curating" over real sockets: EVENTs over the WebSocket (the client IP set by
 * X-Forwarded-For, believed from the loopback proxy by default), NIP-86 over real HTTP with real
 * NIP-98 tokens. Refused until an owner publishes the kind 30078 config over the WebSocket; then
 * the daily limit, the trust bypass, the kind allow list, the blacklist (refused and hidden from
 * REQ and COUNT but for an authenticated owner), spam flags, the IP block after an offense (the
 * next EVENT refused, the next upgrade 403), the event methods, and the state (lists, counters,
 * blocks, config) kept across a restart. In split mode (ORLY_TEST_MODE=split) the relay asks an
 * orly-acl in mode curating whose state lives in orly-db, which learns of the config event
 * through orly-db's change feed; the restart restarts all three on the same data dir.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { nip86 } from '../helpers/nip86.js';
import { newKeys, rawAuth, sign } from '../helpers/nostr.js';
import { RawClient, startTestRelay, type TestRelay } from '../helpers/relay-harness.js';
import { waitFor } from '../helpers/wait.js';

const owner = newKeys();
const admin = newKeys();

/** The HTTP status of a WebSocket upgrade (101 when it opens), from `ip` (X-Forwarded-For). */
function upgradeStatus(url: string, ip: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { 'X-Forwarded-For': ip } });
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

const CONFIG_TAGS = [
  ['d', 'curating-config'],
  ['daily_limit', '2'],
  ['ip_daily_limit', '4'],
  ['first_ban_hours', '1'],
  ['second_ban_hours', '2'],
  ['kind_category', 'social'],
  ['kind_range', '40000-40009'],
  ['kind', '9735'],
];

describe('NIP-86 in ACL mode curating', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'orly-curating-'));
  const env = {
    ORLY_ACL_MODE: 'curating',
    ORLY_OWNERS: owner.pk,
    ORLY_ADMINS: admin.pk,
    ORLY_DATA_DIR: dataDir,
  };
  let t: TestRelay;
  const clients: RawClient[] = [];
  /** A client whose address is `ip` (X-Forwarded-For from the loopback proxy). */
  const from = async (ip: string) => {
    const c = await RawClient.connect(t.url, { 'X-Forwarded-For': ip });
    clients.push(c);
    return c;
  };
  let c: RawClient;

  before(async () => {
    t = await startTestRelay(env);
    c = await from('198.51.100.1');
  });
  after(async () => {
    for (const client of clients) await client.close();
    await t?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const call = (method: string, params: unknown[] = [], keys = owner) =>
    nip86(t.httpUrl, keys, method, params);
  const result = async (method: string, params: unknown[] = []) => {
    const answer = await call(method, params);
    assert.equal(answer.status, 200);
    assert.ok('result' in answer.body, `${method}: ${JSON.stringify(answer.body)}`);
    return answer.body.result;
  };
  let subs = 0;
  const visible = async (client: RawClient, filter: object) => {
    const id = `q${++subs}`;
    const events = await client.query(id, filter);
    client.send(['CLOSE', id]);
    return events.length;
  };
  const counted = async (client: RawClient, filter: object) => {
    const id = `n${++subs}`;
    client.send(['COUNT', id, filter]);
    return (await client.next((f) => f[1] === id))[2]?.count as number;
  };

  it('refuses every EVENT until configured; supportedmethods lists exactly the curating methods', async () => {
    const refused = await c.publish(sign(newKeys(), { content: 'too early' }));
    assert.deepEqual(refused.slice(2), [
      false,
      'blocked: curating mode not configured: an owner or admin must publish a kind 30078 "curating-config" event',
    ]);
    assert.equal((await c.publish(sign(owner, { content: 'owner too' })))[2], false);
    assert.equal(await result('isconfigured'), false);
    assert.equal((await call('supportedmethods', [], newKeys())).status, 403);
    const methods = [
      'supportedmethods',
      'trustpubkey',
      'untrustpubkey',
      'listtrustedpubkeys',
      'blacklistpubkey',
      'unblacklistpubkey',
      'listblacklistedpubkeys',
      'listunclassifiedusers',
      'markspam',
      'unmarkspam',
      'listspamevents',
      'deleteevent',
      'getcuratingconfig',
      'listblockedips',
      'unblockip',
      'isconfigured',
      'scanpubkeys',
      'geteventsforpubkey',
      'deleteeventsforpubkey',
    ];
    assert.deepEqual(await result('supportedmethods'), methods);
    const viaPath = await nip86(t.httpUrl, admin, 'supportedmethods', [], { path: '/api/nip86' });
    assert.deepEqual(viaPath.body.result, methods);
    assert.match(String((await call('banpubkey', [owner.pk])).body.error), /^unknown method: banpubkey/);
    assert.match(String((await call('trustpubkey', ['nope'])).body.error), /64-character hex/);
  });

  it('an owner configures it with a kind 30078 over the WebSocket; an invalid config is refused', async () => {
    const invalid = sign(owner, {
      kind: 30078,
      tags: [
        ['d', 'curating-config'],
        ['kind_range', '9-1'],
      ],
    });
    const answer = await c.publish(invalid);
    assert.equal(answer[2], false);
    assert.match(String(answer[3]), /^invalid: curating config: kind_range must be "start-end"/);
    const stranger = sign(newKeys(), { kind: 30078, tags: CONFIG_TAGS });
    assert.match(
      String((await c.publish(stranger))[3]),
      /not configured/,
      "a stranger's config is no config",
    );
    const config = sign(owner, { kind: 30078, tags: CONFIG_TAGS });
    assert.equal((await c.publish(config))[2], true);
    // In split mode orly-acl applies it when orly-db's change feed delivers it, a moment later.
    await waitFor(async () => (await result('isconfigured')) === true, 10_000, 'the config applied', 100);
    const shown = (await result('getcuratingconfig')) as Record<string, unknown>;
    assert.equal(shown.daily_limit, 2);
    assert.equal(shown.ip_daily_limit, 4);
    assert.equal(shown.second_ban_hours, 2);
    assert.deepEqual(shown.categories, ['social']);
    assert.deepEqual(shown.kind_ranges, ['40000-40009']);
    assert.deepEqual(shown.allowed_kinds, [9735]);
    assert.equal(shown.config_event_id, config.id);
    assert.equal(shown.config_pubkey, owner.pk);
  });

  it('kinds outside the allow list are refused', async () => {
    const writer = newKeys();
    const c2 = await from('198.51.100.2');
    assert.equal((await c2.publish(sign(writer, { kind: 7, content: '+' })))[2], true);
    assert.equal((await c2.publish(sign(writer, { kind: 40003 })))[2], true, 'a kind_range');
    const longform = await c2.publish(sign(writer, { kind: 30023, tags: [['d', 'x']] }));
    assert.deepEqual(longform.slice(2), [false, 'blocked: kind 30023 is not in the allow list']);
    assert.equal((await c2.publish(sign(owner, { kind: 30023, tags: [['d', 'x']] })))[2], true, 'owners may');
  });

  it('the daily limit rate-limits an unclassified pubkey and blocks its IP; trusting it lifts the limit', async () => {
    const writer = newKeys();
    const ip = '198.51.100.3';
    const c3 = await from(ip);
    for (let i = 0; i < 2; i++) assert.equal((await c3.publish(sign(writer, { content: `${i}` })))[2], true);
    const limited = await c3.publish(sign(writer, { content: 'third' }));
    assert.deepEqual(limited.slice(2), [
      false,
      'rate-limited: at most 2 events per day for unclassified users',
    ]);
    // Its first offense blocks the IP an hour: the next EVENT says until when, a new upgrade is refused.
    const blocks = (await result('listblockedips')) as Array<{ ip: string; expires_at: number }>;
    const block = blocks.find((b) => b.ip === ip);
    assert.ok(block, JSON.stringify(blocks));
    assert.ok(Math.abs(block.expires_at - (Date.now() / 1000 + 3600)) < 30, JSON.stringify(block));
    const until = new Date(block.expires_at * 1000).toISOString();
    const blocked = await c3.publish(sign(newKeys(), { content: 'someone else' }));
    assert.deepEqual(blocked.slice(2), [false, `blocked: your IP address is blocked until ${until}`]);
    assert.equal(await upgradeStatus(t.url, ip), 403);
    const users = (await result('listunclassifiedusers')) as Array<{ pubkey: string; event_count: number }>;
    assert.equal(users.find((u) => u.pubkey === writer.pk)?.event_count, 2);
    // Trusted: no daily limit (from an IP that is not blocked).
    assert.deepEqual((await call('trustpubkey', [writer.pk, 'a regular'])).body, { result: true });
    const other = await from('198.51.100.4');
    for (let i = 0; i < 3; i++)
      assert.equal((await other.publish(sign(writer, { content: `more ${i}` })))[2], true);
    const trusted = (await result('listtrustedpubkeys')) as Array<Record<string, unknown>>;
    assert.deepEqual(
      trusted.map(({ pubkey, note }) => ({ pubkey, note })),
      [{ pubkey: writer.pk, note: 'a regular' }],
    );
    // unblockip lets the address in again.
    assert.deepEqual((await call('unblockip', [ip])).body, { result: true });
    assert.equal(await upgradeStatus(t.url, ip), 101);
  });

  it('the IP daily limit counts every pubkey of an address', async () => {
    const ip = '198.51.100.5';
    const c5 = await from(ip);
    const [a, b, d] = [newKeys(), newKeys(), newKeys()];
    for (const keys of [a, a, b, b]) assert.equal((await c5.publish(sign(keys, { content: 'x' })))[2], true);
    const limited = await c5.publish(sign(d, { content: 'fifth from this IP' }));
    assert.deepEqual(limited.slice(2), [false, 'rate-limited: at most 4 events per day from one IP address']);
    assert.ok(((await result('listblockedips')) as Array<{ ip: string }>).some((e) => e.ip === ip));
  });

  it('blacklistpubkey refuses its EVENTs and hides its stored events but from owners and admins', async () => {
    const writer = newKeys();
    const c6 = await from('198.51.100.6');
    const stored = sign(writer, { content: 'soon hidden' });
    assert.equal((await c6.publish(stored))[2], true);
    assert.equal(await visible(c, { authors: [writer.pk] }), 1);
    assert.deepEqual((await call('blacklistpubkey', [writer.pk, 'spammer'])).body, { result: true });
    const refused = await c6.publish(sign(writer, { content: 'new' }));
    assert.deepEqual(refused.slice(2), [false, 'blocked: pubkey is blacklisted']);
    assert.equal(await visible(c, { authors: [writer.pk] }), 0);
    assert.equal(await visible(c, { ids: [stored.id] }), 0);
    assert.equal(await counted(c, { authors: [writer.pk] }), 0);
    const staff = await RawClient.connect(t.url);
    clients.push(staff);
    assert.equal((await rawAuth(staff, owner, t.url))[2], true);
    assert.equal(await visible(staff, { ids: [stored.id] }), 1);
    assert.equal(await counted(staff, { authors: [writer.pk] }), 1);
    const listed = (await result('listblacklistedpubkeys')) as Array<{ pubkey: string; reason: string }>;
    assert.deepEqual(
      listed.map(({ pubkey, reason }) => ({ pubkey, reason })),
      [{ pubkey: writer.pk, reason: 'spammer' }],
    );
    assert.deepEqual((await call('unblacklistpubkey', [writer.pk])).body, { result: true });
    assert.equal(await visible(c, { ids: [stored.id] }), 1);
  });

  it('markspam refuses an event id; the event methods read and remove stored events', async () => {
    const writer = newKeys();
    const c7 = await from('198.51.100.7');
    const spam = sign(writer, { content: 'buy now' });
    assert.deepEqual((await call('markspam', [spam.id, writer.pk, 'ad'])).body, { result: true });
    assert.deepEqual((await c7.publish(spam)).slice(2), [false, 'blocked: event is flagged as spam']);
    const listed = (await result('listspamevents')) as Array<Record<string, unknown>>;
    assert.deepEqual(
      listed.map(({ event_id, pubkey, reason }) => ({ event_id, pubkey, reason })),
      [{ event_id: spam.id, pubkey: writer.pk, reason: 'ad' }],
    );
    const kept = sign(writer, { content: 'kept', created_at: spam.created_at - 2 });
    const gone = sign(writer, { content: 'gone', created_at: spam.created_at - 1 });
    for (const event of [kept, gone]) assert.equal((await c7.publish(event))[2], true);
    const page = (await result('geteventsforpubkey', [writer.pk, 1, 0])) as Record<string, unknown>;
    assert.deepEqual(page, {
      events: [{ id: gone.id, kind: 1, content: 'gone', created_at: gone.created_at }],
      total: 2,
      limit: 1,
      offset: 0,
    });
    assert.match(String((await call('geteventsforpubkey', [writer.pk, 501])).body.error), /from 1 to 500/);
    assert.equal(await result('deleteevent', [gone.id]), true);
    assert.equal(await visible(c, { ids: [gone.id] }), 0);
    assert.deepEqual(await result('deleteeventsforpubkey', [writer.pk]), {
      deleted: 1,
      pubkey: writer.pk,
      remaining: 0,
    });
    assert.equal(await visible(c, { authors: [writer.pk] }), 0);
    const scan = (await result('scanpubkeys')) as Record<string, unknown>;
    assert.equal(scan.truncated, false);
    assert.ok(Number(scan.total_events) > 0 && Number(scan.skipped) >= 1, JSON.stringify(scan));
  });

  it('keeps its state across a restart: config, lists, IP blocks and counters', async () => {
    const limited = newKeys();
    const c8 = await from('198.51.100.8');
    for (let i = 0; i < 2; i++) assert.equal((await c8.publish(sign(limited, { content: `${i}` })))[2], true);
    const ip = '198.51.100.9';
    const c9 = await from(ip);
    const tripper = newKeys();
    for (let i = 0; i < 3; i++) await c9.publish(sign(tripper, { content: `${i}` }));
    assert.equal(await upgradeStatus(t.url, ip), 403);
    const trusted = (await result('listtrustedpubkeys')) as unknown[];
    const spam = (await result('listspamevents')) as unknown[];
    for (const client of clients.splice(0)) await client.close();
    await t.stop();
    t = await startTestRelay(env);
    assert.equal(await result('isconfigured'), true);
    assert.deepEqual(await result('listtrustedpubkeys'), trusted);
    assert.deepEqual(await result('listspamevents'), spam);
    assert.equal(await upgradeStatus(t.url, ip), 403, 'still blocked');
    // `limited` published 2 today before the restart: its third is refused after it.
    const later = await from('198.51.100.10');
    const third = await later.publish(sign(limited, { content: 'third' }));
    assert.deepEqual(third.slice(2), [
      false,
      'rate-limited: at most 2 events per day for unclassified users',
    ]);
    c = later;
  });
});
