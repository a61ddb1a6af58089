/**
 * orly-sync-cluster's RPCs over real gRPC (a server in this process on port 0, over an in-memory
 * store): every RPC answered, GetEventsInRange's rules (INVALID_ARGUMENT when inverted or beyond
 * 10,000; paging), the HTTP envelope's path rule, HandleMembershipEvent's outcome fields, the
 * token, UpdateMembership / Start / Stop refused to unauthenticated callers. Then the relay's
 * client against a service that is not there: start() gives up after its timeout, the endpoints
 * answer 503, no one is a trusted reader; the service comes up and is reached.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { credentials, status } from '@grpc/grpc-js';
import { ClusterSyncServiceClient } from '../../../src/gen/orlysync/cluster/v1/cluster.js';
import { createLogger } from '../../../src/logger.js';
import { serializeEvent } from '../../../src/protocol/event.js';
import { type ClusterServer, startClusterSyncServer } from '../../../src/services/sync-cluster/server.js';
import type { ClusterConfig } from '../../../src/sync/cluster/cluster-config.js';
import { GrpcClusterSync } from '../../../src/sync/cluster/grpc-cluster-sync.js';
import { unsignedEvent } from '../../helpers/events.js';
import { grpcCode, unaryCaller } from '../../helpers/grpc-call.js';
import { MemoryEventStore } from '../../helpers/memory-store.js';
import { newKeys, sign } from '../../helpers/nostr.js';
import { assertEndpointsDown, assertStartGivesUp } from '../../helpers/sync-client-down.js';
import { freePort } from '../../launcher/fake-service.js';

const logger = createLogger('silent');
const TOKEN = 'cluster-rpcs-token-0123456789abcd';
const EVENTS = 25;

const call = unaryCaller(TOKEN);

function clusterConfig(admins: string[]): ClusterConfig {
  return {
    enabled: true,
    admins,
    propagatePrivileged: false,
    intervalMs: 3_600_000,
    live: false,
    relayUrl: 'wss://self.example',
  };
}

describe('orly-sync-cluster RPCs', () => {
  const self = newKeys();
  const admin = newKeys();
  const store = new MemoryEventStore();
  let server: ClusterServer;
  let open: ClusterServer;
  let client: ClusterSyncServiceClient;
  let openClient: ClusterSyncServiceClient;
  const ids: string[] = [];

  before(async () => {
    const author = newKeys().pk;
    for (let i = 0; i < EVENTS; i++) {
      const event = unsignedEvent(author, { kind: i === 3 ? 4 : 1, content: `rpc ${i}` });
      await store.save(event);
      ids.push(event.id);
    }
    const common = {
      listen: '127.0.0.1:0',
      store,
      cluster: clusterConfig([admin.pk]),
      restrictedKinds: [4, 1059],
      logger,
      env: { ORLY_RELAY_SECRET_KEY: Buffer.from(self.sk).toString('hex') },
      verifyWorkers: 0,
    };
    server = await startClusterSyncServer({ ...common, security: { token: TOKEN } });
    open = await startClusterSyncServer(common);
    client = new ClusterSyncServiceClient(server.address, credentials.createInsecure());
    openClient = new ClusterSyncServiceClient(open.address, credentials.createInsecure());
  });
  after(async () => {
    client?.close();
    openClient?.close();
    await server?.stop();
    await open?.stop();
  });

  it('Ready, GetLatestSerial, GetClusterStatus, GetMembers, GetMemberStatus', async () => {
    assert.deepEqual(await call(client, 'ready', {}), { ready: true });
    const latest = await call<{ serial: number; timestamp: number }>(client, 'getLatestSerial', {});
    assert.equal(latest.serial, EVENTS);
    assert.ok(Math.abs(latest.timestamp - Date.now() / 1000) < 60);
    assert.deepEqual(await call(client, 'getClusterStatus', {}), {
      latestSerial: EVENTS,
      activeMembers: 0,
      totalMembers: 0,
      propagatePrivilegedEvents: false,
      members: [],
      nodeId: self.pk,
      trustedReaders: [],
    });
    assert.deepEqual(await call(client, 'getMembers', {}), { members: [] });
    assert.deepEqual(await call(client, 'getMemberStatus', { httpUrl: 'https://nope.example' }), {
      member: undefined,
      found: false,
    });
  });

  it('GetEventsInRange: paged, the restricted kinds left out (not propagated); bad ranges INVALID_ARGUMENT', async () => {
    type Range = { events: { serial: number; id: string }[]; hasMore: boolean; nextFrom: number };
    const some = await call<Range>(client, 'getEventsInRange', { from: 2, to: 6, limit: 0 });
    assert.deepEqual(
      some.events.map((e) => e.id),
      [ids[1], ids[2], ids[4], ids[5]],
      'the DM (serial 4) left out',
    );
    assert.equal(some.hasMore, false);
    const page = await call<Range>(client, 'getEventsInRange', { from: 1, to: 1000, limit: 10 });
    assert.equal(page.events.length, 10);
    assert.equal(page.hasMore, true);
    assert.equal(page.nextFrom, 12);
    await assert.rejects(
      call(client, 'getEventsInRange', { from: 5, to: 4, limit: 0 }),
      grpcCode(status.INVALID_ARGUMENT),
    );
    await assert.rejects(
      call(client, 'getEventsInRange', { from: 1, to: 4, limit: 10_001 }),
      grpcCode(status.INVALID_ARGUMENT),
    );
    await assert.rejects(
      call(client, 'getEventsInRange', { from: 1, to: 4, limit: -1 }),
      grpcCode(status.INVALID_ARGUMENT),
    );
  });

  it('the HTTP envelope: the RPC names the endpoint; an empty path is its own', async () => {
    type Answer = { statusCode: number; headers: Record<string, string>; body: Buffer };
    const base = { method: 'GET', headers: {}, body: Buffer.alloc(0), queryString: '', remoteAddr: '' };
    const url = ['http://self.example/cluster/latest'];
    const wrong = await call<Answer>(client, 'handleLatestSerial', {
      ...base,
      path: '/cluster/events',
      requestUrls: url,
    });
    assert.equal(wrong.statusCode, 404);
    const empty = await call<Answer>(client, 'handleLatestSerial', { ...base, path: '', requestUrls: url });
    assert.equal(empty.statusCode, 401);
    assert.equal(empty.headers['WWW-Authenticate'], 'Nostr');
    const post = await call<Answer>(client, 'handleEventsRange', {
      ...base,
      method: 'POST',
      path: '/cluster/events',
      requestUrls: url,
    });
    assert.equal(post.statusCode, 405);
  });

  it('HandleMembershipEvent: its outcome in fields; an applied one makes members', async () => {
    assert.deepEqual(await call(client, 'handleMembershipEvent', { eventJson: '{not json' }), {
      accepted: false,
      applied: false,
      error: 'invalid: event_json is not JSON',
    });
    const outsider = sign(newKeys(), {
      kind: 39108,
      tags: [
        ['d', 'membership'],
        ['relay', 'http://127.0.0.1:9'],
      ],
    });
    const refused = await call<{ accepted: boolean; error: string }>(client, 'handleMembershipEvent', {
      eventJson: serializeEvent(outsider),
    });
    assert.equal(refused.accepted, false);
    assert.match(refused.error, /^restricted: /);
    const members = sign(admin, {
      kind: 39108,
      tags: [
        ['d', 'membership'],
        ['relay', 'http://127.0.0.1:9'],
        ['relay', 'wss://self.example'],
      ],
    });
    assert.deepEqual(await call(client, 'handleMembershipEvent', { eventJson: serializeEvent(members) }), {
      accepted: true,
      applied: true,
      error: '',
    });
    const listed = await call<{ members: { httpUrl: string; websocketUrl: string }[] }>(
      client,
      'getMembers',
      {},
    );
    assert.deepEqual(
      listed.members.map((m) => [m.httpUrl, m.websocketUrl]),
      [['http://127.0.0.1:9', 'ws://127.0.0.1:9']],
      'itself (ORLY_RELAY_URL) dropped',
    );
    const one = await call<{ found: boolean }>(client, 'getMemberStatus', { httpUrl: 'ws://127.0.0.1:9/' });
    assert.equal(one.found, true);
  });

  it('the token is required; UpdateMembership, Start and Stop need an authenticated caller', async () => {
    await assert.rejects(call(client, 'getMembers', {}, null), grpcCode(status.UNAUTHENTICATED));
    await assert.rejects(
      call(client, 'getMembers', {}, 'wrong-token-0123456789abcdef'),
      grpcCode(status.UNAUTHENTICATED),
    );
    assert.deepEqual(await call(openClient, 'getMembers', {}, null), { members: [] });
    for (const [method, request] of [
      ['updateMembership', { relayUrls: ['https://a.example'] }],
      ['start', {}],
      ['stop', {}],
    ] as const)
      await assert.rejects(call(openClient, method, request, null), grpcCode(status.PERMISSION_DENIED));
    type Outcome = { members: { httpUrl: string }[]; error: string };
    const refused = await call<Outcome>(client, 'updateMembership', {
      relayUrls: ['https://a.example', 'ftp://x.example'],
    });
    assert.equal(
      refused.error,
      'invalid: member 2: "ftp://x.example" has scheme "ftp", expected http, https',
    );
    assert.deepEqual(
      refused.members.map((m) => m.httpUrl),
      ['http://127.0.0.1:9'],
      'unchanged',
    );
    assert.deepEqual(await call(client, 'stop', {}), { running: false });
    assert.deepEqual(await call(client, 'start', {}), { running: true });
    assert.deepEqual(await call(client, 'updateMembership', { relayUrls: [] }), { members: [], error: '' });
  });
});

describe("the relay's client when orly-sync-cluster is not there", () => {
  it('start() gives up after its timeout; endpoints 503; no trusted readers; then the service is reached', async () => {
    const port = await freePort();
    const sync = new GrpcClusterSync({ address: `127.0.0.1:${port}`, connectTimeoutMs: 500 });
    let service: ClusterServer | undefined;
    try {
      await assertStartGivesUp(sync, 'orly-sync-cluster');
      const request = {
        method: 'GET',
        path: '/cluster/latest',
        query: '',
        headers: {},
        body: Buffer.alloc(0),
        remoteAddr: '127.0.0.1',
        requestUrls: [],
      };
      await assertEndpointsDown(sync, request, 'cluster sync service', '/cluster/other');
      assert.equal(sync.trustedReaders().size, 0);
      sync.notifyNewEvent(1);
      service = await startClusterSyncServer({
        listen: `127.0.0.1:${port}`,
        store: new MemoryEventStore(),
        cluster: clusterConfig([]),
        restrictedKinds: [4, 1059],
        logger,
        verifyWorkers: 0,
      });
      let last = 0;
      for (let i = 0; i < 50 && last !== 401; i++) {
        last = (await sync.handleHttp(request)).status;
        if (last !== 401) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(last, 401, 'forwarded again: no public URL, no NIP-98');
    } finally {
      await sync.stop();
      await service?.stop();
    }
  });
});
