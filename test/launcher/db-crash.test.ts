/**
 * The launcher under failure: orly-db is killed with SIGKILL while a client keeps publishing.
 * The launcher restarts it; meanwhile the relay keeps the client's connection and answers
 * OK false "error: ..." (never OK true without a durable save); it recovers by itself, and
 * every event that was acknowledged with OK true is in the store afterwards.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newKey, signedEvent } from '../helpers/events.js';
import { RawClient } from '../helpers/relay-harness.js';
import { freePort, waitFor } from './fake-service.js';
import { launcherForFile } from './launcher-process.js';

const launcher = launcherForFile('orly-launcher-crash-');

test('kill -9 of orly-db under load: restarted, no acknowledged event lost', {
  timeout: 90_000,
}, async () => {
  const dbListen = `127.0.0.1:${await freePort()}`;
  const relayPort = await freePort();
  const running = await launcher.start({
    ORLY_LAUNCHER_DB_LISTEN: dbListen,
    ORLY_LISTEN: '127.0.0.1',
    ORLY_PORT: String(relayPort),
    ORLY_VERIFY_WORKERS: '1',
    ORLY_LOG_LEVEL: 'info',
    ORLY_LAUNCHER_RESTART_BACKOFF_INITIAL: '200ms',
  });
  const [firstDb] = running.pidsOf('orly-db');
  assert.ok(firstDb, 'orly-db was started');

  const key = newKey();
  const client = await RawClient.connect(`ws://127.0.0.1:${relayPort}`);
  const acked: string[] = [];
  let refused = 0;
  const base = Math.floor(Date.now() / 1000) - 600;
  let n = 0;
  const publishBatch = async (size: number) => {
    const batch = Array.from({ length: size }, () =>
      signedEvent(key, { created_at: base + n, content: `under load ${n++}` }),
    );
    const oks = await Promise.all(batch.map((ev) => client.publish(ev)));
    for (const ok of oks) {
      if (ok[2] === true) acked.push(ok[1] as string);
      else {
        assert.match(String(ok[3]), /^error: /, 'a refusal while orly-db is down says error:');
        refused++;
      }
    }
  };
  await publishBatch(50);
  // Kill orly-db while a batch is in flight.
  const inFlight = publishBatch(50);
  process.kill(firstDb, 'SIGKILL');
  await inFlight;
  // Keep publishing until the launcher has restarted orly-db and saves succeed again.
  await waitFor(() => running.pidsOf('orly-db').length >= 2, 30_000, 'orly-db restarted');
  const deadline = Date.now() + 30_000;
  let recovered = false;
  while (Date.now() < deadline) {
    const before = acked.length;
    await publishBatch(10);
    if (acked.length - before === 10) {
      recovered = true;
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(recovered, `saves succeed again after the restart (refused so far: ${refused})`);
  assert.equal(client.closed, false, 'the client connection survived the outage');
  assert.match(
    running.output,
    /"child":"orly-db"[^\n]*restart|restart[^\n]*"child":"orly-db"/,
    'the restart is logged',
  );

  const found = new Set<string>();
  for (let i = 0; i < acked.length; i += 100) {
    for (const ev of await client.query(`q${i}`, { ids: acked.slice(i, i + 100) }))
      found.add(ev.id as string);
  }
  assert.equal(found.size, acked.length, 'every acknowledged event is stored');
  await client.close();

  assert.equal(await running.stop(), 0);
});
