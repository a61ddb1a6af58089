/**
 * The store's side of its writer thread (writer-worker.ts): save() posts the event's canonical
 * JSON and resolves with the outcome once the writer's transaction holding it has committed.
 *
 * - onCommitted runs before the saves of a batch resolve (the store renews its read snapshot
 *   there, so what resolved is visible to this thread's next read).
 * - A writer that dies fails the saves it holds ("error: ..."; a save it had committed before
 *   dying is then in the store although refused, and a retry is answered as a duplicate: never
 *   the other way round) and is respawned, with a growing delay if it keeps dying at once.
 *   Saves made meanwhile wait for the new writer, at most BACKLOG_MAX of them (beyond, "error:").
 * - Idle, the worker is unref'd: it never keeps the process alive by itself.
 * - close() lets the writer commit what it holds, close its environment and exit.
 */
import { Worker } from 'node:worker_threads';
import { Reasons } from '../../../errors.js';
import type { Logger } from '../../../logger.js';
import type { SaveResult } from '../../event-store.js';
import type { FromWriter, ToWriter, WriterData } from './protocol.js';

const WORKER_URL = new URL('./writer-worker.js', import.meta.url);
const QUICK_CRASH_MS = 1000;
const MAX_RESPAWN_DELAY_MS = 10_000;
const CLOSE_TIMEOUT_MS = 30_000;
/** Saves waiting for a respawning writer, at most. */
const BACKLOG_MAX = 10_000;

export interface WriterThreadOptions extends WriterData {
  readonly logger: Logger;
  /** After a batch has committed, before its saves resolve. */
  readonly onCommitted: () => void;
}

export class WriterThread {
  private worker!: Worker;
  /** False between a writer's death and its replacement's start. */
  private live = false;
  private backlog: ToWriter[] = [];
  private readonly inflight = new Map<number, (result: SaveResult) => void>();
  private nextId = 1;
  private spawnedAt = 0;
  private quickCrashes = 0;
  private respawnTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: WriterThreadOptions) {
    this.spawn();
  }

  save(raw: string): Promise<SaveResult> {
    if (this.closing !== undefined) return Promise.resolve(closedResult());
    if (!this.live && this.backlog.length >= BACKLOG_MAX)
      return Promise.resolve({
        stored: false,
        reason: Reasons.storeFailed('the writer thread is restarting'),
      });
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.inflight.set(id, resolve);
      if (this.inflight.size === 1 && this.live) this.worker.ref();
      this.post({ type: 'save', id, raw });
    });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.respawnTimer !== undefined) clearTimeout(this.respawnTimer);
      if (!this.live) {
        for (const request of this.backlog)
          if (request.type === 'save') this.answer(request.id, closedResult());
        this.backlog = [];
        return;
      }
      const worker = this.worker;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.ref();
      this.post({ type: 'close' });
      const timer = setTimeout(() => void worker.terminate(), CLOSE_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    })();
    return this.closing;
  }

  private post(message: ToWriter): void {
    if (this.live) this.worker.postMessage(message);
    else this.backlog.push(message);
  }

  private answer(id: number, result: SaveResult): void {
    const resolve = this.inflight.get(id);
    this.inflight.delete(id);
    resolve?.(result);
  }

  private spawn(): void {
    const { logger: _logger, onCommitted: _onCommitted, ...data } = this.options;
    const worker = new Worker(WORKER_URL, { workerData: data satisfies WriterData });
    this.worker = worker;
    this.live = true;
    this.spawnedAt = Date.now();
    if (this.inflight.size === 0) worker.unref();
    worker.on('message', (message: FromWriter) => this.onMessage(message));
    worker.on('error', (err) => this.options.logger.error({ err: err.message }, 'LMDB writer thread failed'));
    worker.on('exit', (code) => this.onExit(worker, code));
    const waiting = this.backlog;
    this.backlog = [];
    for (const message of waiting) worker.postMessage(message);
  }

  private onMessage(message: FromWriter): void {
    if (message.type !== 'saved') return;
    this.quickCrashes = 0;
    this.options.onCommitted();
    for (let i = 0; i < message.ids.length; i++) this.answer(message.ids[i]!, message.results[i]!);
    if (this.inflight.size === 0 && this.closing === undefined) this.worker.unref();
  }

  private onExit(worker: Worker, code: number): void {
    if (worker !== this.worker) return;
    this.live = false;
    const lost = [...this.inflight.values()];
    this.inflight.clear();
    for (const resolve of lost)
      resolve({ stored: false, reason: Reasons.storeFailed('the writer thread stopped') });
    if (this.closing !== undefined) return;
    this.options.logger.error({ code, lost: lost.length }, 'LMDB writer thread exited: respawning');
    this.quickCrashes = Date.now() - this.spawnedAt < QUICK_CRASH_MS ? this.quickCrashes + 1 : 0;
    const delay = Math.min(MAX_RESPAWN_DELAY_MS, this.quickCrashes === 0 ? 0 : 100 * 2 ** this.quickCrashes);
    this.respawnTimer = setTimeout(() => {
      this.respawnTimer = undefined;
      if (this.closing === undefined) this.spawn();
    }, delay);
  }
}

function closedResult(): SaveResult {
  return { stored: false, reason: Reasons.storeFailed('the store is closed') };
}
