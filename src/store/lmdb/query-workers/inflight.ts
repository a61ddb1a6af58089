/**
 * Requests in flight on a query worker, as the pool sees them: a query's chunks as an async
 * iterator (ChunkStream), a count as a promise (CountCall). Both pass a worker's `paused` on to
 * the caller's Timeslice: the next slice is asked for (`resume`) at the query's next turn, and
 * a turn refused (the query was cancelled meanwhile) cancels the request on the worker.
 */
import type { CountResult, Timeslice } from '../../event-store.js';
import type { FrameChunk } from '../../query-frames.js';

export interface Inflight {
  chunk(chunk: FrameChunk): void;
  paused(): void;
  /** The request ended: with its error, or with a count's answer. */
  finish(error?: Error, count?: CountResult): void;
}

/** What an in-flight request may say to its worker. */
export interface WorkerLine {
  resume(): void;
  cancel(): void;
}

/** Waits for the request's next turn, then resumes it (or, when refused, calls `refused`). */
function nextTurn(timeslice: Timeslice | undefined, line: WorkerLine, refused: (err: unknown) => void): void {
  if (timeslice === undefined) {
    setImmediate(() => line.resume());
    return;
  }
  timeslice.pause().then(
    () => line.resume(),
    (err: unknown) => refused(err),
  );
}

/** Chunk bytes a query may have waiting for its consumer before its next slice is asked for. */
const LOOKAHEAD_BYTES = 1_048_576;

/**
 * The chunks of one query, as an async iterator. The next slice is asked for only while less
 * than LOOKAHEAD_BYTES wait for the consumer, so a consumer that waits (a client reading
 * slowly) holds the worker back instead of piling chunks up in memory.
 */
export class ChunkStream implements AsyncIterableIterator<FrameChunk>, Inflight {
  private readonly chunks: FrameChunk[] = [];
  private queuedBytes = 0;
  /** The worker paused and waits for its next turn until the consumer catches up. */
  private turnPending = false;
  private finished = false;
  private error: Error | undefined;
  private wake: (() => void) | undefined;
  private cancelled = false;

  constructor(
    private readonly line: WorkerLine,
    private readonly timeslice: Timeslice | undefined,
  ) {}

  chunk(chunk: FrameChunk): void {
    if (this.cancelled) return;
    this.chunks.push(chunk);
    this.queuedBytes += chunk.data.length;
    this.notify();
  }

  paused(): void {
    if (this.cancelled) return;
    this.turnPending = true;
    this.askForMore();
  }

  private askForMore(): void {
    if (!this.turnPending || this.queuedBytes >= LOOKAHEAD_BYTES) return;
    this.turnPending = false;
    nextTurn(this.timeslice, this.line, () => void this.return());
  }

  finish(error?: Error): void {
    this.finished = true;
    this.error = error;
    this.notify();
  }

  async next(): Promise<IteratorResult<FrameChunk, undefined>> {
    for (;;) {
      const chunk = this.chunks.shift();
      if (chunk !== undefined) {
        this.queuedBytes -= chunk.data.length;
        this.askForMore();
        return { value: chunk, done: false };
      }
      if (this.error !== undefined) throw this.error;
      if (this.finished || this.cancelled) return { value: undefined, done: true };
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  /** Stops delivering: the worker drops the request, waiting, paused or not yet started. */
  async return(): Promise<IteratorResult<FrameChunk, undefined>> {
    if (!this.cancelled && !this.finished) this.line.cancel();
    this.cancelled = true;
    this.chunks.length = 0;
    this.queuedBytes = 0;
    this.turnPending = false;
    this.notify();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** One count on a worker; `result` settles with its answer, its error, or the refused turn's error. */
export class CountCall implements Inflight {
  readonly result: Promise<CountResult>;
  private settle!: (count: CountResult | undefined, error: unknown) => void;
  private settled = false;

  constructor(
    private readonly line: WorkerLine,
    private readonly timeslice: Timeslice | undefined,
  ) {
    this.result = new Promise<CountResult>((resolve, reject) => {
      this.settle = (count, error) => {
        if (this.settled) return;
        this.settled = true;
        if (count !== undefined) resolve(count);
        else reject(error);
      };
    });
  }

  chunk(): void {}

  paused(): void {
    nextTurn(this.timeslice, this.line, (err) => {
      this.line.cancel();
      this.settle(undefined, err);
    });
  }

  finish(error?: Error, count?: CountResult): void {
    this.settle(count, error ?? (count === undefined ? new Error('count cancelled') : undefined));
  }
}
