/**
 * QueryPool: REQ filters answered on worker threads that read the relay's LMDB store, so the
 * event loop only sends ready frames (the reads, copies and frame building, ~80% of a query's
 * cost, run beside it).
 *
 * - A request goes to the live, ready worker with the fewest requests in flight; a worker runs
 *   its requests one after the other. The answer is a stream of chunks (ready EVENT frames).
 * - run() returns undefined when no worker is ready (starting, or respawning after a crash):
 *   the caller then queries in the event loop, so the relay never stops answering.
 * - A worker that dies fails its requests (the REQ gets CLOSED "error: ...") and is respawned,
 *   with a growing delay if it keeps dying right after its start.
 * - Idle workers are unref'd: they never keep the process alive by themselves.
 * - close() asks each worker to close its store and exit (cooperatively: terminating a thread
 *   inside lmdb's native code is not safe), with terminate() only after a timeout.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../../logger.js';
import type { FrameChunk, FrameQuery } from '../../query-frames.js';
import type { FromWorker, QueryRequest } from './protocol.js';

const WORKER_URL = new URL('./query-worker.js', import.meta.url);
const QUICK_CRASH_MS = 1000;
const MAX_RESPAWN_DELAY_MS = 30_000;
const CLOSE_TIMEOUT_MS = 10_000;

/** The chunks of one request, as an async iterator. */
class ChunkStream implements AsyncIterableIterator<FrameChunk> {
  private readonly chunks: FrameChunk[] = [];
  private finished = false;
  private error: Error | undefined;
  private wake: (() => void) | undefined;
  cancelled = false;

  constructor(private readonly onCancel: () => void) {}

  push(chunk: FrameChunk): void {
    if (this.cancelled) return;
    this.chunks.push(chunk);
    this.notify();
  }

  finish(error?: Error): void {
    this.finished = true;
    this.error = error;
    this.notify();
  }

  async next(): Promise<IteratorResult<FrameChunk, undefined>> {
    for (;;) {
      const chunk = this.chunks.shift();
      if (chunk !== undefined) return { value: chunk, done: false };
      if (this.error !== undefined) throw this.error;
      if (this.finished || this.cancelled) return { value: undefined, done: true };
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  /**
   * Stops delivering: the worker skips the request if it has not started it (a running scan
   * finishes; its chunks are dropped).
   */
  async return(): Promise<IteratorResult<FrameChunk, undefined>> {
    if (!this.cancelled && !this.finished) this.onCancel();
    this.cancelled = true;
    this.chunks.length = 0;
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

interface Slot {
  worker: Worker | undefined;
  ready: boolean;
  readonly inflight: Map<number, ChunkStream>;
  spawnedAt: number;
  quickCrashes: number;
  respawnTimer: NodeJS.Timeout | undefined;
}

export interface QueryPoolOptions {
  readonly dataDir: string;
  readonly workers: number;
  readonly logger: Logger;
}

export class QueryPool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closing = false;

  constructor(private readonly options: QueryPoolOptions) {
    for (let i = 0; i < options.workers; i++) {
      const slot: Slot = {
        worker: undefined,
        ready: false,
        inflight: new Map(),
        spawnedAt: 0,
        quickCrashes: 0,
        respawnTimer: undefined,
      };
      this.slots.push(slot);
      this.spawn(slot);
    }
  }

  /** Resolves once every worker is ready (or has died trying). */
  async ready(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.slots.some((s) => !s.ready && s.worker !== undefined) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Workers ready to take a request. */
  get readyWorkers(): number {
    return this.slots.filter((s) => s.ready).length;
  }

  /** The request's chunks, or undefined when no worker is ready (query in the event loop then). */
  run(job: FrameQuery): AsyncIterableIterator<FrameChunk> | undefined {
    if (this.closing) return undefined;
    let best: Slot | undefined;
    for (const slot of this.slots) {
      if (!slot.ready || slot.worker === undefined) continue;
      if (best === undefined || slot.inflight.size < best.inflight.size) best = slot;
    }
    if (best === undefined) return undefined;
    const id = this.nextId++;
    const worker = best.worker!;
    const stream = new ChunkStream(() => worker.postMessage({ type: 'cancel', id }));
    best.inflight.set(id, stream);
    if (best.inflight.size === 1) best.worker!.ref();
    const request: QueryRequest = { type: 'query', id, ...job };
    best.worker!.postMessage(request);
    return stream;
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await Promise.all(
      this.slots.map(async (slot) => {
        if (slot.respawnTimer) clearTimeout(slot.respawnTimer);
        slot.respawnTimer = undefined;
        const worker = slot.worker;
        if (!worker) return;
        const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
        worker.postMessage({ type: 'close' });
        const timer = setTimeout(() => void worker.terminate(), CLOSE_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  private spawn(slot: Slot): void {
    const worker = new Worker(WORKER_URL, {
      workerData: { dataDir: this.options.dataDir },
      // A worker allocates little that lives: a small young generation keeps its footprint down.
      resourceLimits: { maxYoungGenerationSizeMb: 4 },
    });
    slot.worker = worker;
    slot.ready = false;
    slot.spawnedAt = Date.now();
    worker.unref();
    let lastError: Error | undefined;
    worker.on('message', (message: FromWorker) => {
      if (message.type === 'ready') {
        slot.ready = !this.closing;
        return;
      }
      const stream = slot.inflight.get(message.id);
      if (message.type === 'chunk') {
        stream?.push(message);
        return;
      }
      slot.inflight.delete(message.id);
      if (slot.inflight.size === 0) worker.unref();
      stream?.finish(message.error === undefined ? undefined : new Error(message.error));
    });
    worker.on('error', (err) => {
      lastError = err;
    });
    worker.on('exit', (code) => {
      if (slot.worker !== worker) return;
      slot.worker = undefined;
      slot.ready = false;
      const error = new Error(`query worker exited (${lastError?.message ?? `code ${code}`})`);
      for (const stream of slot.inflight.values()) stream.finish(error);
      slot.inflight.clear();
      if (this.closing) return;
      this.options.logger.error({ err: error.message }, 'query worker died; respawning');
      slot.quickCrashes = Date.now() - slot.spawnedAt < QUICK_CRASH_MS ? slot.quickCrashes + 1 : 0;
      const delay = Math.min(
        MAX_RESPAWN_DELAY_MS,
        slot.quickCrashes === 0 ? 0 : 100 * 2 ** slot.quickCrashes,
      );
      slot.respawnTimer = setTimeout(() => {
        slot.respawnTimer = undefined;
        if (!this.closing) this.spawn(slot);
      }, delay);
      slot.respawnTimer.unref();
    });
  }
}
