/**
 * NIP-42 `relay` tag against a relay in the middle: the victim authenticates to evil.example,
 * which forwards our challenge and replays the signed AUTH (relay tag wss://evil.example/) to us
 * with `Host: evil.example`. The relay must refuse it and must not serve the victim's DMs. With no
 * public URL configured only a direct local client may authenticate; with ORLY_RELAY_URL /
 * ORLY_RELAY_ADDRESSES the tag must name one of them, whatever Host or X-Forwarded-Host says.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { NostrEvent } from '../../src/protocol/event.js';
import { loadRelayConfig } from '../../src/relay/config.js';
import { createRelay } from '../../src/relay/create-relay.js';
import {
  authEvent,
  Clients,
  challengeOf,
  hasPrefix,
  type Keys,
  newKeys,
  rawAuth,
  sign,
} from '../helpers/nostr.js';
import { type RawClient, startTestRelay, type TestRelay } from '../helpers/relay-harness.js';

const clients = new Clients();

function dm(from: Keys, to: Keys): NostrEvent {
  return sign(from, { kind: 4, tags: [['p', to.pk]], content: 'for the victim only' });
}

/**
 * The replay: the attacker connects with `headers`, the victim signs an AUTH for `tag` over the
 * attacker's challenge (what a relay in the middle obtains), the attacker sends it. Returns the OK
 * frame and the attacker's connection.
 */
async function replay(
  t: TestRelay,
  victim: Keys,
  headers: Record<string, string>,
  tag: string,
): Promise<{ ok: unknown[]; attacker: RawClient }> {
  const attacker = await clients.raw(t.url, headers);
  const signedByVictim = authEvent(victim, await challengeOf(attacker), tag);
  attacker.send(['AUTH', signedByVictim]);
  const ok = await attacker.next((f) => f[0] === 'OK' && f[1] === signedByVictim.id);
  return { ok, attacker };
}

/** The victim's DM is not served to this connection, by kind or by id. */
async function assertDmNotServed(c: RawClient, victim: Keys, message: NostrEvent): Promise<void> {
  c.send(['REQ', 'dms', { kinds: [4], '#p': [victim.pk] }]);
  const closed = await c.next((f) => (f[0] === 'CLOSED' || f[0] === 'EOSE') && f[1] === 'dms');
  assert.equal(closed[0], 'CLOSED');
  assert.match(closed[2], hasPrefix('auth-required'));
  assert.deepEqual(await c.query('by-id', { ids: [message.id] }), []);
  assert.deepEqual(await c.query('by-p', { '#p': [victim.pk] }), []);
}

describe('no public URL configured (the default)', () => {
  let t: TestRelay;
  before(async () => {
    t = await startTestRelay();
  });
  after(async () => {
    await clients.closeAll();
    await t.stop();
  });

  it('refuses a replayed AUTH for wss://evil.example/ sent with Host: evil.example; the DM is not served', async () => {
    const victim = newKeys();
    const message = dm(newKeys(), victim);
    const publisher = await clients.raw(t.url);
    assert.deepEqual(await publisher.publish(message), ['OK', message.id, true, '']);

    const { ok, attacker } = await replay(t, victim, { Host: 'evil.example' }, 'wss://evil.example/');
    assert.equal(ok[2], false);
    assert.match(ok[3] as string, hasPrefix('restricted'));
    await assertDmNotServed(attacker, victim, message);

    // The same through the local (trusted) proxy's X-Forwarded-Host, and with the relay's own port.
    const attempts: [Record<string, string>, string][] = [
      [{ 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-For': '203.0.113.7' }, 'wss://evil.example/'],
      [{ Host: `evil.example:${t.port}` }, `ws://evil.example:${t.port}/`],
    ];
    for (const [headers, tag] of attempts) {
      const again = await replay(t, victim, headers, tag);
      assert.equal(again.ok[2], false, JSON.stringify(headers));
      assert.match(again.ok[3] as string, hasPrefix('restricted'));
      await assertDmNotServed(again.attacker, victim, message);
    }

    // The victim's own local client is served: the DM was there to leak.
    const own = await clients.raw(t.url);
    assert.equal((await rawAuth(own, victim, t.url))[2], true);
    assert.deepEqual(
      (await own.query('mine', { kinds: [4], '#p': [victim.pk] })).map((e) => e.id),
      [message.id],
    );
  });

  it('a direct local client may name its loopback URL (localhost, 127.0.0.1, [::1]) on the listening port only', async () => {
    for (const host of [`localhost:${t.port}`, `127.0.0.1:${t.port}`, `[::1]:${t.port}`]) {
      const c = await clients.raw(t.url, { Host: host });
      const ok = await rawAuth(c, newKeys(), `ws://${host}`);
      assert.equal(ok[2], true, `${host}: ${ok[3]}`);
    }
    const otherPort = t.port === 65535 ? 65534 : t.port + 1;
    const tunnelled = await clients.raw(t.url, { Host: `localhost:${otherPort}` });
    const refused = await rawAuth(tunnelled, newKeys(), `ws://localhost:${otherPort}`);
    assert.equal(refused[2], false);
    assert.match(refused[3], hasPrefix('restricted'));
  });
});

describe('ORLY_RELAY_URL and ORLY_RELAY_ADDRESSES configured', () => {
  let t: TestRelay;
  before(async () => {
    t = await startTestRelay({
      ORLY_RELAY_URL: 'wss://relay.example.com',
      ORLY_RELAY_ADDRESSES: 'relay.example.net:7777',
    });
  });
  after(async () => {
    await clients.closeAll();
    await t.stop();
  });

  it('the middle-relay replay is refused whatever Host or X-Forwarded-Host claims', async () => {
    const victim = newKeys();
    const message = dm(newKeys(), victim);
    const publisher = await clients.raw(t.url);
    assert.deepEqual(await publisher.publish(message), ['OK', message.id, true, '']);
    const attempts: Record<string, string>[] = [
      { Host: 'evil.example' },
      { 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Proto': 'https', 'X-Forwarded-For': '203.0.113.7' },
    ];
    for (const headers of attempts) {
      const { ok, attacker } = await replay(t, victim, headers, 'wss://evil.example/');
      assert.equal(ok[2], false, JSON.stringify(headers));
      assert.match(ok[3] as string, hasPrefix('invalid'));
      await assertDmNotServed(attacker, victim, message);
    }
    // A local URL is no longer accepted either: the relay's names are the configured ones.
    const local = await clients.raw(t.url);
    assert.equal((await rawAuth(local, victim, t.url))[2], false);
  });

  it('each configured name is accepted, scheme-insensitively, with default ports and a trailing slash normalised', async () => {
    const names: [Record<string, string>, string][] = [
      [{ 'X-Forwarded-Host': 'relay.example.com', 'X-Forwarded-Proto': 'https' }, 'wss://relay.example.com/'],
      [{ Host: 'relay.example.com' }, 'ws://RELAY.example.com:443'],
      [{}, 'wss://relay.example.net:7777'],
      [{}, 'ws://relay.example.net:7777/'],
    ];
    for (const [headers, tag] of names) {
      const c = await clients.raw(t.url, headers);
      const ok = await rawAuth(c, newKeys(), tag);
      assert.equal(ok[2], true, `${tag}: ${ok[3]}`);
    }
    const wrongPort = await clients.raw(t.url);
    assert.equal((await rawAuth(wrongPort, newKeys(), 'wss://relay.example.net'))[2], false);
  });
});

describe('start-up warning', () => {
  async function startupLines(env: Record<string, string>): Promise<Record<string, unknown>[]> {
    const dataDir = mkdtempSync(join(tmpdir(), 'orly-test-'));
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const config = loadRelayConfig({
      ORLY_LISTEN: '127.0.0.1',
      ORLY_PORT: '0',
      ORLY_VERIFY_WORKERS: '0',
      ORLY_QUERY_WORKERS: '0',
      ORLY_DATA_DIR: dataDir,
      ...env,
    });
    const relay = await createRelay(config, logger, {});
    try {
      await relay.start();
      return lines;
    } finally {
      await relay.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }

  const warned = (lines: Record<string, unknown>[]) =>
    lines.some((l) => /no public URL configured/.test(String(l.msg)));

  it('warns when restricted kinds need AUTH and no public URL is configured, not otherwise', async () => {
    assert.ok(warned(await startupLines({})));
    assert.ok(!warned(await startupLines({ ORLY_RELAY_URL: 'wss://relay.example.com' })));
    assert.ok(!warned(await startupLines({ ORLY_RELAY_ADDRESSES: 'relay.example.com' })));
    assert.ok(!warned(await startupLines({ ORLY_AUTH_RESTRICTED_KINDS: '' })));
  });
});
