/**
 * QueryPool: REQ filters and COUNTs answered on worker threads that read the relay's LMDB
 * store, so the event loop only sends ready frames (the reads, copies and frame building, ~80%
 * of a query's cost, run beside it). Each request runs in slices (protocol.ts): between them
 * it waits for its next turn in the caller's Timeslice.
 *
 * - A request goes to the live, ready worker with the fewest requests in flight; a worker runs
 *   one slice at a time, its requests taking turns. A query's answer is a stream of chunks
 *   (ready EVENT frames), a count's a promise.
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
import type { NormalizedFilter } from '../../../protocol/filter.js';
import type { CountResult, Timeslice } from '../../event-store.js';
import type { FrameChunk, FrameQuery } from '../../query-frames.js';
import type { CountLimits } from '../sliced-scans.js';
import { ChunkStream, CountCall, type Inflight, type WorkerLine } from './inflight.js';
import type { FromWorker, ToWorker } from './protocol.js';

const WORKER_URL = new URL('./query-worker.js', import.meta.url);
const QUICK_CRASH_MS = 1000;
const MAX_RESPAWN_DELAY_MS = 30_000;
const CLOSE_TIMEOUT_MS = 10_000;
/** Slice length for a request without a Timeslice (strfry's default timeslice). */
const DEFAULT_SLICE_MS = 10;

interface Slot {
  worker: Worker | undefined;
  ready: boolean;
  readonly inflight: Map<number, Inflight>;
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

  /** The query's chunks, or undefined when no worker is ready (query in the event loop then). */
  run(job: FrameQuery, timeslice?: Timeslice): AsyncIterableIterator<FrameChunk> | undefined {
    const slot = this.leastBusy();
    if (slot === undefined) return undefined;
    const id = this.nextId++;
    const stream = new ChunkStream(this.lineTo(slot, id), timeslice);
    this.send(slot, id, stream, { type: 'query', id, sliceMs: timeslice?.ms ?? DEFAULT_SLICE_MS, ...job });
    return stream;
  }

  /** The count's answer, or undefined when no worker is ready (counted in the event loop then). */
  count(
    filters: readonly NormalizedFilter[],
    limits: CountLimits,
    timeslice?: Timeslice,
  ): Promise<CountResult> | undefined {
    const slot = this.leastBusy();
    if (slot === undefined) return undefined;
    const id = this.nextId++;
    const call = new CountCall(this.lineTo(slot, id), timeslice);
    this.send(slot, id, call, {
      type: 'count',
      id,
      filters,
      limits,
      sliceMs: timeslice?.ms ?? DEFAULT_SLICE_MS,
    });
    return call.result;
  }

  private leastBusy(): Slot | undefined {
    if (this.closing) return undefined;
    let best: Slot | undefined;
    for (const slot of this.slots) {
      if (!slot.ready || slot.worker === undefined) continue;
      if (best === undefined || slot.inflight.size < best.inflight.size) best = slot;
    }
    return best;
  }

  private lineTo(slot: Slot, id: number): WorkerLine {
    const worker = slot.worker!;
    return {
      resume: () => worker.postMessage({ type: 'resume', id } satisfies ToWorker),
      cancel: () => worker.postMessage({ type: 'cancel', id } satisfies ToWorker),
    };
  }

  private send(slot: Slot, id: number, inflight: Inflight, request: ToWorker): void {
    slot.inflight.set(id, inflight);
    if (slot.inflight.size === 1) slot.worker!.ref();
    slot.worker!.postMessage(request);
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
      const inflight = slot.inflight.get(message.id);
      if (message.type === 'chunk') {
        inflight?.chunk(message);
        return;
      }
      if (message.type === 'paused') {
        inflight?.paused();
        return;
      }
      slot.inflight.delete(message.id);
      if (slot.inflight.size === 0) worker.unref();
      inflight?.finish(message.error === undefined ? undefined : new Error(message.error), message.count);
    });
    worker.on('error', (err) => {
      lastError = err;
    });
    worker.on('exit', (code) => {
      if (slot.worker !== worker) return;
      slot.worker = undefined;
      slot.ready = false;
      const error = new Error(`query worker exited (${lastError?.message ?? `code ${code}`})`);
      for (const inflight of slot.inflight.values()) inflight.finish(error);
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
