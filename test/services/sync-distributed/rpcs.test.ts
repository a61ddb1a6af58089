/**
 * orly-sync-distributed's RPCs over real gRPC (a server in this process on port 0, over an
 * in-memory store): every RPC answered, GetEventIDs' range rules (INVALID_ARGUMENT beyond
 * MAX_RANGE or inverted; the whole range, no MAX_IDS cut), the HTTP envelope's path rule, the
 * token, UpdatePeers refused to unauthenticated callers and its outcome field. Then the relay's
 * client against a service that is not there: start() gives up after its timeout, the endpoints
 * answer 503, NotifyNewEvent failures are logged once until the service answers again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { credentials, status } from '@grpc/grpc-js';
import { pino } from 'pino';
import { DistributedSyncServiceClient } from '../../../src/gen/orlysync/distributed/v1/distributed.js';
import { createLogger } from '../../../src/logger.js';
import {
  type DistributedServer,
  startDistributedSyncServer,
} from '../../../src/services/sync-distributed/server.js';
import { GrpcDistributedSync } from '../../../src/sync/distributed/grpc-distributed-sync.js';
import { unsignedEvent } from '../../helpers/events.js';
import { grpcCode, unaryCaller } from '../../helpers/grpc-call.js';
import { MemoryEventStore } from '../../helpers/memory-store.js';
import { newKeys } from '../../helpers/nostr.js';
import { assertEndpointsDown, assertStartGivesUp } from '../../helpers/sync-client-down.js';
import { waitFor } from '../../helpers/wait.js';
import { freePort } from '../../launcher/fake-service.js';

const logger = createLogger('silent');
const TOKEN = 'distributed-rpcs-token-0123456789ab';
const EVENTS = 10_050;

const call = unaryCaller(TOKEN);

describe('orly-sync-distributed RPCs', () => {
  const self = newKeys();
  const store = new MemoryEventStore();
  let server: DistributedServer;
  let open: DistributedServer;
  let client: DistributedSyncServiceClient;
  let openClient: DistributedSyncServiceClient;
  const ids: string[] = [];

  before(async () => {
    const author = newKeys().pk;
    for (let i = 0; i < EVENTS; i++) {
      const event = unsignedEvent(author, { content: `rpc ${i}` });
      await store.save(event);
      ids.push(event.id);
    }
    const common = {
      listen: '127.0.0.1:0',
      store,
      sync: { peers: [], intervalMs: 3_600_000, live: false, relayUrl: 'wss://self.example' },
      logger,
      env: { ORLY_RELAY_SECRET_KEY: Buffer.from(self.sk).toString('hex') },
      verifyWorkers: 0,
    };
    server = await startDistributedSyncServer({ ...common, security: { token: TOKEN } });
    open = await startDistributedSyncServer(common);
    client = new DistributedSyncServiceClient(server.address, credentials.createInsecure());
    openClient = new DistributedSyncServiceClient(open.address, credentials.createInsecure());
  });
  after(async () => {
    client?.close();
    openClient?.close();
    await server?.stop();
    await open?.stop();
  });

  it('Ready, GetInfo, GetCurrentSerial, UpdateSerial, GetSyncStatus, GetPeers', async () => {
    assert.deepEqual(await call(client, 'ready', {}), { ready: true });
    assert.deepEqual(await call(client, 'getInfo', {}), {
      nodeId: self.pk,
      relayUrl: 'wss://self.example',
      currentSerial: EVENTS,
      peerCount: 0,
      status: 'running',
    });
    assert.deepEqual(await call(client, 'getCurrentSerial', { nodeId: 'x', relayUrl: 'y' }), {
      nodeId: self.pk,
      relayUrl: 'wss://self.example',
      serial: EVENTS,
    });
    assert.deepEqual(await call(client, 'updateSerial', {}), { serial: EVENTS });
    assert.deepEqual(await call(client, 'getSyncStatus', {}), { currentSerial: EVENTS, peers: [] });
    assert.deepEqual(await call(client, 'getPeers', {}), { peers: [] });
    assert.deepEqual(await call(client, 'notifyNewEvent', { eventId: ids[0], serial: 1 }), {});
    assert.deepEqual(await call(client, 'triggerSync', { peerUrl: '' }), { triggered: 0 });
    assert.deepEqual(await call(client, 'triggerSync', { peerUrl: 'wss://nope.example' }), { triggered: 0 });
    assert.deepEqual(
      await call(client, 'isAuthorizedPeer', { peerUrl: 'wss://nope.example', expectedPubkey: self.pk }),
      { authorized: false },
    );
    assert.deepEqual(await call(client, 'getPeerPubkey', { peerUrl: 'not a url' }), { pubkey: '' });
  });

  it('GetEventIDs: the whole range (no continuation); too wide or inverted: INVALID_ARGUMENT', async () => {
    const some = await call<{ eventMap: Record<string, number> }>(client, 'getEventIDs', { from: 2, to: 4 });
    assert.deepEqual(some.eventMap, { [ids[1]!]: 2, [ids[2]!]: 3, [ids[3]!]: 4 });
    const all = await call<{ eventMap: Record<string, number> }>(client, 'getEventIDs', {
      from: 1,
      to: EVENTS + 100,
    });
    assert.equal(Object.keys(all.eventMap).length, EVENTS, 'beyond the 10,000 of one HTTP answer');
    await assert.rejects(
      call(client, 'getEventIDs', { from: 1, to: 100_001 }),
      grpcCode(status.INVALID_ARGUMENT),
    );
    await assert.rejects(call(client, 'getEventIDs', { from: 5, to: 4 }), grpcCode(status.INVALID_ARGUMENT));
  });

  it('the HTTP envelope: the RPC names the endpoint; an empty path is its own', async () => {
    type Answer = { statusCode: number; headers: Record<string, string>; body: Buffer };
    const base = { method: 'POST', headers: {}, body: Buffer.from('{}'), queryString: '', remoteAddr: '' };
    const url = ['http://self.example/api/sync/current'];
    const wrong = await call<Answer>(client, 'handleCurrentRequest', {
      ...base,
      path: '/api/sync/event-ids',
      requestUrls: url,
    });
    assert.equal(wrong.statusCode, 404);
    const empty = await call<Answer>(client, 'handleCurrentRequest', { ...base, path: '', requestUrls: url });
    assert.equal(empty.statusCode, 401);
    assert.equal(empty.headers['WWW-Authenticate'], 'Nostr');
    const get = await call<Answer>(client, 'handleEventIDsRequest', {
      ...base,
      method: 'GET',
      path: '/api/sync/event-ids',
      requestUrls: url,
    });
    assert.equal(get.statusCode, 405);
    assert.deepEqual(JSON.parse(get.body.toString()), { error: 'Method not allowed' });
  });

  it('the token is required; UpdatePeers needs an authenticated caller; its outcome is a field', async () => {
    await assert.rejects(call(client, 'getInfo', {}, null), grpcCode(status.UNAUTHENTICATED));
    await assert.rejects(
      call(client, 'getInfo', {}, 'wrong-token-0123456789abcdef'),
      grpcCode(status.UNAUTHENTICATED),
    );
    // A server without a token answers reads but refuses to change the peers.
    assert.deepEqual(await call(openClient, 'getPeers', {}, null), { peers: [] });
    await assert.rejects(
      call(openClient, 'updatePeers', { peers: ['wss://a.example'] }, null),
      grpcCode(status.PERMISSION_DENIED),
    );
    const refused = await call(client, 'updatePeers', { peers: ['wss://a.example', 'mailto:x@example'] });
    assert.deepEqual(refused, {
      peers: [],
      error: 'peers: not a relay URL (http(s):// or ws(s)://): "mailto:x@example"',
    });
    // Its own URL (ORLY_RELAY_URL, in any form) is dropped.
    const set = await call(client, 'updatePeers', { peers: ['http://127.0.0.1:9', 'https://self.example/'] });
    assert.deepEqual(set, { peers: ['http://127.0.0.1:9'], error: '' });
    assert.deepEqual(await call(client, 'triggerSync', { peerUrl: 'ws://127.0.0.1:9' }), { triggered: 1 });
    assert.deepEqual(await call(client, 'updatePeers', { peers: [] }), { peers: [], error: '' });
  });
});

describe("the relay's client when orly-sync-distributed is not there", () => {
  it('start() gives up after its timeout; endpoints 503; NotifyNewEvent failures logged once', async () => {
    const port = await freePort();
    const lines: string[] = [];
    const captured = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const sync = new GrpcDistributedSync({
      address: `127.0.0.1:${port}`,
      logger: captured,
      connectTimeoutMs: 500,
    });
    let service: DistributedServer | undefined;
    try {
      await assertStartGivesUp(sync, 'orly-sync-distributed');
      const request = {
        method: 'POST',
        path: '/api/sync/current',
        query: '',
        headers: {},
        body: Buffer.from('{}'),
        remoteAddr: '127.0.0.1',
        requestUrls: [],
      };
      await assertEndpointsDown(sync, request, 'distributed sync service', '/api/sync/other');
      const failures = () =>
        lines.filter((l) => l.includes('NotifyNewEvent to orly-sync-distributed failed'));
      for (let serial = 1; serial <= 5; serial++) {
        sync.notifyNewEvent(serial);
        await waitFor(() => failures().length > 0, 5000, 'the failure logged');
      }
      assert.equal(failures().length, 1, 'logged once');
      // The service comes up on that address: the next notification succeeds, and says so.
      service = await startDistributedSyncServer({
        listen: `127.0.0.1:${port}`,
        store: new MemoryEventStore(),
        sync: { peers: [], intervalMs: 3_600_000, live: false, relayUrl: undefined },
        logger,
        verifyWorkers: 0,
      });
      await waitFor(
        () => {
          sync.notifyNewEvent(6);
          return lines.some((l) => l.includes('answers NotifyNewEvent again'));
        },
        10_000,
        'the recovery logged',
        100,
      );
      assert.equal((await sync.handleHttp(request)).status, 401, 'forwarded again: no public URL, no NIP-98');
    } finally {
      await sync.stop();
      await service?.stop();
    }
  });
});
