/**
 * The PostgreSQL store's migrations on a real server: applied once (a second start changes
 * nothing), a database migrated by a newer relay is refused, and a database restored into a
 * cluster whose transaction ids are lower than its serials keeps its serials increasing.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import postgres from 'postgres';
import { loadPostgresConfig } from '../../../src/store/postgres/config.js';
import { PostgresEventStore } from '../../../src/store/postgres/postgres-store.js';
import { BASE_TIME, hexOf, unsignedEvent } from '../../helpers/events.js';
import { startTestPostgres } from '../../helpers/postgres.js';

const server = await startTestPostgres();
after(() => server.stop());

test('migrations are applied once; a newer schema is refused', async () => {
  const config = loadPostgresConfig({ ORLY_POSTGRES_URL: await server.createDatabase() });
  assert.deepEqual(await PostgresEventStore.migrate(config), { applied: [1], version: 1 });
  assert.deepEqual(await PostgresEventStore.migrate(config), { applied: [], version: 1 });
  const sql = postgres(config.url, { max: 1, onnotice: () => {} });
  try {
    await sql`INSERT INTO schema_migrations (version, name) VALUES (999, 'from the future')`;
    await assert.rejects(
      PostgresEventStore.open(config),
      /schema is version 999, newer than this relay knows \(1\)/,
    );
  } finally {
    await sql.end({ timeout: 1 });
  }
});

test('a restored database: new serials stay above the stored ones', async () => {
  const config = loadPostgresConfig({ ORLY_POSTGRES_URL: await server.createDatabase() });
  let store = await PostgresEventStore.open(config);
  const sql = postgres(config.url, { max: 1, onnotice: () => {} });
  try {
    const first = unsignedEvent(hexOf(1), { content: 'before the restore', created_at: BASE_TIME });
    assert.equal((await store.save(first)).stored, true);
    await store.close();
    // As if restored from a dump into a younger cluster: the stored serial is far above its xids.
    const high = 1_000_000_000_000;
    await sql`UPDATE events SET serial = ${high}`;
    await sql`UPDATE tags SET serial = ${high}`;
    store = await PostgresEventStore.open(config);
    const second = unsignedEvent(hexOf(1), { content: 'after the restore', created_at: BASE_TIME + 1 });
    const saved = await store.save(second);
    assert.ok(saved.stored && saved.serial > high, `serial ${saved.stored && saved.serial}`);
    const order: string[] = [];
    for await (const s of store.eventsSince(0, 10)) order.push(s.id);
    assert.deepEqual(order, [first.id, second.id]);
    assert.equal(await store.lastSerial(), saved.stored ? saved.serial : -1);
  } finally {
    await sql.end({ timeout: 1 });
    await store.close();
  }
});
