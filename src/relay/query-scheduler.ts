/**
 * QueryScheduler: the one queue of REQs and COUNTs, in timeslices (strfry's model). At most
 * `concurrency` jobs hold a slot at once, all connections together; each owner (a connection)
 * may have at most `maxPerOwner` jobs waiting or running, beyond which schedule() refuses at
 * once (the client gets `rate-limited:`). When a slot frees, the next job comes from the waiting
 * owner served least recently (round robin), so a client with many queued queries cannot make
 * another client's small REQ wait behind them.
 *
 * A job holds its slot for one slice (`sliceMs`): long work checks its Timeslice now and then
 * and, once the slice is used, pauses, which hands the slot on and puts the job back at the
 * front of its owner's queue, so one huge scan cannot starve small queries. A job whose client
 * is slow to read pauses until its socket drains, without holding a slot. A job whose signal
 * aborts while it waits or pauses (CLOSE, a replacing REQ, a disconnect) leaves the queue at
 * once: a waiting one never runs, a paused one's pause() rejects with QueryCancelled.
 */
import type { Timeslice } from '../store/event-store.js';

export class QueryCancelled extends Error {
  constructor() {
    super('query cancelled');
    this.name = 'QueryCancelled';
  }
}

/** One schedule() call: its owner, its signal, and what to do at its next turn. */
interface Job {
  readonly owner: object;
  readonly signal: AbortSignal;
  /** Called when the job gets a slot (its first start, or the end of a pause). */
  onTurn: () => void;
}

export class QueryScheduler {
  /** Waiting jobs per owner (paused ones at the front). */
  private readonly waiting = new Map<object, Job[]>();
  /** When each owner with jobs in progress last had one started (a counter, not a clock). */
  private readonly lastServed = new Map<object, number>();
  private turns = 0;
  /** Waiting + running + paused jobs per owner. */
  private readonly perOwner = new Map<object, number>();
  private running = 0;

  constructor(
    readonly concurrency: number,
    readonly maxPerOwner: number,
    readonly sliceMs = 10,
  ) {}

  /** Jobs holding a slot now. */
  get active(): number {
    return this.running;
  }

  /** Jobs waiting for a slot (new or paused). */
  get queued(): number {
    let n = 0;
    for (const jobs of this.waiting.values()) n += jobs.length;
    return n;
  }

  /**
   * Runs `work` once a slot is free, handing it its Timeslice. Undefined when the owner already
   * has maxPerOwner jobs in progress; a promise rejected with QueryCancelled when the signal
   * aborts before the first turn.
   */
  schedule<T>(
    owner: object,
    signal: AbortSignal,
    work: (slice: Timeslice) => Promise<T>,
  ): Promise<T> | undefined {
    const held = this.perOwner.get(owner) ?? 0;
    if (held >= this.maxPerOwner) return undefined;
    if (signal.aborted) return Promise.reject(new QueryCancelled());
    this.perOwner.set(owner, held + 1);
    return new Promise<T>((resolve, reject) => {
      let holdsSlot = false;
      let sliceStart = 0;
      const job: Job = { owner, signal, onTurn: () => {} };
      const slice: Timeslice = {
        ms: this.sliceMs,
        expired: () => performance.now() - sliceStart >= this.sliceMs,
        pause: async (until?: Promise<void>) => {
          if (!holdsSlot) return;
          if (until === undefined && this.waiting.size === 0) {
            // Nobody waits: the slot stays with this job, after one turn of the event loop.
            await new Promise<void>((resumed) => setImmediate(resumed));
            sliceStart = performance.now();
            return;
          }
          holdsSlot = false;
          this.running--;
          this.pump();
          if (until !== undefined) await untilOrAbort(until, signal);
          await new Promise<void>((resumed, cancelled) => {
            this.enqueue(
              job,
              true,
              () => {
                holdsSlot = true;
                sliceStart = performance.now();
                resumed();
              },
              () => cancelled(new QueryCancelled()),
            );
            this.pump();
          });
        },
      };
      const finish = () => {
        if (holdsSlot) this.running--;
        holdsSlot = false;
        this.release(owner);
        this.pump();
      };
      this.enqueue(
        job,
        false,
        () => {
          holdsSlot = true;
          sliceStart = performance.now();
          // The slot is handed on before the caller hears the result.
          work(slice).then(
            (value) => {
              finish();
              resolve(value);
            },
            (err: unknown) => {
              finish();
              reject(err);
            },
          );
        },
        () => {
          this.release(owner);
          reject(new QueryCancelled());
        },
      );
      this.pump();
    });
  }

  /** Queues `job` (first in its owner's queue when resuming) until its next turn or its signal aborts. */
  private enqueue(job: Job, front: boolean, onTurn: () => void, onCancel: () => void): void {
    if (job.signal.aborted) {
      onCancel();
      return;
    }
    const abort = () => {
      if (this.unqueue(job)) onCancel();
    };
    job.onTurn = () => {
      job.signal.removeEventListener('abort', abort);
      this.running++;
      onTurn();
    };
    job.signal.addEventListener('abort', abort, { once: true });
    let jobs = this.waiting.get(job.owner);
    if (jobs === undefined) {
      jobs = [];
      this.waiting.set(job.owner, jobs);
    }
    if (front) jobs.unshift(job);
    else jobs.push(job);
  }

  private pump(): void {
    while (this.running < this.concurrency && this.waiting.size > 0) {
      let owner: object | undefined;
      let oldest = Number.POSITIVE_INFINITY;
      for (const candidate of this.waiting.keys()) {
        const served = this.lastServed.get(candidate) ?? 0;
        if (served < oldest) {
          oldest = served;
          owner = candidate;
        }
      }
      const jobs = this.waiting.get(owner!)!;
      const job = jobs.shift()!;
      if (jobs.length === 0) this.waiting.delete(owner!);
      this.lastServed.set(owner!, ++this.turns);
      job.onTurn();
    }
  }

  private unqueue(job: Job): boolean {
    const jobs = this.waiting.get(job.owner);
    const i = jobs?.indexOf(job) ?? -1;
    if (jobs === undefined || i < 0) return false;
    jobs.splice(i, 1);
    if (jobs.length === 0) this.waiting.delete(job.owner);
    return true;
  }

  private release(owner: object): void {
    const held = (this.perOwner.get(owner) ?? 1) - 1;
    if (held > 0) {
      this.perOwner.set(owner, held);
      return;
    }
    this.perOwner.delete(owner);
    this.lastServed.delete(owner);
  }
}

/** Resolves when `until` settles; rejects with QueryCancelled if `signal` aborts first. */
function untilOrAbort(until: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(new QueryCancelled());
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(new QueryCancelled());
    signal.addEventListener('abort', onAbort, { once: true });
    until.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
    );
  });
}
