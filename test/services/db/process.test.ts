/**
 * The real `orly-db` CLI as a child process (port 0, learned from its "grpc listening" log line,
 * stopped by PID): SIGTERM exits 0 even with long-lived streams open; kill -9 while saves are in
 * flight resolves every save (never a hang, never stored=true without the server's answer), every
 * acknowledged event is there after a restart on the same data dir, and the SAME client instance
 * recovers by itself (save stream and watch stream). Calls fail fast while the server is down.
 * Configuration errors name the variable and exit 2.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { after, test } from 'node:test';
import type { SaveResult, StoredEvent } from '../../../src/store/event-store.js';
import { GrpcEventStore } from '../../../src/store/grpc/grpc-event-store.js';
import {
  type DbProcess,
  eventually,
  ORLY_DB_CLI,
  spawnOrlyDb,
  TEST_TOKEN,
  TRUSTED,
  tempDir,
} from '../../contract/grpc-harness.js';
import { BASE_TIME, newKey, signedEvent, unsignedEvent } from '../../helpers/events.js';

const dirs: string[] = [];
const children: DbProcess[] = [];
after(async () => {
  for (const child of children) await child.stop('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function spawnDb(env: Record<string, string>): Promise<DbProcess> {
  const child = await spawnOrlyDb({ ORLY_GRPC_TOKEN: TEST_TOKEN, ...env });
  children.push(child);
  return child;
}

test('SIGTERM stops gracefully (exit 0) with save and watch streams open', async () => {
  const dir = tempDir();
  dirs.push(dir);
  const db = await spawnDb({ ORLY_DATA_DIR: dir });
  const store = await GrpcEventStore.connect(db.address, { security: TRUSTED });
  const stopWatch = store.watch(() => {});
  try {
    assert.equal((await store.save(signedEvent(newKey()))).stored, true);
    const started = Date.now();
    assert.equal(await db.stop('SIGTERM'), 0);
    assert.ok(Date.now() - started < 4000, `stopped in ${Date.now() - started} ms`);
    assert.match(db.output(), /"msg":"orly-db stopped"/);
  } finally {
    stopWatch();
    await store.close();
  }
});

test('kill -9 during saves: every save resolves, acknowledged events survive, the client recovers', async (t) => {
  const dir = tempDir();
  dirs.push(dir);
  const first = await spawnDb({ ORLY_DATA_DIR: dir });
  const address = first.address;
  const store = await GrpcEventStore.connect(address, {
    saveTimeoutMs: 10_000,
    deadlineMs: 2000,
    security: TRUSTED,
  });
  const watcher = await GrpcEventStore.connect(address, { security: TRUSTED });
  const watched: StoredEvent[] = [];
  const stopWatch = watcher.watch((event) => watched.push(event));
  try {
    const alice = newKey();
    let n = 0;
    let killed = false;
    const saves: Promise<SaveResult>[] = [];
    const events = new Map<Promise<SaveResult>, string>();
    let acked = 0;
    // Keep up to 400 saves in flight until the server is killed.
    const producer = (async () => {
      while (!killed) {
        while (!killed && saves.length - acked < 400) {
          const event = unsignedEvent(alice.pubkey, { content: `k${n}`, created_at: BASE_TIME + (n % 1000) });
          n++;
          const p = store.save(event);
          p.then((r) => {
            if (r.stored) acked++;
          });
          saves.push(p);
          events.set(p, event.id);
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    await eventually(() => acked >= 1000, 20_000, '1000 acknowledged saves');
    assert.equal(await first.stop('SIGKILL'), null, 'killed by the signal');
    killed = true;
    await producer;

    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([
      Promise.all(saves),
      new Promise<'hang'>((r) => {
        timer = setTimeout(() => r('hang'), 8000);
      }),
    ]);
    clearTimeout(timer);
    assert.notEqual(settled, 'hang', 'every save resolved');
    const results = settled as SaveResult[];
    const ackedIds: string[] = [];
    let failed = 0;
    results.forEach((r, i) => {
      if (r.stored) ackedIds.push(events.get(saves[i]!)!);
      else {
        failed++;
        assert.match(r.reason, /^error: database unavailable \(/);
      }
    });
    assert.ok(ackedIds.length >= 1000);
    t.diagnostic(`${ackedIds.length} saves acknowledged, ${failed} answered "unavailable" by the kill`);

    // While orly-db is down: calls fail fast, saves resolve stored=false, isOpen turns false.
    await eventually(() => !store.isOpen(), 5000, 'isOpen() to turn false');
    const t0 = Date.now();
    await assert.rejects(store.stats(), /database unavailable/);
    const down = await store.save(signedEvent(alice, { content: 'while down' }));
    assert.equal(down.stored, false);
    assert.ok(Date.now() - t0 < 1500, `failed fast (${Date.now() - t0} ms)`);

    // Restart on the same port and data dir; the same client instances recover by themselves.
    const second = await spawnDb({ ORLY_DATA_DIR: dir, ORLY_DB_LISTEN: address });
    let recovered: SaveResult | undefined;
    await eventually(
      async () => {
        recovered = await store.save(
          signedEvent(alice, { content: 'after restart', created_at: BASE_TIME + 5000 }),
        );
        return recovered.stored;
      },
      10_000,
      'a save to succeed after the restart',
    );
    await eventually(() => store.isOpen(), 5000, 'isOpen() to turn true');

    const found = new Set<string>();
    for (let i = 0; i < ackedIds.length; i += 500) {
      for await (const s of store.query({ ids: ackedIds.slice(i, i + 500) })) found.add(s.event.id);
    }
    assert.equal(
      found.size,
      ackedIds.length,
      `all ${ackedIds.length} acknowledged events survived (${failed} failed)`,
    );

    // The watch stream was re-established: an event saved by the other client arrives.
    const marker = signedEvent(alice, { content: 'watch again', created_at: BASE_TIME + 6000 });
    await eventually(
      async () => {
        if (watched.some((e) => e.event.id === marker.id)) return true;
        await store.deleteByIds([marker.id]);
        await store.save(marker);
        await new Promise((r) => setTimeout(r, 200));
        return watched.some((e) => e.event.id === marker.id);
      },
      10_000,
      'the watcher to see an event saved after the restart',
    );
    assert.equal(await second.stop('SIGTERM'), 0);
  } finally {
    stopWatch();
    await watcher.close();
    await store.close();
  }
});

test('configuration errors name the variable and exit 2', () => {
  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, [ORLY_DB_CLI], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 10_000,
    });
  const listen = run({ ORLY_DB_LISTEN: 'no-port' });
  assert.equal(listen.status, 2);
  assert.match(listen.stderr, /ORLY_DB_LISTEN/);
  const level = run({ ORLY_DB_LISTEN: '127.0.0.1:0', ORLY_DB_LOG_LEVEL: 'loud' });
  assert.equal(level.status, 2);
  assert.match(level.stderr, /ORLY_DB_LOG_LEVEL/);
  const token = run({ ORLY_DB_LISTEN: '127.0.0.1:0', ORLY_GRPC_TOKEN: 'short' });
  assert.equal(token.status, 2);
  assert.match(token.stderr, /ORLY_GRPC_TOKEN/);
});
