/**
 * VerifierPool: BIP-340 signature verification on a pool of worker threads, cheap per event.
 *
 * - Requests are queued and sent to a worker in batches: a batch is flushed when it reaches
 *   `maxBatch` items (default 128) or on the next setImmediate, whichever comes first.
 * - A batch travels as ONE string (id + pubkey + sig hex per item); the worker answers with a
 *   Uint8Array of 0/1 results whose buffer is transferred. Workers answer in order, so each
 *   worker keeps a FIFO of its in-flight batches and no request ids are needed.
 * - A batch goes to the live worker with the fewest outstanding items.
 * - A worker that dies (uncaught error, OOM, killed) has its pending requests rejected and is
 *   respawned (with a growing delay if it keeps dying right after start). While no worker is
 *   alive, batches are verified inline so the relay keeps working.
 * - Idle workers are unref'd: they never keep the process alive by themselves. A worker is
 *   ref'd while it has outstanding items, so awaiting a verify does keep the process alive.
 * - With `workers: 0` every verify runs inline, synchronously, on the calling thread.
 * - close() rejects everything pending and shuts the workers down cooperatively (a shared stop
 *   flag, then a close message): never worker.terminate(), which aborts the whole process when
 *   it interrupts bcrypto's native code. For the same reason, call close() before process.exit()
 *   while verifies may be in flight.
 */
import { Worker } from 'node:worker_threads';
import { isHex64, isHex128 } from '../protocol/event.js';
import { verifySchnorr } from './schnorr.js';
import type { SignatureVerifier } from './signature-verifier.js';

export interface VerifierPoolOptions {
  /** Number of worker threads; 0 verifies inline on the calling thread. */
  workers: number;
  /** Items per batch message (default 128). */
  maxBatch?: number;
  /** Called when a worker dies unexpectedly (before it is respawned), e.g. to log it. */
  onWorkerExit?: (error: Error) => void;
}

/** dist/src/crypto/verify-worker.js next to this module at runtime. */
const WORKER_URL = new URL('./verify-worker.js', import.meta.url);

const DEFAULT_MAX_BATCH = 128;
/** A worker that dies sooner than this after its start counts as crash-looping. */
const QUICK_CRASH_MS = 1000;
const MAX_RESPAWN_DELAY_MS = 30_000;
/** close() falls back to terminate() for a worker that has not exited after this long. */
const CLOSE_TIMEOUT_MS = 10_000;

interface Batch {
  /** Concatenated id + pubkey + sig hex of every item (emptied once posted). */
  data: string;
  count: number;
  resolves: ((valid: boolean) => void)[];
  rejects: ((error: Error) => void)[];
}

interface Slot {
  readonly index: number;
  worker: Worker | undefined;
  /** Items posted to the worker and not yet answered. */
  outstanding: number;
  /** Posted batches, oldest first: the worker answers them in this order. */
  inflight: Batch[];
  lastError: Error | undefined;
  spawnedAt: number;
  quickCrashes: number;
  respawnTimer: NodeJS.Timeout | undefined;
}

function newBatch(): Batch {
  return { data: '', count: 0, resolves: [], rejects: [] };
}

function rejectBatch(batch: Batch, error: Error): void {
  for (const reject of batch.rejects) reject(error);
}

/** Verifies a batch on this thread (fallback when no worker is alive). */
function verifyBatchInline(batch: Batch): void {
  const data = batch.data;
  for (let i = 0, o = 0; i < batch.count; i++, o += 256) {
    batch.resolves[i]!(
      verifySchnorr(data.slice(o, o + 64), data.slice(o + 64, o + 128), data.slice(o + 128, o + 256)),
    );
  }
}

/** Asks a worker to stop (the stop flag is already set) and resolves once it has exited. */
function shutDown(worker: Worker): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => void worker.terminate(), CLOSE_TIMEOUT_MS);
    worker.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    worker.ref(); // keep the process alive until the worker is gone
    worker.postMessage({ type: 'close' });
  });
}

export class VerifierPool implements SignatureVerifier {
  private readonly slots: Slot[] = [];
  private readonly maxBatch: number;
  private readonly onWorkerExit: ((error: Error) => void) | undefined;
  /** The batch being filled, not yet posted. */
  private open: Batch | undefined;
  private flushScheduled = false;
  private closed = false;
  private closing: Promise<void> | undefined;
  /** Shared with every worker: set to 1 by close() so workers drop their queues. */
  private readonly stop = new Int32Array(new SharedArrayBuffer(4));

  constructor(options: VerifierPoolOptions) {
    const workers = options.workers;
    if (!Number.isInteger(workers) || workers < 0) {
      throw new RangeError('workers must be a non-negative integer');
    }
    const maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
    if (!Number.isInteger(maxBatch) || maxBatch < 1) {
      throw new RangeError('maxBatch must be a positive integer');
    }
    this.maxBatch = maxBatch;
    this.onWorkerExit = options.onWorkerExit;
    for (let index = 0; index < workers; index++) {
      const slot: Slot = {
        index,
        worker: undefined,
        outstanding: 0,
        inflight: [],
        lastError: undefined,
        spawnedAt: 0,
        quickCrashes: 0,
        respawnTimer: undefined,
      };
      this.slots.push(slot);
      this.spawn(slot);
    }
  }

  /** Number of worker threads this pool was configured with (0 = inline). */
  get size(): number {
    return this.slots.length;
  }

  /** Items queued or in flight (for metrics). */
  get pending(): number {
    let n = this.open?.count ?? 0;
    for (const slot of this.slots) n += slot.outstanding;
    return n;
  }

  verify(id: string, pubkey: string, sig: string): Promise<boolean> {
    if (this.closed) return Promise.reject(new Error('verifier pool is closed'));
    if (!isHex64(id) || !isHex64(pubkey) || !isHex128(sig)) return Promise.resolve(false);
    if (this.slots.length === 0) return Promise.resolve(verifySchnorr(id, pubkey, sig));
    return new Promise<boolean>((resolve, reject) => {
      let batch = this.open;
      if (batch === undefined) {
        batch = newBatch();
        this.open = batch;
        if (!this.flushScheduled) {
          this.flushScheduled = true;
          setImmediate(this.flush);
        }
      }
      batch.data += id + pubkey + sig;
      batch.count++;
      batch.resolves.push(resolve);
      batch.rejects.push(reject);
      if (batch.count >= this.maxBatch) {
        this.open = undefined;
        this.dispatch(batch);
      }
    });
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    Atomics.store(this.stop, 0, 1);
    const error = new Error('verifier pool is closed');
    if (this.open) {
      rejectBatch(this.open, error);
      this.open = undefined;
    }
    const exits: Promise<void>[] = [];
    for (const slot of this.slots) {
      if (slot.respawnTimer) clearTimeout(slot.respawnTimer);
      slot.respawnTimer = undefined;
      const inflight = slot.inflight;
      slot.inflight = [];
      slot.outstanding = 0;
      for (const batch of inflight) rejectBatch(batch, error);
      const worker = slot.worker;
      slot.worker = undefined;
      if (worker) exits.push(shutDown(worker));
    }
    this.closing = Promise.all(exits).then(() => undefined);
    return this.closing;
  }

  /**
   * Test hook: makes worker `index` die as if it had crashed (it throws on the next message
   * it reads, so batches posted after this call in the same tick are rejected).
   */
  crashWorkerForTesting(index: number): void {
    this.slots[index]?.worker?.postMessage({ type: 'crash' });
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    const batch = this.open;
    if (batch === undefined) return;
    this.open = undefined;
    this.dispatch(batch);
  };

  private dispatch(batch: Batch): void {
    let best: Slot | undefined;
    for (const slot of this.slots) {
      if (slot.worker === undefined) continue;
      if (best === undefined || slot.outstanding < best.outstanding) best = slot;
    }
    if (best === undefined || best.worker === undefined) {
      verifyBatchInline(batch);
      return;
    }
    if (best.outstanding === 0) best.worker.ref();
    best.outstanding += batch.count;
    best.inflight.push(batch);
    best.worker.postMessage(batch.data);
    batch.data = '';
  }

  private spawn(slot: Slot): void {
    slot.respawnTimer = undefined;
    if (this.closed) return;
    const worker = new Worker(WORKER_URL, {
      name: `orly-verify-${slot.index}`,
      workerData: { stop: this.stop.buffer },
      // Not the parent's flags: some (--input-type, --eval, loaders) break or slow a worker.
      execArgv: [],
    });
    slot.worker = worker;
    slot.lastError = undefined;
    slot.spawnedAt = Date.now();
    worker.on('message', (results: Uint8Array) => this.onResults(slot, worker, results));
    worker.on('error', (error: Error) => {
      if (slot.worker === worker) slot.lastError = error;
    });
    worker.on('exit', (code: number) => this.onExit(slot, worker, code));
    // After the listeners: adding a 'message' listener re-refs the worker's port.
    worker.unref();
  }

  private onResults(slot: Slot, worker: Worker, results: Uint8Array): void {
    if (slot.worker !== worker) return;
    const batch = slot.inflight.shift();
    if (batch === undefined) return;
    slot.outstanding -= batch.count;
    if (slot.outstanding === 0) worker.unref();
    slot.quickCrashes = 0;
    const n = Math.min(results.length, batch.count);
    for (let i = 0; i < n; i++) batch.resolves[i]!(results[i] === 1);
    if (n < batch.count) {
      const error = new Error(`verify worker answered ${results.length} results for ${batch.count} items`);
      for (let i = n; i < batch.count; i++) batch.rejects[i]!(error);
    }
  }

  private onExit(slot: Slot, worker: Worker, code: number): void {
    if (slot.worker !== worker) return; // terminated by close(), or already replaced
    slot.worker = undefined;
    const inflight = slot.inflight;
    slot.inflight = [];
    slot.outstanding = 0;
    const cause = slot.lastError;
    const error = new Error(
      `signature verification worker ${slot.index} exited unexpectedly (code ${code})` +
        (cause ? `: ${cause.message}` : ''),
      cause ? { cause } : undefined,
    );
    for (const batch of inflight) rejectBatch(batch, error);
    if (this.closed) return;
    this.onWorkerExit?.(error);
    slot.quickCrashes = Date.now() - slot.spawnedAt < QUICK_CRASH_MS ? slot.quickCrashes + 1 : 0;
    if (slot.quickCrashes === 0) {
      this.spawn(slot);
    } else {
      const delay = Math.min(100 * 2 ** slot.quickCrashes, MAX_RESPAWN_DELAY_MS);
      slot.respawnTimer = setTimeout(() => this.spawn(slot), delay);
      slot.respawnTimer.unref();
    }
  }
}
