/**
 * QueryScheduler: the one queue of REQs and COUNTs. At most `concurrency` run at once, all
 * connections together; each owner (a connection) may have at most `maxPerOwner` waiting or
 * running, beyond which schedule() refuses at once (the client gets `rate-limited:`). When a
 * slot frees, the next job comes from the waiting owner served least recently (round robin), so
 * a client with many queued queries cannot make another client's small REQ wait behind them.
 * A job whose signal aborts while it waits (CLOSE, a replacing REQ, a disconnect) leaves the
 * queue at once and never runs; a running one is stopped by the same signal inside its work.
 */

interface Job {
  readonly owner: object;
  readonly signal: AbortSignal;
  readonly start: () => void;
  readonly cancel: () => void;
}

export class QueryCancelled extends Error {
  constructor() {
    super('query cancelled');
    this.name = 'QueryCancelled';
  }
}

export class QueryScheduler {
  /** Waiting jobs per owner. */
  private readonly waiting = new Map<object, Job[]>();
  /** When each owner with jobs in progress last had one started (a counter, not a clock). */
  private readonly lastServed = new Map<object, number>();
  private turns = 0;
  /** Waiting + running jobs per owner. */
  private readonly perOwner = new Map<object, number>();
  private running = 0;

  constructor(
    readonly concurrency: number,
    readonly maxPerOwner: number,
  ) {}

  /** Jobs running now. */
  get active(): number {
    return this.running;
  }

  /** Jobs waiting for a slot. */
  get queued(): number {
    let n = 0;
    for (const jobs of this.waiting.values()) n += jobs.length;
    return n;
  }

  /**
   * Runs `work` once a slot is free. Undefined when the owner already has maxPerOwner jobs
   * waiting or running; a promise rejected with QueryCancelled when the signal aborts first.
   */
  schedule<T>(owner: object, signal: AbortSignal, work: () => Promise<T>): Promise<T> | undefined {
    const held = this.perOwner.get(owner) ?? 0;
    if (held >= this.maxPerOwner) return undefined;
    if (signal.aborted) return Promise.reject(new QueryCancelled());
    this.perOwner.set(owner, held + 1);
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        if (this.unqueue(job)) {
          this.release(owner);
          reject(new QueryCancelled());
        }
      };
      const job: Job = {
        owner,
        signal,
        start: () => {
          signal.removeEventListener('abort', onAbort);
          this.running++;
          // The slot is handed on before the caller hears the result.
          const done = () => {
            this.running--;
            this.release(owner);
            this.pump();
          };
          work().then(
            (value) => {
              done();
              resolve(value);
            },
            (err: unknown) => {
              done();
              reject(err);
            },
          );
        },
        cancel: onAbort,
      };
      signal.addEventListener('abort', onAbort, { once: true });
      let jobs = this.waiting.get(owner);
      if (jobs === undefined) {
        jobs = [];
        this.waiting.set(owner, jobs);
      }
      jobs.push(job);
      this.pump();
    });
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
      job.start();
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
