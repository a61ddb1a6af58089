/**
 * Two relay processes (the real `orly` CLI) on one PostgreSQL database (a real server:
 * test/helpers/postgres.ts): clients of both race competing replaceable and addressable versions,
 * NIP-09 deletions and the events they delete; afterwards both relays serve the same result, the
 * one NIP-01 prescribes, and a deleted event published again is refused by either. Live
 * subscribers of one relay get what the other stored, once. A relay killed with SIGKILL loses no
 * event it acknowledged.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { NostrEvent } from '../../src/protocol/event.js';
import { fastKey, fastSign } from '../helpers/fast-sign.js';
import { startTestPostgres } from '../helpers/postgres.js';
import { RawClient } from '../helpers/relay-harness.js';
import { type RelayProcess, spawnRelay } from '../helpers/relay-process.js';

const server = await startTestPostgres();
after(() => server.stop());

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function relayOn(url: string): Promise<RelayProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'orly-pg-relay-'));
  dirs.push(dir);
  return spawnRelay({
    ORLY_DB_TYPE: 'postgres',
    ORLY_POSTGRES_URL: url,
    ORLY_DATA_DIR: dir,
    ORLY_VERIFY_WORKERS: '1',
  });
}

/** NIP-01: the later created_at wins; equal: the lowest id. */
function winner(versions: readonly NostrEvent[]): NostrEvent {
  return [...versions].sort((x, y) => y.created_at - x.created_at || (x.id < y.id ? -1 : 1))[0]!;
}

async function allIds(client: RawClient, sub: string, authors: readonly string[]): Promise<string[]> {
  return (await client.query(sub, { authors, limit: 5000 })).map((e) => e.id as string);
}

describe('two relay processes on one PostgreSQL database', () => {
  let url: string;
  let a: RelayProcess;
  let b: RelayProcess;

  before(async () => {
    url = await server.createDatabase();
    const started = await Promise.allSettled([relayOn(url), relayOn(url)]);
    for (const s of started)
      if (s.status === 'rejected') {
        // Neither is left running when the other failed.
        for (const t of started) if (t.status === 'fulfilled') await t.value.stop('SIGKILL');
        throw s.reason;
      }
    [a, b] = started.map((s) => (s as PromiseFulfilledResult<RelayProcess>).value) as [
      RelayProcess,
      RelayProcess,
    ];
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
  });

  it('racing versions, deletions and saves: both serve the same, NIP-01 result', async () => {
    const now = Math.floor(Date.now() / 1000) - 100;
    const keys = Array.from({ length: 8 }, () => fastKey());
    const published: NostrEvent[] = [];
    const expected = new Set<string>();
    const deleted: NostrEvent[] = [];
    for (const key of keys) {
      const profiles = Array.from({ length: 8 }, (_, i) =>
        fastSign(key, { kind: 0, created_at: now + (i % 4), content: `profile ${i}` }),
      );
      const articles = Array.from({ length: 6 }, (_, i) =>
        fastSign(key, {
          kind: 30023,
          created_at: now + (i % 3),
          tags: [['d', 'x']],
          content: `article ${i}`,
        }),
      );
      const notes = Array.from({ length: 6 }, (_, i) =>
        fastSign(key, { created_at: now + i, content: `note ${i}` }),
      );
      const gone = notes.slice(0, 3);
      const byId = fastSign(key, { kind: 5, created_at: now + 10, tags: gone.map((n) => ['e', n.id]) });
      const lists = Array.from({ length: 4 }, (_, i) =>
        fastSign(key, { kind: 30000, created_at: now + 4 + i, tags: [['d', 'y']], content: `list ${i}` }),
      );
      const byAddress = fastSign(key, {
        kind: 5,
        created_at: now + 5,
        tags: [['a', `30000:${key.pubkey}:y`]],
      });
      published.push(...profiles, ...articles, ...notes, byId, ...lists, byAddress);
      for (const e of [winner(profiles), winner(articles), ...notes.slice(3), byId, byAddress, winner(lists)])
        expected.add(e.id);
      deleted.push(...gone, ...lists.filter((l) => l.created_at <= byAddress.created_at));
    }
    // Interleaved over four connections, two per relay, all in flight at once.
    const clients = await Promise.all([a, a, b, b].map((r) => RawClient.connect(r.url)));
    const shuffled = published
      .map((e, i) => ({ e, k: (i * 7919) % published.length }))
      .sort((x, y) => x.k - y.k);
    for (const [i, { e }] of shuffled.entries()) clients[i % clients.length]!.send(['EVENT', e]);
    for (const [i, { e }] of shuffled.entries()) {
      const ok = await clients[i % clients.length]!.next((f) => f[0] === 'OK' && f[1] === e.id, 20_000);
      if (ok[2] !== true) assert.match(ok[3], /^blocked: /, `${e.kind}: ${ok[3]}`);
    }
    const authors = keys.map((k) => k.pubkey);
    const onA = await allIds(clients[0]!, 'a', authors);
    const onB = await allIds(clients[2]!, 'b', authors);
    assert.deepEqual(onA, onB, 'both relays serve the same events, in the same order');
    assert.deepEqual(new Set(onA), expected);
    for (const [i, event] of deleted.entries()) {
      const ok = await clients[i % clients.length]!.publish(event);
      assert.equal(ok[2], false, 'a deleted event is refused');
      assert.match(ok[3], /^blocked: /);
    }
    await Promise.all(clients.map((c) => c.close()));
  });

  it("live subscribers of one relay get the other's events once", async () => {
    const key = fastKey();
    const now = Math.floor(Date.now() / 1000);
    const subscriber = await RawClient.connect(a.url);
    const publisher = await RawClient.connect(b.url);
    subscriber.send(['REQ', 'live', { authors: [key.pubkey] }]);
    await subscriber.next((f) => f[0] === 'EOSE' && f[1] === 'live');
    const events = Array.from({ length: 20 }, (_, i) =>
      fastSign(key, { created_at: now + i, content: `live ${i}` }),
    );
    for (const e of events) publisher.send(['EVENT', e]);
    const got = new Set<string>();
    for (let i = 0; i < events.length; i++)
      got.add((await subscriber.next((f) => f[0] === 'EVENT' && f[1] === 'live', 10_000))[2].id);
    assert.deepEqual(got, new Set(events.map((e) => e.id)));
    const ephemeral = fastSign(key, { kind: 20002, created_at: now, content: 'now' });
    publisher.send(['EVENT', ephemeral]);
    assert.equal(
      (await subscriber.next((f) => f[0] === 'EVENT' && f[1] === 'live', 10_000))[2].id,
      ephemeral.id,
    );
    assert.equal(subscriber.frames.filter((f) => f[0] === 'EVENT').length, 0, 'nothing twice');
    await Promise.all([subscriber.close(), publisher.close()]);
  });

  it('a relay killed with SIGKILL loses no event it acknowledged', async () => {
    const key = fastKey();
    const now = Math.floor(Date.now() / 1000);
    const events = Array.from({ length: 300 }, (_, i) =>
      fastSign(key, { created_at: now - i, content: `durable ${i}` }),
    );
    const client = await RawClient.connect(b.url);
    for (const e of events) client.send(['EVENT', e]);
    const acked: string[] = [];
    for (const e of events.slice(0, 150)) {
      const ok = await client.next((f) => f[0] === 'OK' && f[1] === e.id, 10_000);
      if (ok[2] === true) acked.push(e.id);
    }
    assert.equal(await b.stop('SIGKILL'), null);
    client.ws.terminate();
    const reader = await RawClient.connect(a.url);
    const found = new Set(await allIds(reader, 'after', [key.pubkey]));
    for (const id of acked)
      assert.ok(found.has(id), 'acknowledged before the kill, served by the other relay');
    await reader.close();
    b = await relayOn(url);
  });
});
