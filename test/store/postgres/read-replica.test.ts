/**
 * ORLY_POSTGRES_READ_URL on a real streaming replica (a hot standby of the embedded test server):
 * queries are served by the replica while it shows every save of this store, and by the primary
 * as soon as this store wrote something the replica has not replayed (read-your-writes); a
 * replica that cannot be reached sends the queries to the primary.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import postgres from 'postgres';
import type { NormalizedFilter } from '../../../src/protocol/filter.js';
import { loadPostgresConfig } from '../../../src/store/postgres/config.js';
import { PostgresEventStore } from '../../../src/store/postgres/postgres-store.js';
import { BASE_TIME, hexOf, unsignedEvent } from '../../helpers/events.js';
import { startTestPostgres, type TestReplica } from '../../helpers/postgres.js';

const server = await startTestPostgres();
after(() => server.stop());

async function ids(store: PostgresEventStore, filter: NormalizedFilter): Promise<string[]> {
  const out: string[] = [];
  for await (const s of store.query(filter)) out.push(s.id);
  return out;
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('reads from a streaming replica', {
  skip: server.startReplica === undefined && 'needs the embedded server',
}, () => {
  let url: string;
  let replica: TestReplica;
  let standby: postgres.Sql;

  before(async () => {
    url = await server.createDatabase();
    await PostgresEventStore.migrate(loadPostgresConfig({ ORLY_POSTGRES_URL: url }));
    replica = await server.startReplica!();
    standby = postgres(replica.url(url), { max: 1, onnotice: () => {} });
  });
  after(async () => {
    await standby.end({ timeout: 1 });
    await replica.stop();
  });

  it('serves from the replica, and from the primary what this relay just wrote', async () => {
    const reader = await PostgresEventStore.open(
      loadPostgresConfig({ ORLY_POSTGRES_URL: url, ORLY_POSTGRES_READ_URL: replica.url(url) }),
    );
    const other = await PostgresEventStore.open(loadPostgresConfig({ ORLY_POSTGRES_URL: url }));
    try {
      const author = hexOf(1);
      const first = unsignedEvent(author, { content: 'first', created_at: BASE_TIME });
      assert.equal((await other.save(first)).stored, true);
      await until(
        async () => (await ids(reader, { authors: [author] })).length === 1,
        'the replica to replay',
      );
      // The replica stops replaying: another relay's save stays invisible there...
      await standby`SELECT pg_wal_replay_pause()`;
      const theirs = unsignedEvent(author, { content: 'theirs', created_at: BASE_TIME + 1 });
      assert.equal((await other.save(theirs)).stored, true);
      assert.deepEqual(await ids(reader, { authors: [author] }), [first.id], 'read from the replica');
      assert.equal((await reader.count([{ authors: [author] }])).count, 1);
      // ...but this relay's own save is read back at once, from the primary.
      const mine = unsignedEvent(author, { content: 'mine', created_at: BASE_TIME + 2 });
      assert.equal((await reader.save(mine)).stored, true);
      assert.deepEqual(await ids(reader, { authors: [author] }), [mine.id, theirs.id, first.id]);
      assert.equal((await reader.count([{ authors: [author] }])).count, 3);
      assert.equal((await reader.negentropyItems({ authors: [author] }, 10))?.count, 3);
      await standby`SELECT pg_wal_replay_resume()`;
      // Caught up: the replica serves again, with everything.
      await until(
        async () => (await ids(reader, { authors: [author] })).length === 3,
        'the replica to catch up',
      );
    } finally {
      await standby`SELECT pg_wal_replay_resume()`.catch(() => {});
      await reader.close();
      await other.close();
    }
  });

  it('a replica that cannot be reached sends the queries to the primary', async () => {
    const reader = await PostgresEventStore.open(
      loadPostgresConfig({
        ORLY_POSTGRES_URL: url,
        ORLY_POSTGRES_READ_URL: 'postgres://orly:x@127.0.0.1:9/none',
      }),
    );
    try {
      const event = unsignedEvent(hexOf(2), { content: 'x' });
      assert.equal((await reader.save(event)).stored, true);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.deepEqual(await ids(reader, { ids: [event.id] }), [event.id]);
      assert.equal((await reader.count([{ ids: [event.id] }])).count, 1);
    } finally {
      await reader.close();
    }
  });
});
