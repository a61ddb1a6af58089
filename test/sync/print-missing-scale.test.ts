/**
 * `orly sync --server --print-missing` with 1,000,000 differing ids: the service streams them in
 * messages of at most 5,000 ids, so the stream works within gRPC's default 4 MiB message limit
 * (checked with a client on default options) and the CLI prints every `need,<id>` line once.
 *
 * The peer is a NIP-77 responder of our negentropy code over 1,000,000 synthetic (created_at,
 * id) items behind a plain WebSocket server on 127.0.0.1 (signing and storing a million events
 * would dominate the test); the service runs in this process over real gRPC with an empty LMDB
 * store, and `--dir none` moves no events.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { credentials } from '@grpc/grpc-js';
import { WebSocketServer } from 'ws';
import {
  NegentropyServiceClient,
  SyncDirection,
  type SyncProgress,
} from '../../src/gen/orlysync/negentropy/v1/negentropy.js';
import { createLogger } from '../../src/logger.js';
import { Responder } from '../../src/negentropy/codec/reconcile.js';
import { SealedVector } from '../../src/negentropy/codec/storage.js';
import { fromHex, toHex } from '../../src/negentropy/codec/types.js';
import { type NegentropyServer, startNegentropyServer } from '../../src/services/sync-negentropy/server.js';
import { LmdbEventStore } from '../../src/store/lmdb/lmdb-store.js';
import { ORLY_CLI } from '../helpers/relay-process.js';
import { testSyncConfig } from '../helpers/sync-config.js';

const N = 1_000_000;

/** A WebSocket peer answering NEG-OPEN / NEG-MSG from `storage` (500,000-byte frames, like our relay). */
async function negentropyPeer(storage: SealedVector): Promise<{ url: string; close(): Promise<void> }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 64 * 1024 * 1024 });
  server.on('connection', (ws) => {
    const sessions = new Map<string, Responder>();
    ws.on('message', (data) => {
      const [type, subId, ...rest] = JSON.parse(data.toString()) as [string, string, ...unknown[]];
      if (type === 'NEG-CLOSE') sessions.delete(subId);
      if (type !== 'NEG-OPEN' && type !== 'NEG-MSG') return;
      if (type === 'NEG-OPEN') sessions.set(subId, new Responder(storage, { frameSizeLimit: 500_000 }));
      const responder = sessions.get(subId);
      const hex = rest[type === 'NEG-OPEN' ? 1 : 0] as string;
      if (responder === undefined) ws.send(JSON.stringify(['NEG-ERR', subId, 'closed: unknown']));
      else ws.send(JSON.stringify(['NEG-MSG', subId, toHex(responder.reconcile(fromHex(hex)))]));
    });
  });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}`,
    close: async () => {
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('--print-missing in client mode with 1,000,000 ids', () => {
  const ids = randomBytes(N * 32);
  let expected: Set<string>;
  let dir: string;
  let store: LmdbEventStore;
  let svc: NegentropyServer;
  let peer: Awaited<ReturnType<typeof negentropyPeer>>;

  before(async () => {
    const timestamps = new Float64Array(N);
    const start = Math.floor(Date.now() / 1000) - N;
    for (let i = 0; i < N; i++) timestamps[i] = start + i;
    peer = await negentropyPeer(SealedVector.fromSorted({ count: N, timestamps, ids }));
    expected = new Set();
    for (let i = 0; i < N; i++) expected.add(ids.toString('hex', i * 32, i * 32 + 32));
    dir = mkdtempSync(join(tmpdir(), 'orly-printmissing-'));
    store = LmdbEventStore.open(dir);
    svc = await startNegentropyServer({
      listen: '127.0.0.1:0',
      store,
      logger: createLogger('silent'),
      sync: testSyncConfig({ dir: 'none', timeoutMs: 30_000 }),
    });
  });

  after(async () => {
    await svc?.stop();
    await peer?.close();
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a client with gRPC default limits receives every id, in messages of at most 5,000', async () => {
    // No channel options: the default 4 MiB receive limit.
    const client = new NegentropyServiceClient(svc.address, credentials.createInsecure());
    try {
      let messages = 0;
      let largest = 0;
      const seen = new Set<string>();
      const last = await new Promise<SyncProgress | undefined>((resolve, reject) => {
        let final: SyncProgress | undefined;
        const call = client.syncWithPeer({
          peerUrl: peer.url,
          filterJson: '',
          direction: SyncDirection.SYNC_DIRECTION_NONE,
          frameSizeLimit: 0,
          timeoutMs: 0,
          includeIds: true,
        });
        call.on('data', (p: SyncProgress) => {
          final = p;
          if (p.phase !== 'ids') return;
          messages++;
          largest = Math.max(largest, p.haveIds.length + p.needIds.length);
          assert.equal(p.haveIds.length, 0);
          for (const id of p.needIds) seen.add(id);
        });
        call.on('error', reject);
        call.on('end', () => resolve(final));
      });
      assert.equal(last?.complete, true, last?.error);
      assert.equal(last?.needCount, N);
      assert.equal(largest, 5000);
      assert.equal(messages, N / 5000);
      assert.equal(seen.size, N);
      for (const id of seen) assert.ok(expected.has(id));
    } finally {
      client.close();
    }
  });

  it('orly sync --server --print-missing prints 1,000,000 need lines', async () => {
    const child = spawn(
      process.execPath,
      [ORLY_CLI, 'sync', peer.url, '--server', svc.address, '--dir', 'none', '--print-missing'],
      { env: { ...process.env, ORLY_DATA_DIR: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    const remaining = new Set(expected);
    let lines = 0;
    let bad = 0;
    try {
      for await (const line of createInterface({ input: child.stdout })) {
        lines++;
        if (!line.startsWith('need,') || !remaining.delete(line.slice(5))) bad++;
      }
    } finally {
      clearTimeout(timer);
    }
    assert.equal(await exited, 0, stderr);
    assert.deepEqual({ lines, bad, missing: remaining.size }, { lines: N, bad: 0, missing: 0 });
    assert.match(stderr, /sync done: have 0, need 1000000, downloaded 0, uploaded 0/);
  });
});
