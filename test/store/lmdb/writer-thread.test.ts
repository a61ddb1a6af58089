/**
 * The LMDB store's writer thread (src/store/lmdb/writer/): saves from many callers at once are
 * committed in batches, each answered once durable (found after close and reopen, serials in
 * the order of the answers), what was answered is readable at once in this thread, and a writer
 * that cannot run answers its saves with `error:` (never leaves them waiting) and is respawned
 * until it can.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createLogger } from '../../../src/logger.js';
import { serializeEvent } from '../../../src/protocol/event.js';
import type { SaveResult } from '../../../src/store/event-store.js';
import { LmdbEventStore } from '../../../src/store/lmdb/lmdb-store.js';
import { WriterThread } from '../../../src/store/lmdb/writer/writer-thread.js';
import { tempDir } from '../../contract/grpc-harness.js';
import { BASE_TIME, newKey, signedEvent } from '../../helpers/events.js';

const logger = createLogger('silent');

describe('LmdbEventStore on its writer thread', () => {
  test('many saves at once: each answered once committed, readable at once, durable', async () => {
    const dir = tempDir('orly-writer-');
    try {
      let store = LmdbEventStore.open(dir, { writerThread: true, logger });
      const alice = newKey();
      const events = Array.from({ length: 500 }, (_, i) => signedEvent(alice, { created_at: BASE_TIME + i }));
      const results = await Promise.all(events.map((e) => store.save(e)));
      const serials = results.map((r) => (r.stored && !r.duplicate ? r.serial : -1));
      assert.deepEqual(
        [...serials].sort((a, b) => a - b),
        Array.from({ length: 500 }, (_, i) => i + 1),
      );
      assert.equal(await store.lastSerial(), 500);
      // Answered means visible to this thread's next read.
      assert.equal((await store.getById(events[499]!.id))?.serial, serials[499]);
      const again = await store.save(events[0]!);
      assert.ok(again.stored && again.duplicate, 'a second save of the same event is a duplicate');
      await store.close();
      store = LmdbEventStore.open(dir);
      assert.equal((await store.stats()).events, 500);
      assert.equal(await store.lastSerial(), 500);
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a writer that cannot open the store answers error:, and a respawned one saves', async () => {
    const parent = tempDir('orly-writer-');
    // A directory where the data file should be: LMDB cannot open it until it is gone.
    const dataFile = join(parent, 'orly.lmdb');
    mkdirSync(dataFile);
    const writer = new WriterThread({
      dataFile,
      maxIndexedTags: 2000,
      logger,
      onCommitted: () => {},
    });
    try {
      const raw = serializeEvent(signedEvent(newKey(), { created_at: BASE_TIME }));
      const first: SaveResult = await writer.save(raw);
      assert.equal(first.stored, false);
      assert.match(first.stored ? '' : first.reason, /^error: /);
      rmSync(dataFile, { recursive: true });
      let result: SaveResult = first;
      for (let i = 0; i < 100 && !result.stored; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        result = await writer.save(raw);
      }
      assert.ok(result.stored && !result.duplicate && result.serial === 1, JSON.stringify(result));
    } finally {
      await writer.close();
      rmSync(parent, { recursive: true, force: true });
    }
  });
});
