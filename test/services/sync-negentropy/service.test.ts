/**
 * orly-sync-negentropy end to end: the service in this process over real gRPC (127.0.0.1 port
 * 0) backed by a real orly-db (temp LMDB, GrpcEventStore), syncing with a second relay (NIP-77
 * enabled) over real signed events: down, up and both with partial overlap (identical sets
 * afterwards, real progress counts); the background loop with a failing peer (closed port:
 * reported with backoff, the good peer still synced) and the peer-list RPCs; `orly sync
 * --server` as a child process, with --print-missing printing exactly what direct mode prints;
 * include_ids on the stream; and the real orly-sync-negentropy binary as a child process
 * (config errors, the ORLY_SYNC_NEGENTROPY_ID_SIZE warning).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { credentials } from '@grpc/grpc-js';
import { HealthClient } from '../../../src/gen/grpc/health/v1/health.js';
import {
  type GetSyncStatusResponse,
  NegentropyServiceClient,
  SyncDirection,
  type SyncProgress,
  type SyncWithPeerRequest,
} from '../../../src/gen/orlysync/negentropy/v1/negentropy.js';
import { createLogger } from '../../../src/logger.js';
import type { NostrEvent } from '../../../src/protocol/event.js';
import { type DatabaseServer, startDatabaseServer } from '../../../src/services/db/server.js';
import {
  type NegentropyServer,
  startNegentropyServer,
} from '../../../src/services/sync-negentropy/server.js';
import type { EventStore } from '../../../src/store/event-store.js';
import { GrpcEventStore } from '../../../src/store/grpc/grpc-event-store.js';
import { LmdbEventStore } from '../../../src/store/lmdb/lmdb-store.js';
import { newKey, signedEvent } from '../../helpers/events.js';
import { startTestRelay, type TestRelay } from '../../helpers/relay-harness.js';
import { ORLY_CLI } from '../../helpers/relay-process.js';
import { type RunResult, runNode } from '../../helpers/run-node.js';
import { testSyncConfig } from '../../helpers/sync-config.js';
import { waitFor } from '../../helpers/wait.js';

const SYNC_CLI = fileURLToPath(new URL('../../../src/cli/orly-sync-negentropy.js', import.meta.url));
const logger = createLogger('silent');
const key = newKey();
const START = Math.floor(Date.now() / 1000) - 100_000;
let counter = 0;
function makeEvents(n: number, kind: number): NostrEvent[] {
  const out: NostrEvent[] = [];
  for (let i = 0; i < n; i++) {
    counter++;
    out.push(signedEvent(key, { kind, content: `svc ${counter}`, created_at: START + counter }));
  }
  return out;
}

async function saveAll(store: EventStore, events: readonly NostrEvent[]): Promise<void> {
  const results = await Promise.all(events.map((e) => store.save(e)));
  for (const r of results) assert.ok(r.stored, JSON.stringify(r));
}

async function idsOf(store: EventStore, kind: number): Promise<Set<string>> {
  const items = await store.negentropyItems({ kinds: [kind] }, Number.MAX_SAFE_INTEGER);
  assert.ok(items);
  const ids = new Set<string>();
  for (let i = 0; i < items.count; i++)
    ids.add(Buffer.from(items.ids.subarray(i * 32, i * 32 + 32)).toString('hex'));
  return ids;
}

function assertSameIds(actual: Set<string>, expected: Set<string>): void {
  const missing = [...expected].filter((id) => !actual.has(id)).length;
  const extra = [...actual].filter((id) => !expected.has(id)).length;
  assert.deepEqual({ size: actual.size, missing, extra }, { size: expected.size, missing: 0, extra: 0 });
}

const setOf = (events: readonly NostrEvent[]): Set<string> => new Set(events.map((e) => e.id));

function unary<Req, Res>(
  client: InstanceType<typeof NegentropyServiceClient>,
  method: string,
  req: Req,
): Promise<Res> {
  return new Promise((resolve, reject) =>
    (client as unknown as Record<string, (r: Req, cb: (e: Error | null, v: Res) => void) => void>)[method]!(
      req,
      (err, res) => (err ? reject(err) : resolve(res)),
    ),
  );
}

function syncStream(
  client: InstanceType<typeof NegentropyServiceClient>,
  req: Partial<SyncWithPeerRequest> & { peerUrl: string },
): Promise<SyncProgress[]> {
  return new Promise((resolve, reject) => {
    const out: SyncProgress[] = [];
    const call = client.syncWithPeer({
      filterJson: '',
      direction: SyncDirection.SYNC_DIRECTION_DOWN,
      frameSizeLimit: 0,
      timeoutMs: 0,
      includeIds: false,
      ...req,
    });
    call.on('data', (p: SyncProgress) => out.push(p));
    call.on('error', reject);
    call.on('end', () => resolve(out));
  });
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function runCli(cli: string, args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return runNode(cli, args, { env });
}

describe('orly-sync-negentropy', () => {
  const dirs: string[] = [];
  const relays: TestRelay[] = [];
  let db: DatabaseServer;
  let store: GrpcEventStore;
  let svc: NegentropyServer;
  /** `orly sync <url> --server <the service> ...args` as a child process. */
  const clientSync = (url: string, ...args: string[]): ReturnType<typeof runCli> =>
    runCli(ORLY_CLI, ['sync', url, '--server', svc.address, ...args]);
  let client: InstanceType<typeof NegentropyServiceClient>;

  async function negRelay(events: readonly NostrEvent[]): Promise<TestRelay> {
    const relay = await startTestRelay({ ORLY_NEGENTROPY_ENABLED: 'true' });
    relays.push(relay);
    await saveAll(relay.relay.store, events);
    return relay;
  }

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orly-syncsvc-'));
    dirs.push(dir);
    db = await startDatabaseServer({ listen: '127.0.0.1:0', dataDir: dir, logger });
    store = await GrpcEventStore.connect(db.address, { logger });
    svc = await startNegentropyServer({
      listen: '127.0.0.1:0',
      store,
      logger,
      sync: testSyncConfig(),
    });
    client = new NegentropyServiceClient(svc.address, credentials.createInsecure());
  });

  after(async () => {
    client?.close();
    await svc?.stop();
    await store?.close();
    await db?.stop();
    for (const r of relays) await r.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('SyncWithPeer down / up / both with partial overlap: identical sets, real counts', async () => {
    // down
    const remote = makeEvents(120, 1001);
    const r1 = await negRelay(remote);
    const down = await syncStream(client, { peerUrl: r1.url, filterJson: '{"kinds":[1001]}' });
    const d = down.at(-1)!;
    assert.equal(d.error, '');
    assert.equal(d.complete, true);
    assert.deepEqual([d.haveCount, d.needCount, d.fetchedCount, d.sentCount], [0, 120, 120, 0]);
    assert.ok(down.some((p) => p.phase === 'download' && !p.complete));
    assertSameIds(await idsOf(db.store, 1001), setOf(remote));

    // up
    const local = makeEvents(110, 1002);
    await saveAll(store, local);
    const r2 = await negRelay([]);
    const up = (
      await syncStream(client, {
        peerUrl: r2.url,
        filterJson: '{"kinds":[1002]}',
        direction: SyncDirection.SYNC_DIRECTION_UP,
      })
    ).at(-1)!;
    assert.equal(up.complete, true, up.error);
    assert.deepEqual([up.haveCount, up.needCount, up.sentCount, up.acceptedCount], [110, 0, 110, 110]);
    assertSameIds(await idsOf(r2.relay.store, 1002), setOf(local));

    // both, partial overlap, small frames (several rounds)
    const common = makeEvents(100, 1003);
    const onlyRemote = makeEvents(150, 1003);
    const onlyLocal = makeEvents(150, 1003);
    const r3 = await negRelay([...common, ...onlyRemote]);
    await saveAll(store, [...common, ...onlyLocal]);
    const both = (
      await syncStream(client, {
        peerUrl: r3.url,
        filterJson: '{"kinds":[1003]}',
        direction: SyncDirection.SYNC_DIRECTION_BOTH,
        frameSizeLimit: 4096,
      })
    ).at(-1)!;
    assert.equal(both.complete, true, both.error);
    assert.deepEqual(
      [
        both.localCount,
        both.haveCount,
        both.needCount,
        both.fetchedCount,
        both.sentCount,
        both.acceptedCount,
      ],
      [250, 150, 150, 150, 150, 150],
    );
    const all = setOf([...common, ...onlyRemote, ...onlyLocal]);
    assertSameIds(await idsOf(db.store, 1003), all);
    assertSameIds(await idsOf(r3.relay.store, 1003), all);

    // A failure ends the stream with the error; bad arguments are INVALID_ARGUMENT.
    const port = await closedPort();
    const failed = (await syncStream(client, { peerUrl: `ws://127.0.0.1:${port}` })).at(-1)!;
    assert.equal(failed.complete, false);
    assert.match(failed.error, /cannot connect/);
    await assert.rejects(syncStream(client, { peerUrl: r3.url, filterJson: '{"limit":1}' }), /limit/);
    await assert.rejects(syncStream(client, { peerUrl: 'http://x' }), /ws:\/\//);
  });

  it('background loop: a failing peer backs off and is reported, the good peer syncs', async () => {
    const remote = makeEvents(60, 1004);
    const good = await negRelay(remote);
    const bad = `ws://127.0.0.1:${await closedPort()}`;
    const loop = await startNegentropyServer({
      listen: '127.0.0.1:0',
      store,
      logger,
      sync: testSyncConfig({
        peers: [bad, good.url],
        filter: { kinds: [1004] },
        timeoutMs: 5000,
        backoffBaseMs: 150,
        autoStart: true,
      }),
    });
    const c = new NegentropyServiceClient(loop.address, credentials.createInsecure());
    try {
      const status = () => unary<object, GetSyncStatusResponse>(c, 'getSyncStatus', {});
      await waitFor(
        async () => {
          const s = await status();
          const g = s.peers.find((p) => p.peerUrl === good.url);
          const b = s.peers.find((p) => p.peerUrl === bad);
          return g?.state === 'ok' && (b?.consecutiveFailures ?? 0) >= 3;
        },
        15_000,
        'good peer synced and bad peer failing 3 times',
      );
      const s = await status();
      assert.equal(s.running, true);
      const g = s.peers.find((p) => p.peerUrl === good.url)!;
      assert.deepEqual([g.lastNeed, g.totalFetched, g.consecutiveFailures, g.lastError], [60, 60, 0, '']);
      assert.ok(g.nextAttemptMs >= g.lastSuccessMs + 59_000);
      const b = s.peers.find((p) => p.peerUrl === bad)!;
      assert.equal(b.state, 'failed');
      assert.match(b.lastError, /cannot connect/);
      // Exponential backoff: the delay after n failures is 150 * 2^(n-1) ms.
      assert.ok(b.nextAttemptMs - b.lastAttemptMs >= 150 * 2 ** (b.consecutiveFailures - 1) - 5);
      assertSameIds(await idsOf(db.store, 1004), setOf(remote));

      // Peer list RPCs.
      const other = 'wss://relay.example.invalid';
      assert.deepEqual(await unary(c, 'stop', {}), { running: false });
      assert.deepEqual(await unary(c, 'addPeer', { peerUrl: other }), { added: true });
      assert.deepEqual(await unary(c, 'addPeer', { peerUrl: other }), { added: false });
      await assert.rejects(unary(c, 'addPeer', { peerUrl: 'ftp://x' }), /ws:\/\//);
      assert.deepEqual(await unary(c, 'getPeers', {}), { peerUrls: [bad, good.url, other] });
      const st = await unary<object, { found: boolean; state: { state: string } }>(c, 'getPeerSyncState', {
        peerUrl: other,
      });
      assert.deepEqual([st.found, st.state.state], [true, 'idle']);
      assert.deepEqual(await unary(c, 'removePeer', { peerUrl: other }), { removed: true });
      assert.deepEqual(await unary(c, 'removePeer', { peerUrl: bad }), { removed: true });
      assert.deepEqual(await unary(c, 'getPeers', {}), { peerUrls: [good.url] });
      await assert.rejects(unary(c, 'triggerSync', { peerUrl: other }), /unknown peer/);
      // TriggerSync works while the loop is paused.
      const more = makeEvents(5, 1004);
      await saveAll(good.relay.store, more);
      assert.deepEqual(await unary(c, 'triggerSync', { peerUrl: '' }), { triggered: 1 });
      await waitFor(async () => (await status()).peers[0]?.totalFetched === 65, 10_000, 'triggered sync');
      assert.deepEqual(await unary(c, 'start', {}), { running: true });
      assert.deepEqual(await unary(c, 'listSessions', {}), { sessions: [] });
      assert.deepEqual(await unary(c, 'closeSession', { sessionId: 'nope' }), { closed: false });
      // Routed NIP-77: outcomes are fields.
      const open = (await unary(c, 'handleNegOpen', {
        relayId: '',
        connectionId: '',
        subscriptionId: '',
        filterJson: '',
        message: '',
        authedPubkeys: [],
        ip: '',
        restrictedKinds: [],
        maxRecords: 0,
        frameSizeLimit: 0,
      })) as { error: string };
      assert.match(open.error, /^invalid: /);
      const msg = (await unary(c, 'handleNegMsg', {
        relayId: 'r',
        connectionId: '1',
        subscriptionId: 's',
      })) as {
        error: string;
      };
      assert.equal(msg.error, 'closed: unknown subscription handle');
      assert.deepEqual(
        await unary(c, 'handleNegClose', { relayId: 'r', connectionId: '1', subscriptionId: '' }),
        { closed: 0 },
      );
    } finally {
      c.close();
      await loop.stop();
    }
  });

  it('orly sync --server drives the service (child process)', async () => {
    const common = makeEvents(40, 1005);
    const onlyRemote = makeEvents(70, 1005);
    const onlyLocal = makeEvents(50, 1005);
    const relay = await negRelay([...common, ...onlyRemote]);
    await saveAll(store, [...common, ...onlyLocal]);
    const res = await clientSync(relay.url, '--filter', '{"kinds":[1005]}', '--dir', 'both');
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /reconcile: /);
    assert.match(
      res.stderr,
      /sync done: have 50, need 70, downloaded 70, uploaded 50 \(50 accepted \/ 0 rejected\)/,
    );
    const all = setOf([...common, ...onlyRemote, ...onlyLocal]);
    assertSameIds(await idsOf(db.store, 1005), all);
    assertSameIds(await idsOf(relay.relay.store, 1005), all);

    const port = await closedPort();
    const failed = await runCli(ORLY_CLI, ['sync', `ws://127.0.0.1:${port}`, '--server', svc.address]);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /cannot connect/);
    const noService = await runCli(ORLY_CLI, [
      'sync',
      relay.url,
      '--server',
      `127.0.0.1:${port}`,
      '--timeout',
      '1',
    ]);
    assert.equal(noService.code, 1);
    assert.match(noService.stderr, /cannot reach orly-sync-negentropy/);
  });

  it('orly sync --server --print-missing prints the lines direct mode prints, on stdout', async () => {
    const common = makeEvents(60, 1007);
    const onlyRemote = makeEvents(90, 1007);
    const onlyLocal = makeEvents(70, 1007);
    const relay = await negRelay([...common, ...onlyRemote]);
    await saveAll(store, [...common, ...onlyLocal]);
    // Direct mode over a store holding what the service's store holds (for this kind).
    const dir = mkdtempSync(join(tmpdir(), 'orly-syncsvc-direct-'));
    dirs.push(dir);
    const local = LmdbEventStore.open(dir);
    await saveAll(local, [...common, ...onlyLocal]);
    await local.close();
    const flags = ['--filter', '{"kinds":[1007]}', '--frame-size-limit', '4096', '--print-missing'];
    const direct = await runCli(ORLY_CLI, ['sync', relay.url, '--data-dir', dir, '--dir', 'none', ...flags]);
    assert.equal(direct.code, 0, direct.stderr);
    const client = await clientSync(relay.url, '--dir', 'none', ...flags);
    assert.equal(client.code, 0, client.stderr);

    // Same lines, same order; only have/need lines on stdout, progress on stderr.
    assert.equal(client.stdout, direct.stdout);
    const lines = client.stdout.split('\n');
    assert.equal(lines.pop(), '');
    for (const line of lines) assert.match(line, /^(have|need),[0-9a-f]{64}$/);
    const have = lines.filter((l) => l.startsWith('have,')).map((l) => l.slice(5));
    const need = lines.filter((l) => l.startsWith('need,')).map((l) => l.slice(5));
    assert.deepEqual(lines, [...have.map((id) => `have,${id}`), ...need.map((id) => `need,${id}`)]);
    assert.equal(lines.length, 160);
    assertSameIds(new Set(have), setOf(onlyLocal));
    assertSameIds(new Set(need), setOf(onlyRemote));
    assert.doesNotMatch(client.stderr, /(have|need),[0-9a-f]{64}/);
    assert.match(client.stderr, /sync done: have 70, need 90, downloaded 0, uploaded 0/);
    // --dir none moved nothing.
    assert.equal((await idsOf(db.store, 1007)).size, 130);

    // As in strfry, --print-missing only reconciles: with another --dir it is a usage error.
    const printAndMove = await clientSync(relay.url, '--dir', 'both', ...flags);
    assert.equal(printAndMove.code, 2, printAndMove.stderr);
    assert.match(printAndMove.stderr, /--print-missing only reconciles/);

    // A transfer both ways, then both sides are equal and a second --print-missing prints nothing.
    const both = await clientSync(
      relay.url,
      '--dir',
      'both',
      ...flags.filter((f) => f !== '--print-missing'),
    );
    assert.equal(both.code, 0, both.stderr);
    assert.equal(both.stdout, '');
    assert.match(both.stderr, /sync done: have 70, need 90, downloaded 90, uploaded 70/);
    const all = setOf([...common, ...onlyRemote, ...onlyLocal]);
    assertSameIds(await idsOf(db.store, 1007), all);
    assertSameIds(await idsOf(relay.relay.store, 1007), all);
    const again = await clientSync(relay.url, '--dir', 'none', ...flags);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, '');
  });

  it('SyncWithPeer include_ids: phase "ids" messages after reconciliation, before any transfer', async () => {
    const onlyRemote = makeEvents(30, 1008);
    const onlyLocal = makeEvents(20, 1008);
    const relay = await negRelay(onlyRemote);
    await saveAll(store, onlyLocal);
    const stream = await syncStream(client, {
      peerUrl: relay.url,
      filterJson: '{"kinds":[1008]}',
      direction: SyncDirection.SYNC_DIRECTION_BOTH,
      includeIds: true,
    });
    const phases = stream.map((p) => p.phase);
    const first = phases.indexOf('ids');
    assert.ok(first > 0, phases.join(','));
    assert.ok(
      phases.slice(0, first).every((p) => p === 'connect' || p === 'reconcile'),
      phases.join(','),
    );
    const ids = stream.filter((p) => p.phase === 'ids' && !p.complete);
    assert.equal(ids.length, 1);
    assertSameIds(new Set(ids[0]!.haveIds), setOf(onlyLocal));
    assertSameIds(new Set(ids[0]!.needIds), setOf(onlyRemote));
    assert.deepEqual([ids[0]!.haveCount, ids[0]!.needCount], [20, 30]);
    // Other messages carry no ids; without include_ids there are no id messages at all.
    for (const p of stream) if (p !== ids[0]) assert.deepEqual([p.haveIds, p.needIds], [[], []]);
    const last = stream.at(-1)!;
    assert.equal(last.complete, true, last.error);
    assert.deepEqual([last.fetchedCount, last.acceptedCount], [30, 20]);
    const plain = await syncStream(client, { peerUrl: relay.url, filterJson: '{"kinds":[1008]}' });
    assert.ok(plain.every((p) => p.phase !== 'ids' && p.haveIds.length === 0 && p.needIds.length === 0));
  });

  it('the orly-sync-negentropy binary: config errors, health, SyncWithPeer, SIGTERM', async () => {
    const bad = await runCli(SYNC_CLI, [], { ORLY_SYNC_NEGENTROPY_DB_TYPE: 'badger' });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /ORLY_SYNC_NEGENTROPY_DB_TYPE/);
    const badInterval = await runCli(SYNC_CLI, [], { ORLY_SYNC_NEGENTROPY_INTERVAL: 'often' });
    assert.equal(badInterval.code, 2);
    assert.match(badInterval.stderr, /ORLY_SYNC_NEGENTROPY_INTERVAL/);
    const badIdSize = await runCli(SYNC_CLI, [], { ORLY_SYNC_NEGENTROPY_ID_SIZE: '33' });
    assert.equal(badIdSize.code, 2);
    assert.match(badIdSize.stderr, /ORLY_SYNC_NEGENTROPY_ID_SIZE/);

    const remote = makeEvents(30, 1006);
    const relay = await negRelay(remote);
    const child = spawn(process.execPath, [SYNC_CLI], {
      env: {
        ...process.env,
        ORLY_SYNC_NEGENTROPY_LISTEN: '127.0.0.1:0',
        ORLY_SYNC_NEGENTROPY_DB_SERVER: db.address,
        ORLY_SYNC_NEGENTROPY_LOG_LEVEL: 'info',
        ORLY_SYNC_NEGENTROPY_INTERVAL: '5m',
        // The seed's default; accepted, ignored, one warning at startup.
        ORLY_SYNC_NEGENTROPY_ID_SIZE: '16',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no grpc listening line:\n${out}`)), 15_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /"port":(\d+)[^\n]*"msg":"grpc listening"/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(Number(m[1]));
          }
        });
      });
      const health = new HealthClient(`127.0.0.1:${port}`, credentials.createInsecure());
      const answer = await new Promise<{ status: number }>((resolve, reject) =>
        health.check({ service: '' }, (err, res) => (err ? reject(err) : resolve(res))),
      );
      health.close();
      assert.equal(answer.status, 1); // SERVING
      const c = new NegentropyServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
      const last = (await syncStream(c, { peerUrl: relay.url, filterJson: '{"kinds":[1006]}' })).at(-1)!;
      c.close();
      assert.equal(last.complete, true, last.error);
      assert.equal(last.fetchedCount, 30);
      assertSameIds(await idsOf(db.store, 1006), setOf(remote));
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, out);
    const warnings = out.split('\n').filter((l) => l.includes('ORLY_SYNC_NEGENTROPY_ID_SIZE'));
    assert.equal(warnings.length, 1, out);
    assert.match(warnings[0]!, /"level":"warn"/);
    assert.match(warnings[0]!, /ORLY_SYNC_NEGENTROPY_ID_SIZE=16 is ignored: NIP-77 .*full 32-byte ids/);
  });
});
