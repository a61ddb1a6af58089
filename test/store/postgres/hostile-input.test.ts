/**
 * The PostgreSQL store with hostile input, on a real server: filter values a parsed filter never
 * holds but another caller might (non-integer kinds and limits, NaN bounds, non-string tag
 * values, multi-letter tag names), long lists, and events with values the schema must take as
 * they come (a 100 KB tag value, a 10 KB `d`, NUL characters). Nothing throws; each answer is the
 * one matchFilter gives.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { NormalizedFilter } from '../../../src/protocol/filter.js';
import { loadPostgresConfig } from '../../../src/store/postgres/config.js';
import { PostgresEventStore } from '../../../src/store/postgres/postgres-store.js';
import { BASE_TIME, hexOf, unsignedEvent } from '../../helpers/events.js';
import { startTestPostgres } from '../../helpers/postgres.js';

const server = await startTestPostgres();
after(() => server.stop());

async function ids(store: PostgresEventStore, filter: NormalizedFilter): Promise<string[]> {
  const out: string[] = [];
  for await (const s of store.query(filter)) out.push(s.id);
  return out;
}

test('odd filter values answer as matchFilter would, never an error', async () => {
  const store = await PostgresEventStore.open(
    loadPostgresConfig({ ORLY_POSTGRES_URL: await server.createDatabase() }),
  );
  try {
    const author = hexOf(1);
    const a = unsignedEvent(author, { content: 'a', tags: [['t', 'x']], created_at: BASE_TIME });
    const b = unsignedEvent(author, { content: 'b', kind: 7, created_at: BASE_TIME + 1 });
    for (const e of [a, b]) assert.equal((await store.save(e)).stored, true);
    const odd = <T>(value: unknown) => value as T;
    assert.deepEqual(await ids(store, { kinds: [1.5, -1, 70_000, 2 ** 40] }), []);
    assert.deepEqual(await ids(store, { kinds: [1.5, 7] }), [b.id]);
    assert.deepEqual(await ids(store, { since: Number.NaN, until: Number.NaN }), [b.id, a.id]);
    assert.deepEqual(await ids(store, { since: BASE_TIME + 0.5 }), [b.id]);
    assert.deepEqual(await ids(store, { until: Number.POSITIVE_INFINITY, since: -1e300 }), [b.id, a.id]);
    assert.deepEqual(await ids(store, { limit: 1.7 }), [b.id]);
    assert.deepEqual(await ids(store, { limit: Number.MAX_SAFE_INTEGER }), [b.id, a.id]);
    assert.deepEqual(await ids(store, { tags: new Map([['t', odd<string[]>([42, 'x'])]]) }), [a.id]);
    assert.deepEqual(await ids(store, { tags: new Map([['tt', ['x']]]) }), []);
    assert.deepEqual(await ids(store, { ids: ['not hex', a.id.toUpperCase(), a.id] }), [a.id]);
    const many = Array.from({ length: 20_000 }, (_, i) => hexOf(i + 100));
    assert.deepEqual(await ids(store, { authors: [...many, author], kinds: [1] }), [a.id]);
    assert.deepEqual(await store.count([{ kinds: [1.5] }, { authors: many }]), {
      count: 0,
      approximate: false,
    });
    assert.equal((await store.negentropyItems({}, Number.POSITIVE_INFINITY))?.count, 2);
    assert.equal(await store.negentropyItems({}, -5), undefined);
    const since: string[] = [];
    for await (const s of store.eventsSince(Number.NaN, Number.POSITIVE_INFINITY)) since.push(s.id);
    assert.deepEqual(since, [a.id, b.id]);
  } finally {
    await store.close();
  }
});

test('long and odd values are stored and found exactly', async () => {
  const store = await PostgresEventStore.open(
    loadPostgresConfig({ ORLY_POSTGRES_URL: await server.createDatabase() }),
  );
  try {
    const author = hexOf(2);
    const long = 'v'.repeat(100_000);
    const nul = 'a\u0000b';
    const d = 'd'.repeat(10_000);
    const tagged = unsignedEvent(author, {
      tags: [
        ['t', long],
        ['r', nul],
        ['e', hexOf(9)],
      ],
      content: 'x\u0000y',
    });
    const v1 = unsignedEvent(author, { kind: 30023, tags: [['d', d]], created_at: BASE_TIME });
    const v2 = unsignedEvent(author, { kind: 30023, tags: [['d', d]], created_at: BASE_TIME + 1 });
    for (const e of [tagged, v1]) assert.equal((await store.save(e)).stored, true);
    const replaced = await store.save(v2);
    assert.deepEqual(replaced.stored && replaced.removed, [v1.id]);
    assert.deepEqual(await ids(store, { tags: new Map([['t', [long]]]) }), [tagged.id]);
    assert.deepEqual(await ids(store, { tags: new Map([['t', [`${long}w`]]]) }), []);
    assert.deepEqual(await ids(store, { tags: new Map([['r', [nul]]]) }), [tagged.id]);
    assert.deepEqual(await ids(store, { tags: new Map([['d', [d]]]) }), [v2.id]);
    assert.equal((await store.getById(tagged.id))?.event.content, 'x\u0000y');
    const deletion = unsignedEvent(author, {
      kind: 5,
      tags: [['a', `30023:${author}:${d}`]],
      created_at: BASE_TIME + 1,
    });
    assert.deepEqual((await store.save(deletion)).stored && (await store.getById(v2.id)), undefined);
  } finally {
    await store.close();
  }
});
