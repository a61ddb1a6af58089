/**
 * `orly sync` direct mode, end to end: the real CLI as a child process against a second relay
 * (NIP-77 enabled, 127.0.0.1 port 0, in this process), with a temp LMDB store as the local side
 * filled with real signed events. Covers down, up, both with partial overlap, a kinds filter,
 * --print-missing, a peer without negentropy, and usage errors (a bad --server, bad flags).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import type { NostrEvent } from '../../src/protocol/event.js';
import type { EventStore } from '../../src/store/event-store.js';
import { LmdbEventStore } from '../../src/store/lmdb/lmdb-store.js';
import { newKey, signedEvent, type TestKey } from '../helpers/events.js';
import { startTestRelay, type TestRelay } from '../helpers/relay-harness.js';
import { ORLY_CLI } from '../helpers/relay-process.js';
import { type RunResult, runNode } from '../helpers/run-node.js';
import { SCRIPTABLE, ScriptDir } from '../helpers/write-plugins.js';

function runCli(args: string[], timeoutMs = 30_000): Promise<RunResult> {
  return runNode(ORLY_CLI, args, { env: { ORLY_DATA_DIR: '' }, timeoutMs });
}

const key: TestKey = newKey();
/** Recent timestamps: relays refuse events too far in the past. */
const START = Math.floor(Date.now() / 1000) - 100_000;
let counter = 0;
function makeEvents(n: number, kind = 1): NostrEvent[] {
  const out: NostrEvent[] = [];
  for (let i = 0; i < n; i++) {
    counter++;
    out.push(signedEvent(key, { kind, content: `event ${counter}`, created_at: START + counter }));
  }
  return out;
}

async function saveAll(store: EventStore, events: readonly NostrEvent[]): Promise<void> {
  const results = await Promise.all(events.map((e) => store.save(e)));
  for (const r of results) assert.ok(r.stored, JSON.stringify(r));
}

async function idsOf(store: EventStore): Promise<Set<string>> {
  const items = await store.negentropyItems({}, Number.MAX_SAFE_INTEGER);
  assert.ok(items);
  const ids = new Set<string>();
  for (let i = 0; i < items.count; i++)
    ids.add(Buffer.from(items.ids.subarray(i * 32, i * 32 + 32)).toString('hex'));
  return ids;
}

const tempDirs: string[] = [];
function newDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'orly-sync-'));
  tempDirs.push(dir);
  return dir;
}

/** A local store in a temp dir holding `events`; closed so the CLI can open it. */
async function localStore(events: readonly NostrEvent[]): Promise<string> {
  const dir = newDataDir();
  const store = LmdbEventStore.open(dir);
  await saveAll(store, events);
  await store.close();
  return dir;
}

async function localIds(dir: string): Promise<Set<string>> {
  const store = LmdbEventStore.open(dir);
  try {
    return await idsOf(store);
  } finally {
    await store.close();
  }
}

const setOf = (events: readonly NostrEvent[]): Set<string> => new Set(events.map((e) => e.id));

/** Compares id sets by size, then by the ids missing on either side (short failure output). */
function assertSameIds(actual: Set<string>, expected: Set<string>): void {
  const missing = [...expected].filter((id) => !actual.has(id));
  const extra = [...actual].filter((id) => !expected.has(id));
  assert.deepEqual(
    { size: actual.size, missing: missing.length, extra: extra.length },
    { size: expected.size, missing: 0, extra: 0 },
  );
}

describe('orly sync (direct mode)', () => {
  const relays: TestRelay[] = [];
  async function negRelay(events: readonly NostrEvent[] = []): Promise<TestRelay> {
    const relay = await startTestRelay({ ORLY_NEGENTROPY_ENABLED: 'true' });
    relays.push(relay);
    await saveAll(relay.relay.store, events);
    return relay;
  }

  before(() => {
    counter = 0;
  });
  after(async () => {
    for (const r of relays) await r.stop();
    for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  });

  it('down: the local store ends up with the relay events', async () => {
    const remote = makeEvents(120);
    const relay = await negRelay(remote);
    const dir = await localStore([]);
    const res = await runCli(['sync', relay.url, '--data-dir', dir]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(
      res.stderr,
      /sync done: have 0, need 120, downloaded 120, uploaded 0 \(0 accepted \/ 0 rejected\)/,
    );
    assertSameIds(await localIds(dir), setOf(remote));
    // A second run finds nothing to do.
    const again = await runCli(['sync', relay.url, '--data-dir', dir]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /have 0, need 0, downloaded 0/);
  });

  it('down under ORLY_WRITE_POLICY_PLUGIN: sourceType Sync with the peer URL; refused events are not stored', async () => {
    const scripts = await ScriptDir.create();
    try {
      const plugin = await scripts.write('policy.js', SCRIPTABLE);
      const kept = signedEvent(key, {
        created_at: START + 90_000,
        content: JSON.stringify({ action: 'accept' }),
      });
      const refused = signedEvent(key, {
        created_at: START + 90_001,
        content: JSON.stringify({ action: 'reject', msg: 'ECHO' }),
      });
      const relay = await negRelay([kept, refused]);
      const dir = await localStore([]);
      const res = await runNode(ORLY_CLI, ['sync', relay.url, '--data-dir', dir], {
        env: { ORLY_DATA_DIR: '', ORLY_WRITE_POLICY_PLUGIN: plugin },
        timeoutMs: 30_000,
      });
      assert.equal(res.code, 0, res.stderr);
      const echoed = /refused: blocked: (\{.*\})/.exec(res.stderr);
      assert.ok(echoed, res.stderr);
      const line = JSON.parse(echoed[1]!) as { sourceType: string; sourceInfo: string };
      assert.equal(line.sourceType, 'Sync');
      assert.equal(line.sourceInfo, relay.url);
      assertSameIds(await localIds(dir), new Set([kept.id]));
    } finally {
      await scripts.remove();
    }
  });

  it('up: the relay ends up with the local events', async () => {
    const local = makeEvents(130);
    const relay = await negRelay([]);
    const dir = await localStore(local);
    const res = await runCli(['sync', relay.url, '--data-dir', dir, '--dir', 'up']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /have 130, need 0, downloaded 0, uploaded 130 \(130 accepted \/ 0 rejected\)/);
    assertSameIds(await idsOf(relay.relay.store), setOf(local));
    assert.equal((await localIds(dir)).size, 130);
  });

  it('both with partial overlap: identical sets afterwards', async () => {
    const common = makeEvents(150);
    const onlyRemote = makeEvents(200);
    const onlyLocal = makeEvents(200);
    const relay = await negRelay([...common, ...onlyRemote]);
    const dir = await localStore([...common, ...onlyLocal]);
    const res = await runCli([
      'sync',
      relay.url,
      '--data-dir',
      dir,
      '--dir',
      'both',
      '--frame-size-limit',
      '4096',
    ]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(
      res.stderr,
      /have 200, need 200, downloaded 200, uploaded 200 \(200 accepted \/ 0 rejected\)/,
    );
    const all = setOf([...common, ...onlyRemote, ...onlyLocal]);
    assertSameIds(await idsOf(relay.relay.store), all);
    assertSameIds(await localIds(dir), all);
  });

  it('--filter limits what moves (kinds)', async () => {
    const remoteNotes = makeEvents(40, 1);
    const remoteOther = makeEvents(30, 7);
    const localNotes = makeEvents(25, 1);
    const localOther = makeEvents(20, 7);
    const relay = await negRelay([...remoteNotes, ...remoteOther]);
    const dir = await localStore([...localNotes, ...localOther]);
    const res = await runCli([
      'sync',
      relay.url,
      '--data-dir',
      dir,
      '--dir',
      'both',
      '--filter',
      '{"kinds":[1]}',
    ]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /have 25, need 40, downloaded 40, uploaded 25/);
    assertSameIds(await localIds(dir), setOf([...localNotes, ...localOther, ...remoteNotes]));
    assertSameIds(await idsOf(relay.relay.store), setOf([...remoteNotes, ...remoteOther, ...localNotes]));
  });

  it('--print-missing with --dir none prints have/need lines and moves nothing', async () => {
    const common = makeEvents(10);
    const onlyRemote = makeEvents(7);
    const onlyLocal = makeEvents(5);
    const relay = await negRelay([...common, ...onlyRemote]);
    const dir = await localStore([...common, ...onlyLocal]);
    const res = await runCli(['sync', relay.url, '--data-dir', dir, '--dir', 'none', '--print-missing']);
    assert.equal(res.code, 0, res.stderr);
    const lines = res.stdout.split('\n').filter((l) => l !== '');
    for (const line of lines) assert.match(line, /^(have|need),[0-9a-f]{64}$/);
    const have = new Set(lines.filter((l) => l.startsWith('have,')).map((l) => l.slice(5)));
    const need = new Set(lines.filter((l) => l.startsWith('need,')).map((l) => l.slice(5)));
    assert.equal(lines.length, 12);
    assertSameIds(have, setOf(onlyLocal));
    assertSameIds(need, setOf(onlyRemote));
    assert.equal((await localIds(dir)).size, 15);
    assert.equal((await idsOf(relay.relay.store)).size, 17);
  });

  it('a peer without NIP-77 -> exit 1 with a clear message', async () => {
    const relay = await startTestRelay();
    relays.push(relay);
    const dir = await localStore(makeEvents(3));
    const res = await runCli(['sync', relay.url, '--data-dir', dir, '--timeout', '5']);
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /does not support NIP-77/);
  });

  it('NEG-ERR from the peer -> exit 1 with its reason', async () => {
    const relay = await startTestRelay({ ORLY_NEGENTROPY_ENABLED: 'true', ORLY_NEGENTROPY_MAX_RECORDS: '5' });
    relays.push(relay);
    await saveAll(relay.relay.store, makeEvents(10));
    const dir = await localStore([]);
    const res = await runCli(['sync', relay.url, '--data-dir', dir]);
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /NEG-ERR: blocked/);
  });

  it('a peer that never answers NEG-OPEN -> exit 1 after --timeout', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const { port } = server.address() as { port: number };
    try {
      const dir = await localStore([]);
      const res = await runCli(['sync', `ws://127.0.0.1:${port}`, '--data-dir', dir, '--timeout', '0.5']);
      assert.equal(res.code, 1, res.stderr);
      assert.match(res.stderr, /did not answer NEG-OPEN within 0.5 s/);
    } finally {
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('an unreachable peer -> exit 1', async () => {
    const dir = await localStore([]);
    const res = await runCli(['sync', 'ws://127.0.0.1:1', '--data-dir', dir, '--timeout', '5']);
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /cannot connect/);
  });

  it('usage errors exit 2: a bad --server address, bad flags', async () => {
    const dir = newDataDir();
    // --print-missing is accepted in client mode (test/services/sync-negentropy/service-orly-sync.test.ts runs it): no usage error.
    const server = await runCli([
      'sync',
      'ws://127.0.0.1:1',
      '--server',
      '127.0.0.1:1',
      '--print-missing',
      '--timeout',
      '0.5',
    ]);
    assert.equal(server.code, 1, server.stderr);
    assert.match(server.stderr, /cannot reach orly-sync-negentropy/);
    const badServer = await runCli(['sync', 'ws://127.0.0.1:1', '--server', 'nowhere']);
    assert.equal(badServer.code, 2);
    assert.match(badServer.stderr, /--server must be host:port/);
    const frame = await runCli(['sync', 'ws://127.0.0.1:1', '--frame-size-limit', '100', '--data-dir', dir]);
    assert.equal(frame.code, 2);
    assert.match(frame.stderr, /--frame-size-limit/);
    const direction = await runCli(['sync', 'ws://127.0.0.1:1', '--dir', 'sideways', '--data-dir', dir]);
    assert.equal(direction.code, 2);
    const noUrl = await runCli(['sync', '--data-dir', dir]);
    assert.equal(noUrl.code, 2);
    assert.match(noUrl.stderr, /needs a relay URL/);
  });
});
