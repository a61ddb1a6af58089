/**
 * REQs answered by query worker threads (ORLY_QUERY_WORKERS, local LMDB store): the same
 * results as the event loop path, every acknowledged event visible to the next REQ, restricted
 * kinds still hidden, and a worker that dies is replaced while REQs keep being answered.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LmdbEventStore } from '../../src/store/lmdb/lmdb-store.js';
import { newKey, signedEvent } from '../helpers/events.js';
import { LMDB_MODE, RawClient, startTestRelay, type TestRelay } from '../helpers/relay-harness.js';
import { waitFor } from '../helpers/wait.js';

const BASE = Math.floor(Date.now() / 1000) - 3600;

/** The LMDB store's query workers (a store-side detail: the relay only sees its query executor). */
const poolOf = (t: TestRelay) => (t.relay.store as LmdbEventStore).queryPool;

describe('query workers', { skip: LMDB_MODE ? false : 'local LMDB store only' }, () => {
  let withWorkers: TestRelay;
  let inLoop: TestRelay;
  const author = newKey();
  const other = newKey();

  before(async () => {
    withWorkers = await startTestRelay({ ORLY_QUERY_WORKERS: '2' });
    inLoop = await startTestRelay({ ORLY_QUERY_WORKERS: '0' });
    assert.equal(poolOf(withWorkers)?.readyWorkers, 2);
    assert.equal(poolOf(inLoop), undefined);
    const events = [];
    for (let i = 0; i < 120; i++) {
      const key = i % 3 === 0 ? other : author;
      events.push(
        signedEvent(key, {
          kind: i % 4 === 0 ? 7 : 1,
          created_at: BASE + (i % 40),
          content: `event ${i} ${'é'.repeat(i % 5)}`,
          tags: i % 5 === 0 ? [['t', 'five']] : [],
        }),
      );
    }
    for (const relay of [withWorkers, inLoop]) {
      const c = await RawClient.connect(relay.url);
      for (const e of events) assert.equal((await c.publish(e))[2], true);
      await c.close();
    }
  });

  after(async () => {
    await withWorkers?.stop();
    await inLoop?.stop();
  });

  it('returns what the event loop path returns, in the same order', async () => {
    const a = await RawClient.connect(withWorkers.url);
    const b = await RawClient.connect(inLoop.url);
    try {
      const filters = [
        [{}],
        [{ limit: 7 }],
        [{ authors: [author.pubkey], limit: 30 }],
        [{ kinds: [7] }],
        [{ '#t': ['five'] }, { kinds: [7], limit: 5 }],
        [{ since: BASE + 10, until: BASE + 20 }],
        [{ authors: [other.pubkey], kinds: [1] }, { authors: [other.pubkey] }],
      ];
      for (const [i, f] of filters.entries()) {
        const got = (await a.query(`w${i}`, ...f)).map((e) => e.id);
        const want = (await b.query(`l${i}`, ...f)).map((e) => e.id);
        assert.deepEqual(got, want, JSON.stringify(f));
        assert.ok(want.length > 0);
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a REQ right after OK true finds the event', async () => {
    const c = await RawClient.connect(withWorkers.url);
    try {
      for (let i = 0; i < 40; i++) {
        const e = signedEvent(author, { created_at: BASE + 100 + i, content: `fresh ${i}` });
        assert.equal((await c.publish(e))[2], true);
        const found = await c.query(`f${i}`, { ids: [e.id] });
        assert.deepEqual(
          found.map((x) => x.id),
          [e.id],
        );
      }
    } finally {
      await c.close();
    }
  });

  it('restricted kinds stay hidden from a connection that did not AUTH', async () => {
    const dm = signedEvent(author, {
      kind: 4,
      created_at: BASE + 200,
      tags: [['p', other.pubkey]],
      content: 'x',
    });
    const c = await RawClient.connect(withWorkers.url);
    try {
      assert.equal((await c.publish(dm))[2], true);
      const all = (await c.query('all', { authors: [author.pubkey] })).map((e) => e.id);
      assert.ok(!all.includes(dm.id));
      assert.ok(all.length > 0);
    } finally {
      await c.close();
    }
  });

  it('a worker that dies is replaced; REQs are answered meanwhile', async () => {
    const pool = poolOf(withWorkers)!;
    // Reach into the pool to kill its threads as a crash would.
    const slots = (pool as unknown as { slots: { worker?: { terminate(): Promise<number> } }[] }).slots;
    await Promise.all(slots.map((s) => s.worker?.terminate()));
    const c = await RawClient.connect(withWorkers.url);
    try {
      assert.ok((await c.query('during', { authors: [author.pubkey], limit: 5 })).length === 5);
      await waitFor(
        () => pool.readyWorkers >= 2,
        10_000,
        () => `2 ready workers (${pool.readyWorkers})`,
      );
      assert.equal(pool.readyWorkers, 2);
      assert.equal((await c.query('after', { authors: [author.pubkey], limit: 5 })).length, 5);
    } finally {
      await c.close();
    }
  });
});
