/**
 * The follow-list refresh's parts in process: which relays a run asks (the owners' and admins'
 * kind 10002 `r` tags, normalized, de-duplicated, without this relay's own names; else the
 * bootstrap relays) and the bounds of one fetch (a silent relay times out, a flood stops at the
 * event limit, wrong authors and kinds are rejected) against a raw WebSocket server.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { type WebSocket, WebSocketServer } from 'ws';
import { fetchLists } from '../../src/acl/follow-list-fetch.js';
import { FollowListRefresher } from '../../src/acl/follow-list-refresh.js';
import { LmdbEventStore } from '../../src/store/lmdb/lmdb-store.js';
import { BASE_TIME, newKey, signedEvent } from '../helpers/events.js';

describe('the relays a refresh asks', () => {
  let dir: string;
  let store: LmdbEventStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'orly-refresh-test-'));
    store = LmdbEventStore.open(dir);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const refresher = (authors: string[]) =>
    new FollowListRefresher({
      store,
      authors: () => authors,
      bootstrapRelays: ['wss://boot.example.com', 'wss://me.example.com'],
      ownHosts: ['me.example.com'],
      intervalMs: 0,
      onStored: () => undefined,
    });

  test('no kind 10002: the bootstrap relays, without this relay', async () => {
    assert.deepEqual(await refresher([newKey().pubkey]).relays(), ['wss://boot.example.com']);
  });

  test("the owners' and admins' kind 10002 r tags, normalized and de-duplicated, without this relay", async () => {
    const [admin, owner, stranger] = [newKey(), newKey(), newKey()];
    const tags = (urls: string[]) => urls.map((u) => ['r', u]);
    await store.save(
      signedEvent(admin, { kind: 10002, tags: tags(['wss://A.example.com/', 'wss://me.example.com']) }),
    );
    await store.save(
      signedEvent(owner, {
        kind: 10002,
        tags: tags(['wss://a.example.com', 'https://web.example.com', 'wss://b.example.com']),
      }),
    );
    await store.save(signedEvent(stranger, { kind: 10002, tags: tags(['wss://stranger.example.com']) }));
    assert.deepEqual(await refresher([admin.pubkey, owner.pubkey]).relays(), [
      'wss://a.example.com',
      'wss://b.example.com',
    ]);
  });
});

describe('one fetch, bounded', () => {
  const admin = newKey();
  let server: WebSocketServer;
  let url: string;
  let behaviour: (ws: WebSocket, sub: unknown) => void = () => undefined;

  before(async () => {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    server.on('connection', (ws) =>
      ws.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as unknown[];
        if (frame[0] === 'REQ') behaviour(ws, frame[1]);
      }),
    );
    await new Promise((resolve) => server.once('listening', resolve));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    for (const ws of server.clients) ws.terminate();
    await new Promise((resolve) => server.close(resolve));
  });

  test('a relay that never answers times out', async () => {
    behaviour = () => undefined;
    const res = await fetchLists(url, [admin.pubkey], { timeoutMs: 200 });
    assert.equal(res.end, 'timeout');
    assert.deepEqual(res.events, []);
  });

  test('a flood stops at the event limit; only the newest valid list per author and kind is kept', async () => {
    const stranger = newKey();
    behaviour = (ws, sub) => {
      ws.send(JSON.stringify(['EVENT', sub, signedEvent(stranger, { kind: 3 })]));
      ws.send(JSON.stringify(['EVENT', sub, signedEvent(admin, { kind: 1 })]));
      for (let i = 0; i < 50; i++)
        ws.send(JSON.stringify(['EVENT', sub, signedEvent(admin, { kind: 3, created_at: BASE_TIME + i })]));
      ws.send(JSON.stringify(['EOSE', sub]));
    };
    const res = await fetchLists(url, [admin.pubkey], { maxEvents: 10 });
    assert.equal(res.end, 'limit');
    assert.equal(res.received, 10);
    assert.equal(res.events.length, 1);
    assert.equal(res.events[0]!.created_at, BASE_TIME + 7, 'the newest of the 8 admin lists read');
    assert.equal(
      res.rejected,
      2,
      'the wrong author and the wrong kind (older valid lists are just superseded)',
    );
  });

  test('an unreachable relay ends with an error, not a throw', async () => {
    const res = await fetchLists('ws://127.0.0.1:1', [admin.pubkey], { timeoutMs: 2000 });
    assert.match(res.end, /^error: /);
  });
});
