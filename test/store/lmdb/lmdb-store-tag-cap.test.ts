/**
 * Per-event index entries are bounded: the LMDB store refuses an event with more distinct
 * single-letter tag values than maxIndexedTags (ORLY_MAX_INDEXED_TAGS, default 2000), so every
 * stored event is indexed completely and a REQ on any of its tags finds it whichever index the
 * query planner picks. Before the cap, 20 events with 10,000 `e` tags each grew the store by
 * 54-85 MB (five to six times their JSON); now they are refused and the store does not grow,
 * and 20 events at the cap grow it by a bounded amount. The relay's ORLY_MAX_EVENT_TAGS default
 * is 2000 too (strfry's), so relay clients meet that limit first.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Reasons } from '../../../src/errors.js';
import { createLogger } from '../../../src/logger.js';
import type { NostrEvent } from '../../../src/protocol/event.js';
import { loadRelayConfig } from '../../../src/relay/config.js';
import { GrpcEventStore } from '../../../src/store/grpc/grpc-event-store.js';
import { loadLmdbStoreConfig } from '../../../src/store/lmdb/config.js';
import { LmdbEventStore } from '../../../src/store/lmdb/lmdb-store.js';
import { startInProcessDb, TRUSTED } from '../../contract/grpc-harness.js';
import { fastKey, fastSign } from '../../helpers/fast-sign.js';
import { rejected, stored, tags, useTempStore } from './lmdb-store-fixtures.js';

const BASE = 1_700_000_000;
const key = fastKey();

function eTagged(
  count: number,
  i: number,
  values = (): string => randomBytes(32).toString('hex'),
): NostrEvent {
  return fastSign(key, {
    created_at: BASE + i,
    tags: Array.from({ length: count }, () => ['e', values()]),
    content: `event ${i}`,
  });
}

describe('the tag index cap', () => {
  const db = useTempStore();

  test('20 events with 10,000 e tags each: refused, the store does not grow', async () => {
    const before = (await db.store.stats()).bytes;
    for (let i = 0; i < 20; i++)
      rejected(await db.store.save(eTagged(10_000, i)), Reasons.tooManyIndexedTags(10_000, 2000));
    const after = await db.store.stats();
    assert.equal(after.events, 0);
    assert.ok(after.bytes - before < 64 * 1024, `grew by ${after.bytes - before} bytes`);
  });

  test('20 events at the cap (2000 e tags): stored, growth bounded, every tag searchable', async () => {
    const before = (await db.store.stats()).bytes;
    const events = Array.from({ length: 20 }, (_, i) => eTagged(2000, i));
    for (const event of events) stored(await db.store.save(event));
    const raw = events.reduce((sum, e) => sum + JSON.stringify(e).length, 0);
    const growth = (await db.store.stats()).bytes - before;
    // Measured ~17 MB for 2.9 MB of JSON (each entry ~83-byte key in a B-tree); the 10,000-tag
    // events above would have taken 85 MB.
    assert.ok(growth < 24 * 1024 * 1024, `grew by ${growth} bytes for ${raw} bytes of JSON`);
    const last = events[19]!;
    const lastValue = last.tags[1999]![1]!;
    // The tag index, and the author+kind index with the tag checked on the event: same answer.
    assert.deepEqual(await db.ids({ tags: tags({ e: [lastValue] }) }), [last.id]);
    assert.deepEqual(await db.ids({ authors: [key.pubkey], kinds: [1], tags: tags({ e: [lastValue] }) }), [
      last.id,
    ]);
  });

  test('distinct values count: repeated values, multi-letter names and value-less tags do not', async () => {
    const few = ['a', 'b', 'c'].map((c) => c.repeat(64));
    let n = 0;
    const repeated = eTagged(3000, 0, () => few[n++ % 3]!);
    const event = fastSign(key, {
      created_at: BASE,
      tags: [...repeated.tags, ...Array.from({ length: 2500 }, (_, i) => ['client', `x${i}`]), ['p']],
    });
    stored(await db.store.save(event));
  });
});

test('maxIndexedTags is configurable (ORLY_MAX_INDEXED_TAGS), invalid values name it', async () => {
  assert.deepEqual(loadLmdbStoreConfig({}), { maxIndexedTags: 2000, writerThread: true });
  assert.deepEqual(loadLmdbStoreConfig({ ORLY_MAX_INDEXED_TAGS: '10', ORLY_LMDB_WRITER_THREAD: 'false' }), {
    maxIndexedTags: 10,
    writerThread: false,
  });
  assert.throws(() => loadLmdbStoreConfig({ ORLY_MAX_INDEXED_TAGS: '0' }), /ORLY_MAX_INDEXED_TAGS/);
  assert.throws(() => loadLmdbStoreConfig({ ORLY_LMDB_WRITER_THREAD: 'maybe' }), /ORLY_LMDB_WRITER_THREAD/);
  assert.equal(loadRelayConfig({}).limits.maxEventTags, 2000);
  // In the event loop, and on the writer thread (with a logger, as the relay and orly-db open it).
  for (const logger of [undefined, createLogger('silent')]) {
    const dir = mkdtempSync(join(tmpdir(), 'orly-tag-cap-'));
    const store = LmdbEventStore.open(dir, {
      ...loadLmdbStoreConfig({ ORLY_MAX_INDEXED_TAGS: '10' }),
      ...(logger === undefined ? {} : { logger }),
    });
    try {
      stored(await store.save(eTagged(10, 0)));
      rejected(await store.save(eTagged(11, 1)), Reasons.tooManyIndexedTags(11, 10));
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('orly-db answers the same reason to its clients', async () => {
  const db = await startInProcessDb({ security: TRUSTED });
  const client = await GrpcEventStore.connect(db.address, { security: TRUSTED });
  try {
    rejected(await client.save(eTagged(2001, 0)), Reasons.tooManyIndexedTags(2001, 2000));
  } finally {
    await client.close();
    await db.stop();
  }
});
