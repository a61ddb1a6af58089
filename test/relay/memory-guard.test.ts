/**
 * The memory guard: above ORLY_MEMORY_LIMIT_MB (or 90% of V8's heap limit) new REQs, COUNTs and
 * NEG-OPENs are refused with `rate-limited:`, and work is taken again below 90% of the target
 * (unit test with a scripted sampler); over a real socket with a target below any real process,
 * every new query is refused and the connection and the relay stay up.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Reasons } from '../../src/errors.js';
import { MemoryGuard } from '../../src/relay/memory-guard.js';
import { RawClient, startTestRelay, type TestRelay } from '../helpers/relay-harness.js';
import { attempt } from '../helpers/upgrade.js';

describe('MemoryGuard', () => {
  it('trips at the target (resident set or heap) and recovers below 90% of it', () => {
    let sample = { rss: 50, heapUsed: 10, heapLimit: 1000 };
    const guard = new MemoryGuard(100, () => sample);
    assert.equal(guard.check(), false);
    sample = { rss: 100, heapUsed: 10, heapLimit: 1000 };
    assert.equal(guard.check(), true, 'at the resident-set target');
    sample = { rss: 95, heapUsed: 10, heapLimit: 1000 };
    assert.equal(guard.check(), true, 'between 90% and the target it stays refusing');
    sample = { rss: 89, heapUsed: 10, heapLimit: 1000 };
    assert.equal(guard.check(), false, 'recovered below 90%');
    sample = { rss: 10, heapUsed: 900, heapLimit: 1000 };
    assert.equal(guard.check(), true, 'at 90% of the heap limit');
    assert.equal(guard.overloaded, true);
  });
});

describe('relay over its memory target', () => {
  let t: TestRelay;
  before(async () => {
    t = await startTestRelay({ ORLY_NEGENTROPY_ENABLED: 'true' });
  });
  after(() => t.stop());

  it('refuses REQ, COUNT, NEG-OPEN and new connections, stays up, and takes work again below it', async () => {
    const c = await RawClient.connect(t.url);
    const guard = t.relay.memory;
    const target = guard.limitBytes;
    try {
      // A target below any real process: the next sample finds the relay over it.
      guard.limitBytes = 1;
      assert.equal(guard.check(), true);
      c.send(['REQ', 'r', { kinds: [1] }]);
      assert.deepEqual(await c.next((f) => f[1] === 'r'), ['CLOSED', 'r', Reasons.lowOnMemory]);
      c.send(['COUNT', 'c', { kinds: [1] }]);
      assert.deepEqual(await c.next((f) => f[1] === 'c'), ['CLOSED', 'c', Reasons.lowOnMemory]);
      c.send(['NEG-OPEN', 'n', {}, '6100000200']);
      assert.deepEqual(await c.next((f) => f[1] === 'n'), ['NEG-ERR', 'n', Reasons.lowOnMemory]);
      const upgrade = await attempt(t.url);
      assert.equal(upgrade.status, 503);
      assert.equal(upgrade.retryAfter, '10');
      assert.equal((await fetch(`${t.httpUrl}/health`)).status, 200);
      assert.equal(c.closed, false);
      // Back under the target: work is taken again.
      guard.limitBytes = target;
      assert.equal(guard.check(), false);
      assert.deepEqual(await c.query('again', { kinds: [1] }), []);
    } finally {
      guard.limitBytes = target;
      guard.check();
      await c.close();
    }
  });
});
