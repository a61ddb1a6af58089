/**
 * QueryScheduler on its own: the concurrency bound, the per-owner bound (refused at once),
 * round robin between owners, and jobs cancelled while they wait never running.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QueryCancelled, QueryScheduler } from '../../src/relay/query-scheduler.js';

/** A job that runs until released, recording when it started. */
function gate(log: string[], name: string): { work: () => Promise<string>; release: () => void } {
  let release: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    release = resolve;
  });
  return {
    work: async () => {
      log.push(name);
      await done;
      return name;
    },
    release: () => release(),
  };
}

describe('QueryScheduler', () => {
  it('runs at most `concurrency` jobs at once and starts the next when one ends', async () => {
    const s = new QueryScheduler(2, 10);
    const log: string[] = [];
    const owner = {};
    const jobs = ['a', 'b', 'c'].map((n) => gate(log, n));
    const results = jobs.map((j) => s.schedule(owner, new AbortController().signal, j.work)!);
    assert.deepEqual(log, ['a', 'b']);
    assert.equal(s.active, 2);
    assert.equal(s.queued, 1);
    jobs[0]!.release();
    assert.equal(await results[0], 'a');
    assert.deepEqual(log, ['a', 'b', 'c']);
    jobs[1]!.release();
    jobs[2]!.release();
    assert.deepEqual(await Promise.all(results), ['a', 'b', 'c']);
    assert.equal(s.active, 0);
  });

  it('refuses an owner at its bound (waiting and running together), and only that owner', async () => {
    const s = new QueryScheduler(1, 2);
    const log: string[] = [];
    const a = {};
    const jobs = ['a1', 'a2'].map((n) => gate(log, n));
    const running = jobs.map((j) => s.schedule(a, new AbortController().signal, j.work)!);
    assert.equal(
      s.schedule(a, new AbortController().signal, async () => 'a3'),
      undefined,
    );
    const b = gate(log, 'b1');
    const other = s.schedule({}, new AbortController().signal, b.work);
    assert.ok(other !== undefined, 'another owner is not refused');
    for (const j of jobs) j.release();
    b.release();
    await Promise.all([...running, other]);
    assert.ok(s.schedule(a, new AbortController().signal, async () => 'again') !== undefined);
  });

  it('takes turns between owners: a late owner waits for one job, not for the whole backlog', async () => {
    const s = new QueryScheduler(1, 100);
    const log: string[] = [];
    const busy = {};
    const gates = Array.from({ length: 5 }, (_, i) => gate(log, `busy${i}`));
    const all = gates.map((g) => s.schedule(busy, new AbortController().signal, g.work)!);
    const victim = gate(log, 'victim');
    all.push(s.schedule({}, new AbortController().signal, victim.work)!);
    gates[0]!.release();
    await all[0];
    assert.deepEqual(log, ['busy0', 'victim'], 'the other owner runs next');
    victim.release();
    for (const g of gates) g.release();
    await Promise.all(all);
    assert.deepEqual(log, ['busy0', 'victim', 'busy1', 'busy2', 'busy3', 'busy4']);
  });

  it('a job aborted while waiting leaves the queue at once and never runs', async () => {
    const s = new QueryScheduler(1, 10);
    const log: string[] = [];
    const owner = {};
    const first = gate(log, 'first');
    const running = s.schedule(owner, new AbortController().signal, first.work)!;
    const abort = new AbortController();
    const waiting = s.schedule(owner, abort.signal, async () => {
      log.push('cancelled one ran');
      return 'x';
    })!;
    abort.abort();
    await assert.rejects(waiting, QueryCancelled);
    assert.equal(s.queued, 0);
    first.release();
    await running;
    assert.deepEqual(log, ['first']);
    const late = new AbortController();
    late.abort();
    await assert.rejects(s.schedule(owner, late.signal, async () => 'y')!, QueryCancelled);
  });

  it('timeslices: a long job pauses once its slice is used, and another owner runs in between', async () => {
    const s = new QueryScheduler(1, 10, 5);
    const log: string[] = [];
    let stop = false;
    const long = s.schedule({}, new AbortController().signal, async (slice) => {
      await null; // the short job is queued by then
      let slices = 0;
      while (!stop) {
        const began = performance.now();
        while (!slice.expired()) if (performance.now() - began > 1000) throw new Error('slice never expired');
        log.push(`long${slices++}`);
        await slice.pause();
      }
      return slices;
    })!;
    const short = s.schedule({}, new AbortController().signal, async () => {
      log.push('short');
      stop = true;
      return 0;
    })!;
    await short;
    assert.deepEqual(log, ['long0', 'short'], "the short job ran at the long one's first pause");
    assert.ok((await long) >= 1);
    assert.equal(s.active, 0);
  });

  it('timeslices: with nobody waiting a pause keeps the slot; a job cancelled while paused stops', async () => {
    const s = new QueryScheduler(1, 10, 1);
    let pauses = 0;
    const alone = await s.schedule({}, new AbortController().signal, async (slice) => {
      for (let i = 0; i < 3; i++) {
        await slice.pause();
        pauses++;
      }
      return s.active;
    });
    assert.equal(pauses, 3);
    assert.equal(alone, 1, 'still holding its slot');
    const abort = new AbortController();
    const owner = {};
    let reachedPause!: () => void;
    const paused = new Promise<void>((resolve) => {
      reachedPause = resolve;
    });
    let proceed!: () => void;
    const go = new Promise<void>((resolve) => {
      proceed = resolve;
    });
    const first = s.schedule(owner, abort.signal, async (slice) => {
      reachedPause();
      await go;
      await slice.pause();
      return 'resumed';
    })!;
    const other = gate([], 'other');
    await paused;
    const second = s.schedule({}, new AbortController().signal, other.work)!;
    proceed();
    // first pauses behind `other` (which now runs); cancel it there.
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(s.queued, 1);
    abort.abort();
    await assert.rejects(first, QueryCancelled);
    other.release();
    assert.equal(await second, 'other');
    assert.equal(s.active, 0);
    assert.equal(s.queued, 0);
  });
});
