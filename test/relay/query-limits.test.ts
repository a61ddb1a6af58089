/**
 * What one client's REQs may hold and queue (issue 9): values per filter field and per REQ
 * (CLOSED "invalid: ..."), the filters of a connection's live subscriptions in bytes (CLOSED
 * "blocked: ..."), queries in progress per connection (CLOSED "rate-limited: ..."), and a
 * flood of replaced or closed REQs leaving no queued work behind: another client's REQ still
 * gets its EOSE at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hexOf, newKey, signedEvent } from '../helpers/events.js';
import { RawClient, startTestRelay, type TestRelay } from '../helpers/relay-harness.js';

const NOW = Math.floor(Date.now() / 1000);

describe('query limits', () => {
  let t: TestRelay;
  const author = newKey();

  before(async () => {
    t = await startTestRelay({
      ORLY_MAX_FILTER_VALUES: '10',
      ORLY_MAX_REQ_VALUES: '25',
      ORLY_MAX_SUBSCRIPTION_BYTES: '8192',
    });
    const c = await RawClient.connect(t.url);
    for (let i = 0; i < 300; i++) {
      const e = signedEvent(author, { kind: 1, created_at: NOW - 1000 + i, tags: [['t', `tag${i % 7}`]] });
      assert.equal((await c.publish(e))[2], true);
    }
    await c.close();
  });
  after(() => t.stop());

  it('a filter field with more values than ORLY_MAX_FILTER_VALUES: CLOSED invalid', async () => {
    const c = await RawClient.connect(t.url);
    try {
      const authors = Array.from({ length: 11 }, (_, i) => hexOf(i));
      c.send(['REQ', 'many', { authors }]);
      const closed = await c.next((f) => f[1] === 'many');
      assert.deepEqual(closed, ['CLOSED', 'many', 'invalid: authors has 11 values, the limit is 10']);
      c.send(['REQ', 'tags', { '#t': Array.from({ length: 60_000 }, (_, i) => `v${i}`) }]);
      assert.match((await c.next((f) => f[1] === 'tags'))[2], /^invalid: #t has 60000 values/);
      c.send(['COUNT', 'cnt', { kinds: Array.from({ length: 11 }, (_, i) => i) }]);
      assert.match((await c.next((f) => f[1] === 'cnt'))[2], /^invalid: kinds has 11 values/);
      // Ten is fine.
      assert.equal(
        (
          await c.query('ten', {
            authors: [author.pubkey, ...Array.from({ length: 9 }, (_, i) => hexOf(i))],
            limit: 5,
          })
        ).length,
        5,
      );
    } finally {
      await c.close();
    }
  });

  it('more values than ORLY_MAX_REQ_VALUES over all filters: CLOSED invalid', async () => {
    const c = await RawClient.connect(t.url);
    try {
      const filter = { '#t': Array.from({ length: 9 }, (_, i) => `x${i}`) };
      c.send(['REQ', 'total', filter, filter, filter]);
      assert.deepEqual(await c.next((f) => f[1] === 'total'), [
        'CLOSED',
        'total',
        'invalid: the filters hold 27 values in all, the limit is 25',
      ]);
    } finally {
      await c.close();
    }
  });

  it('live subscriptions beyond ORLY_MAX_SUBSCRIPTION_BYTES: CLOSED blocked; closing one frees room', async () => {
    const c = await RawClient.connect(t.url);
    try {
      const filter = (n: number) => ({
        '#t': Array.from({ length: 10 }, (_, i) => `${'w'.repeat(60)}${n}-${i}`),
        limit: 0,
      });
      const open: string[] = [];
      let refused: unknown[] | undefined;
      for (let n = 0; n < 50 && refused === undefined; n++) {
        c.send(['REQ', `s${n}`, filter(n)]);
        const answer = await c.next((f) => f[1] === `s${n}` && (f[0] === 'EOSE' || f[0] === 'CLOSED'));
        if (answer[0] === 'CLOSED') refused = answer;
        else open.push(`s${n}`);
      }
      assert.ok(refused, 'some REQ is refused before 50 subscriptions');
      assert.match(
        String(refused[2]),
        /^blocked: the live subscriptions of this connection would hold more than 8192 bytes/,
      );
      assert.ok(open.length >= 2, `${open.length} subscriptions fit`);
      // Replacing a subscription with one of the same size still fits.
      c.send(['REQ', open[0], filter(100)]);
      assert.equal((await c.next((f) => f[1] === open[0]))[0], 'EOSE');
      c.send(['CLOSE', open[1]]);
      c.send(['REQ', 'after-close', filter(101)]);
      assert.equal((await c.next((f) => f[1] === 'after-close'))[0], 'EOSE');
    } finally {
      await c.close();
    }
  });

  it('a flood of replaced and closed REQs leaves no queue: another client gets EOSE at once', async () => {
    const attacker = await RawClient.connect(t.url);
    const victim = await RawClient.connect(t.url);
    try {
      for (let i = 0; i < 3000; i++) {
        attacker.send(['REQ', `p${i}`, { kinds: [1] }]);
        attacker.send(['CLOSE', `p${i}`]);
      }
      for (let i = 0; i < 3000; i++) attacker.send(['REQ', 'same', { kinds: [1] }]);
      const waits: number[] = [];
      for (let i = 0; i < 5; i++) {
        const began = Date.now();
        assert.equal((await victim.query(`v${i}`, { authors: [author.pubkey], limit: 3 })).length, 3);
        waits.push(Date.now() - began);
      }
      waits.sort((a, b) => a - b);
      assert.ok(waits[waits.length - 1]! < 2000, `victim REQ→EOSE ${waits.join(', ')} ms`);
      // The attacker's last REQ still completes (the replaced ones were dropped, not all run).
      await attacker.next((f) => f[0] === 'EOSE' && f[1] === 'same', 20_000);
    } finally {
      await attacker.close();
      await victim.close();
    }
  });

  it('too many queries in progress on one connection: CLOSED rate-limited, every query answered', async () => {
    const limited = await startTestRelay({
      ORLY_MAX_QUERIES_PER_CONNECTION: '2',
      ORLY_QUERY_CONCURRENCY: '1',
    });
    const c = await RawClient.connect(limited.url);
    try {
      for (let i = 0; i < 40; i++) c.send(['COUNT', `c${i}`, { kinds: [1] }]);
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) => c.next((f) => f[1] === `c${i}`, 10_000)),
      );
      for (const a of answers) {
        if (a[0] === 'COUNT') assert.deepEqual(a[2], { count: 0 });
        else
          assert.match(
            String(a[2]),
            /^rate-limited: too many queries in progress on this connection, the limit is 2$/,
          );
      }
      assert.equal(answers[0]![0], 'COUNT', 'the first is answered');
    } finally {
      await c.close();
      await limited.stop();
    }
  });
});
