/**
 * Durability: every event acknowledged with OK true survives a SIGKILL of the relay process.
 * Also: SIGTERM shuts down gracefully (exit 0) and the data is still there.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { finalizeEvent, generateSecretKey } from 'nostr-tools';
import { RawClient } from '../helpers/relay-harness.js';
import { spawnRelay } from '../helpers/relay-process.js';

const dataDir = mkdtempSync(join(tmpdir(), 'orly-durability-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

test('events acknowledged with OK true survive SIGKILL', async () => {
  const sk = generateSecretKey();
  const now = Math.floor(Date.now() / 1000);
  const events = Array.from({ length: 300 }, (_, i) =>
    finalizeEvent({ kind: 1, created_at: now - i, tags: [['t', 'durable']], content: `durable ${i}` }, sk),
  );
  const first = await spawnRelay({ ORLY_DATA_DIR: dataDir });
  const acked: string[] = [];
  try {
    const client = await RawClient.connect(first.url);
    // Publish everything at once: the store batches commits, and each OK must still mean durable.
    for (const ev of events) client.send(['EVENT', ev]);
    for (const ev of events) {
      const ok = await client.next((f) => f[0] === 'OK' && f[1] === ev.id);
      if (ok[2] === true) acked.push(ev.id);
    }
    client.ws.terminate();
  } finally {
    assert.equal(await first.stop('SIGKILL'), null, 'relay was killed by the signal');
  }
  assert.equal(acked.length, events.length, 'every event was acknowledged');

  const second = await spawnRelay({ ORLY_DATA_DIR: dataDir });
  try {
    const client = await RawClient.connect(second.url);
    const found = new Set<string>();
    for (let i = 0; i < acked.length; i += 100) {
      const got = await client.query(`q${i}`, { ids: acked.slice(i, i + 100) });
      for (const ev of got) found.add(ev.id as string);
    }
    assert.equal(found.size, acked.length, 'every acknowledged event is found after restart');
    await client.close();
  } finally {
    assert.equal(await second.stop('SIGTERM'), 0, 'SIGTERM exits 0');
  }
});

test('SIGTERM notifies clients, exits 0 and keeps the data', async () => {
  const relay = await spawnRelay({ ORLY_DATA_DIR: dataDir });
  const client = await RawClient.connect(relay.url);
  const ev = finalizeEvent(
    { kind: 1, created_at: Math.floor(Date.now() / 1000), tags: [], content: 'before shutdown' },
    generateSecretKey(),
  );
  assert.deepEqual((await client.publish(ev)).slice(2), [true, '']);
  const notice = client.nextOfType('NOTICE');
  const code = relay.stop('SIGTERM');
  assert.match((await notice)[1], /shutting down/);
  assert.equal(await code, 0);
  assert.match(relay.output(), /"msg":"relay stopped"/);

  const again = await spawnRelay({ ORLY_DATA_DIR: dataDir });
  try {
    const c2 = await RawClient.connect(again.url);
    const got = await c2.query('x', { ids: [ev.id] });
    assert.equal(got.length, 1);
    await c2.close();
  } finally {
    await again.stop();
  }
});
