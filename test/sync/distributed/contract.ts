/**
 * The contract of a DistributedReplication, run against each form (contract.test.ts): the
 * in-process DistributedSync and GrpcDistributedSync over a real orly-sync-distributed server.
 * The subject replicates from one peer, a stub relay on loopback (its NIP-11 names its identity;
 * its /api/sync/current says serial 0), over a store holding a few events; its own identity is
 * `self`. Checked: the status (shape, identity, serial, the peer's progress), the peer list
 * (read, replaced, refused when invalid), polls on demand, the peer identity questions, the
 * endpoints through handleHttp (401, 403, 200, 400, 404, 405) and NotifyNewEvent.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DistributedReplication } from '../../../src/sync/distributed/distributed-replication.js';
import type { SyncHttpRequest, SyncHttpResponse } from '../../../src/sync/replication.js';
import { MemoryEventStore } from '../../helpers/memory-store.js';
import { type Keys, newKeys, sign } from '../../helpers/nostr.js';
import { waitFor } from '../../helpers/wait.js';
import type { ContractSubject, FormContext, StubRelay } from '../contract-forms.js';
import { assertPolledOnce, endpointRequest, RELAY_HTTP, startStubRelay } from '../contract-forms.js';

export interface ContractContext extends FormContext {
  /** The stub peer's URL (http://127.0.0.1:port). */
  readonly peerUrl: string;
}

/** Builds and starts the subject, configured with `ctx.peerUrl` as its only peer. */
type SubjectFactory = (ctx: ContractContext) => Promise<ContractSubject<DistributedReplication>>;

/** A stub peer relay: NIP-11 with `self`, /api/sync/current with serial 0. */
const startStubPeer = (keys: Keys) =>
  startStubRelay(keys, 'POST', '/api/sync/current', () => ({ node_id: keys.pk, relay_url: '', serial: 0 }));

function header(res: SyncHttpResponse, name: string): string | undefined {
  return Object.entries(res.headers).find(([k]) => k.toLowerCase() === name)?.[1];
}

/** The suite against one form; each subject over a new in-memory store. */
export function distributedContract(formName: string, factory: SubjectFactory): void {
  describe(`DistributedReplication contract: ${formName}`, () => {
    const self = newKeys();
    const peer = newKeys();
    const stranger = newKeys();
    const author = newKeys();
    let stub: StubRelay;
    /** Another name of this relay: its NIP-11 names our identity. */
    let mirror: StubRelay;
    let store: MemoryEventStore;
    let subject: ContractSubject<DistributedReplication>;
    let sync: DistributedReplication;
    const saved: { id: string; serial: number }[] = [];

    before(async () => {
      stub = await startStubPeer(peer);
      mirror = await startStubPeer(self);
      store = new MemoryEventStore();
      for (let i = 0; i < 5; i++) {
        const event = sign(author, { content: `contract ${i}` });
        const result = await store.save(event);
        assert.ok(result.stored);
        saved.push({ id: event.id, serial: result.serial });
      }
      subject = await factory({ store, self, peerUrl: stub.url });
      sync = subject.replication;
    });
    after(async () => {
      await subject?.close();
      await stub?.close();
      await mirror?.close();
    });

    const request = (path: string, body: unknown, signer?: Keys, extra: Partial<SyncHttpRequest> = {}) =>
      endpointRequest(sync, path, { method: 'POST', body, signer, extra });

    it('status: this identity, the store serial, one peer with its identity and progress', async () => {
      let last = '';
      await waitFor(
        async () => {
          const status = await sync.status();
          last = JSON.stringify(status);
          return status.peers[0]?.status === 'active';
        },
        10_000,
        () => `the peer polled: ${last}`,
      );
      const status = await sync.status();
      assert.deepEqual(Object.keys(status).sort(), ['currentSerial', 'nodeId', 'peers']);
      assert.equal(status.nodeId, self.pk);
      assert.equal(status.currentSerial, await store.lastSerial());
      assert.equal(status.peers.length, 1);
      const [only] = status.peers;
      assert.ok(only);
      assertPolledOnce(only, stub.url, peer.pk);
    });

    it('peer identities: isAuthorizedPeer, peerPubkey', async () => {
      assert.equal(await sync.isAuthorizedPeer(stub.url, peer.pk), true);
      assert.equal(await sync.isAuthorizedPeer(stub.url.replace('http:', 'ws:'), peer.pk), true, 'any form');
      assert.equal(await sync.isAuthorizedPeer(stub.url, stranger.pk), false);
      assert.equal(await sync.isAuthorizedPeer('http://127.0.0.1:9', peer.pk), false, 'not a peer');
      assert.equal(await sync.isAuthorizedPeer(stub.url, 'not hex'), false);
      assert.equal(await sync.peerPubkey(stub.url), peer.pk);
      assert.equal(await sync.peerPubkey('not a url'), '');
    });

    it('endpoints: 401 without a token, 403 from a stranger, 200 from the peer', async () => {
      const body = { node_id: peer.pk, relay_url: stub.url };
      const none = await request('/api/sync/current', body);
      assert.equal(none.status, 401);
      assert.equal(header(none, 'www-authenticate'), 'Nostr');
      assert.equal((await request('/api/sync/current', body, stranger)).status, 403);
      const ok = await request('/api/sync/current', body, peer);
      assert.equal(ok.status, 200, ok.body);
      assert.match(header(ok, 'content-type') ?? '', /application\/json/);
      assert.deepEqual(JSON.parse(ok.body), {
        node_id: self.pk,
        relay_url: RELAY_HTTP,
        serial: await store.lastSerial(),
      });
      const ids = await request('/api/sync/event-ids', { ...body, from: 1, to: 1000 }, peer);
      assert.equal(ids.status, 200, ids.body);
      const answer = JSON.parse(ids.body) as { event_map: Record<string, number>; to: number };
      assert.deepEqual(answer.event_map, Object.fromEntries(saved.map((s) => [s.id, s.serial])));
      assert.equal(answer.to, 1000);
    });

    it('endpoints: bad input is a 4xx', async () => {
      const base = { node_id: peer.pk, relay_url: stub.url };
      const absurd = await request('/api/sync/event-ids', { ...base, from: 1, to: 10_000_000 }, peer);
      assert.equal(absurd.status, 400);
      assert.match(JSON.parse(absurd.body).error, /at most 100000 serials/);
      assert.equal((await request('/api/sync/event-ids', { ...base, from: 9, to: 2 }, peer)).status, 400);
      assert.equal((await request('/api/sync/event-ids', { ...base, from: -1, to: 2 }, peer)).status, 400);
      const notJson = await request('/api/sync/current', 'not json', peer);
      assert.equal(notJson.status, 400);
      assert.equal(JSON.parse(notJson.body).error, 'Invalid JSON');
      const selfCall = await request('/api/sync/current', { node_id: self.pk, relay_url: RELAY_HTTP }, peer);
      assert.equal(selfCall.status, 400);
      assert.equal(JSON.parse(selfCall.body).error, 'Cannot sync with self');
      const get = await request('/api/sync/current', base, peer, { method: 'GET', body: Buffer.alloc(0) });
      assert.equal(get.status, 405);
      assert.equal(header(get, 'allow'), 'POST');
      assert.equal((await request('/api/sync/elsewhere', base, peer)).status, 404);
      // No public URL: no `u` can match.
      const nowhere = await request('/api/sync/current', base, peer, { requestUrls: [] });
      assert.equal(nowhere.status, 401);
      assert.match(JSON.parse(nowhere.body).error, /no public URL/);
    });

    it('polls on demand: every peer, one peer, none for a URL that is not a peer', async () => {
      assert.equal(await sync.triggerSync(), 1);
      assert.equal(await sync.triggerSync(stub.url), 1);
      assert.equal(await sync.triggerSync('http://127.0.0.1:9'), 0);
    });

    it('NotifyNewEvent is accepted (fire and forget)', async () => {
      const event = sign(author, { content: 'notified' });
      const result = await store.save(event);
      assert.ok(result.stored);
      sync.notifyNewEvent(result.serial);
      sync.notifyNewEvent(result.serial);
      assert.equal((await sync.status()).currentSerial, result.serial);
    });

    it('the peer list: read, replaced (normalized), an invalid one refused and the list kept', async () => {
      assert.deepEqual(await sync.listPeers(), [stub.url]);
      const other = 'ws://127.0.0.1:9/';
      const now = await sync.updatePeers([stub.url, other, `${stub.url}/`]);
      assert.deepEqual(now, [stub.url, 'http://127.0.0.1:9']);
      assert.deepEqual(await sync.listPeers(), now);
      assert.equal((await sync.status()).peers.length, 2);
      await assert.rejects(sync.updatePeers([stub.url, 'ftp://nope.example']), /not a relay URL/);
      await assert.rejects(
        sync.updatePeers(Array.from({ length: 101 }, (_, i) => `http://127.0.0.1:${1000 + i}`)),
        /at most 100 peers/,
      );
      assert.deepEqual(await sync.listPeers(), now, 'unchanged');
      assert.deepEqual(await sync.updatePeers([stub.url]), [stub.url]);
      const status = await sync.status();
      assert.deepEqual(
        status.peers.map((p) => [p.url, p.lastSerial]),
        [[stub.url, 0]],
        'the removed peer is gone; the one that stayed kept its progress',
      );
    });

    it("a relay group's part of the list: the configured peer stays beside the group's relays", async () => {
      // The configured peer (stub.url) was not changed by updatePeers: it is the configuration's.
      const now = await sync.setGroupPeers(['ws://127.0.0.1:9', 'wss://group.example/']);
      assert.deepEqual(now, [stub.url, 'http://127.0.0.1:9', 'https://group.example']);
      assert.deepEqual(await sync.listPeers(), now);
      await assert.rejects(sync.setGroupPeers(['ftp://nope.example']), /not a relay URL/);
      assert.deepEqual(await sync.listPeers(), now, 'unchanged');
      assert.deepEqual(await sync.setGroupPeers([]), [stub.url], 'no group: the configured peers only');
    });

    it('this relay among its peers: its own URL dropped, another name of it found by identity and skipped', async () => {
      assert.deepEqual(await sync.updatePeers([stub.url, RELAY_HTTP, mirror.url]), [stub.url, mirror.url]);
      let last = '';
      await waitFor(
        async () => {
          await sync.triggerSync(mirror.url);
          const status = await sync.status();
          last = JSON.stringify(status.peers);
          return status.peers.find((p) => p.url === mirror.url)?.status === 'self';
        },
        10_000,
        () => `the mirror marked self: ${last}`,
        100,
      );
      assert.equal(await sync.isAuthorizedPeer(mirror.url, self.pk), false);
      assert.deepEqual(await sync.updatePeers([stub.url]), [stub.url]);
    });
  });
}
