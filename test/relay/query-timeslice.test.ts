/**
 * Timeslices in the one query executor (issue 9, strfry's model): with one query slot, a huge
 * REQ pauses after each ORLY_QUERY_SLICE_MS and another client's small REQ is answered in
 * between, on the query workers and in the event loop alike; a COUNT stops after
 * ORLY_MAX_COUNT_SCAN candidates with `approximate: true`, and candidates of kinds the
 * requester may not see are not part of that budget.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NostrEvent } from '../../src/protocol/event.js';
import { fastKey, fastSign } from '../helpers/fast-sign.js';
import { LMDB_MODE, RawClient, startTestRelay, type TestRelay } from '../helpers/relay-harness.js';
import { waitFor } from '../helpers/wait.js';

const BASE = Math.floor(Date.now() / 1000) - 86_400;
const PUBLIC = 6000;
const HIDDEN = 2000;

/**
 * Which of two REQs reached EOSE first: a huge scan that matches nothing (every candidate read
 * and checked against a tag no event has) or a small one sent once the huge one holds the only
 * query slot. Neither sends events, so the EOSEs arrive in the order the relay sent them.
 */
async function firstToFinish(t: TestRelay, huge: object, small: object): Promise<string[]> {
  const attacker = await RawClient.connect(t.url);
  const victim = await RawClient.connect(t.url);
  const order: string[] = [];
  try {
    attacker.send(['REQ', 'huge', huge]);
    const hugeDone = attacker
      .next((f) => f[0] === 'EOSE' && f[1] === 'huge', 30_000)
      .then(() => order.push('huge'));
    await waitFor(() => t.relay.queries.scheduler.active === 1, 5000, 'the huge REQ to run', 0);
    victim.send(['REQ', 'small', small]);
    const smallDone = victim
      .next((f) => f[0] === 'EOSE' && f[1] === 'small', 30_000)
      .then(() => order.push('small'));
    await Promise.all([hugeDone, smallDone]);
    return order;
  } finally {
    await attacker.close();
    await victim.close();
  }
}

for (const workers of LMDB_MODE ? ['2', '0'] : ['0']) {
  describe(`timeslices (ORLY_QUERY_WORKERS=${workers})`, () => {
    let t: TestRelay;
    let one: NostrEvent;

    before(async () => {
      t = await startTestRelay({
        ORLY_QUERY_WORKERS: workers,
        ORLY_QUERY_CONCURRENCY: '1',
        ORLY_QUERY_SLICE_MS: '1',
        ORLY_MAX_LIMIT: '5000',
        ORLY_MAX_COUNT_SCAN: '1000',
      });
      const author = fastKey();
      const events: NostrEvent[] = [];
      for (let i = 0; i < PUBLIC; i++)
        events.push(
          fastSign(author, { kind: 1, created_at: BASE + i, content: `public ${i} ${'x'.repeat(200)}` }),
        );
      for (let i = 0; i < HIDDEN; i++)
        events.push(fastSign(author, { kind: 4, created_at: BASE + i, content: `dm ${i}` }));
      one = events[17]!;
      for (let i = 0; i < events.length; i += 500)
        for (const r of await Promise.all(events.slice(i, i + 500).map((e) => t.relay.store.save(e))))
          assert.equal(r.stored, true);
    });
    after(() => t.stop());

    it('a small REQ is answered while a huge one still runs', {
      skip: !LMDB_MODE && 'the database (orly-db, PostgreSQL) runs the scan',
    }, async () => {
      const huge = { authors: [one.pubkey], kinds: [1], '#t': ['none'], limit: 5000 };
      assert.deepEqual(await firstToFinish(t, huge, { ids: [one.id] }), ['small', 'huge']);
    });

    it('a COUNT stops after ORLY_MAX_COUNT_SCAN candidates, approximate; hidden kinds are outside the budget', async () => {
      const c = await RawClient.connect(t.url);
      try {
        c.send(['COUNT', 'all', {}]);
        const all = await c.next((f) => f[1] === 'all', 30_000);
        assert.deepEqual(all, ['COUNT', 'all', { count: 1000, approximate: true }]);
        // 999 public and 999 hidden kind-4 events in the range: the public ones fit the budget, exact.
        const range = { since: BASE, until: BASE + 998 };
        c.send(['COUNT', 'range', range]);
        assert.deepEqual(await c.next((f) => f[1] === 'range', 30_000), ['COUNT', 'range', { count: 999 }]);
      } finally {
        await c.close();
      }
    });
  });
}
