/**
 * The real `orly-db` CLI with ORLY_DB_BACKEND=postgres (a real server: test/helpers/postgres.ts),
 * as child processes: it migrates and serves the database; two of them over one database deliver
 * each other's events to their clients' watches; SIGTERM exits 0; a missing ORLY_POSTGRES_URL
 * exits 2 naming it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, test } from 'node:test';
import type { StoredEvent } from '../../../src/store/event-store.js';
import { GrpcEventStore } from '../../../src/store/grpc/grpc-event-store.js';
import {
  type DbProcess,
  eventually,
  ORLY_DB_CLI,
  spawnOrlyDb,
  TEST_TOKEN,
  TRUSTED,
} from '../../contract/grpc-harness.js';
import { BASE_TIME, hexOf, unsignedEvent } from '../../helpers/events.js';
import { startTestPostgres } from '../../helpers/postgres.js';

const server = await startTestPostgres();
const children: DbProcess[] = [];
after(async () => {
  for (const child of children) await child.stop('SIGKILL');
  await server.stop();
});

async function orlyDb(url: string): Promise<DbProcess> {
  const child = await spawnOrlyDb({
    ORLY_GRPC_TOKEN: TEST_TOKEN,
    ORLY_DB_BACKEND: 'postgres',
    ORLY_POSTGRES_URL: url,
  });
  children.push(child);
  return child;
}

test('two orly-db on one database: each serves it, and delivers what the other stored', async () => {
  const url = await server.createDatabase();
  const [one, two] = await Promise.all([orlyDb(url), orlyDb(url)]);
  const a = await GrpcEventStore.connect(one.address, { connectTimeoutMs: 5000, security: TRUSTED });
  const b = await GrpcEventStore.connect(two.address, { connectTimeoutMs: 5000, security: TRUSTED });
  try {
    const seen: StoredEvent[] = [];
    const stop = a.watch((s) => seen.push(s));
    // The watch is live once a probe stored through the other orly-db arrives.
    const probes: string[] = [];
    for (let i = 0; i < 50 && !seen.some((s) => probes.includes(s.event.id)); i++) {
      const probe = unsignedEvent(hexOf(1), { content: `probe ${i}`, created_at: BASE_TIME + i });
      probes.push(probe.id);
      assert.equal((await b.save(probe)).stored, true);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const event = unsignedEvent(hexOf(2), { content: 'through orly-db two' });
    assert.equal((await b.save(event)).stored, true);
    await eventually(() => seen.some((s) => s.event.id === event.id), 5000, 'the event at orly-db one');
    assert.equal((await a.getById(event.id))?.event.id, event.id, 'served by orly-db one');
    stop();
  } finally {
    await a.close();
    await b.close();
  }
  assert.equal(await one.stop('SIGTERM'), 0);
  assert.equal(await two.stop('SIGTERM'), 0);
});

test('ORLY_DB_BACKEND=postgres without ORLY_POSTGRES_URL exits 2 naming it', () => {
  const run = spawnSync(process.execPath, [ORLY_DB_CLI], {
    env: {
      ...process.env,
      ORLY_DB_BACKEND: 'postgres',
      ORLY_POSTGRES_URL: '',
      ORLY_DB_LISTEN: '127.0.0.1:0',
    },
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(run.status, 2, run.stderr);
  assert.match(run.stderr, /ORLY_POSTGRES_URL/);
  const bad = spawnSync(process.execPath, [ORLY_DB_CLI], {
    env: { ...process.env, ORLY_DB_BACKEND: 'mongo', ORLY_DB_LISTEN: '127.0.0.1:0' },
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /ORLY_DB_BACKEND/);
});
