/**
 * A query worker thread: opens the relay's LMDB store (the environment is shared with the main
 * thread, so reads see every commit once the read snapshot is renewed) and answers REQ filters
 * with ready EVENT frames, applying the same limit, expiry, restricted- and hidden-kind rules as the
 * in-loop path (src/relay/query-executor.ts), and COUNTs; each request in slices of its
 * `sliceMs` (protocol.ts). Each result is copied once, from
 * lmdb's read buffer straight into the outgoing chunk (LmdbEventStore.scan); chunks of about
 * CHUNK_BYTES leave as they fill, so a large result never sits whole in the worker.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadCollector } from '../../../gc.js';
import type { NostrEvent } from '../../../protocol/event.js';
import { FrameChunkBuilder } from '../../frame-chunks.js';
import { FrameVisibility } from '../../frame-visibility.js';
import type { FrameChunk } from '../../query-frames.js';
import { LmdbEventStore } from '../lmdb-store.js';
import { afterMs, type CountScan, type FilterScan } from '../sliced-scans.js';
import type { CountRequest, FromWorker, QueryRequest, RequestDone, ToWorker } from './protocol.js';

const CHUNK_BYTES = 256 * 1024;

interface WorkerData {
  readonly dataDir: string;
}

const port = parentPort;
if (!port) throw new Error('query-worker.ts runs as a worker thread');
const store = LmdbEventStore.open((workerData as WorkerData).dataDir);

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

/**
 * The worker's one chunk builder: one slice runs at a time and ends with a flush, so the
 * builder is empty between slices and its scratch buffer serves every request.
 */
const chunks = new FrameChunkBuilder(CHUNK_BYTES);

function postChunk(id: number, chunk: FrameChunk | undefined): void {
  if (chunk === undefined) return;
  producedSinceCollect += chunk.data.length;
  post({ type: 'chunk', id, ...chunk }, [chunk.data.buffer as ArrayBuffer, chunk.ends.buffer as ArrayBuffer]);
}

/** One request in the worker: started on its first slice, kept between slices until done. */
interface Task {
  /** Runs one slice; true when the request is finished. */
  step(): boolean;
  /** The final message's extra fields (a count's result). */
  result(): Pick<RequestDone, 'count'>;
  close(): void;
}

function queryTask(request: QueryRequest): Task {
  const visibility = new FrameVisibility(request);
  let count = 0;
  let scan: FilterScan | undefined;
  const visit = (json: Buffer, kind: number, parsed: NostrEvent | undefined): boolean => {
    const id = visibility.admit(json, kind, parsed);
    if (id === undefined) return true;
    postChunk(request.id, chunks.add(request.prefix, json, id));
    return ++count < request.limit;
  };
  return {
    step() {
      if (request.limit <= 0) return true;
      if (scan === undefined) {
        store.refreshReads();
        scan = store.filterScan(request.filter, request.now);
      }
      const done = scan.run(visit, afterMs(request.sliceMs));
      postChunk(request.id, chunks.take());
      return done;
    },
    result: () => ({}),
    close: () => scan?.close(),
  };
}

function countTask(request: CountRequest): Task {
  let scan: CountScan | undefined;
  return {
    step() {
      if (scan === undefined) {
        store.refreshReads();
        scan = store.countScan(request.filters, request.limits);
      }
      return scan.run(afterMs(request.sliceMs));
    },
    result: () => ({ count: scan!.result() }),
    close: () => scan?.close(),
  };
}

/**
 * Requests ready for a slice wait here and run one slice per turn of the worker's event loop,
 * oldest first, so a `cancel` for one (its REQ was closed or replaced) is seen before it runs,
 * and requests in one worker take turns. A request that used its slice waits in `paused` until
 * the relay gives it its next turn (`resume`).
 */
const ready = new Map<number, Task>();
const paused = new Map<number, Task>();
let scheduled = false;
let closing = false;

/** Chunk bytes a worker may produce before it collects its own heap once it falls idle. */
const COLLECT_AFTER_BYTES = 16 * 1_048_576;
const IDLE_COLLECT_MS = 1000;
const collect = loadCollector();
let producedSinceCollect = 0;
let idleTimer: NodeJS.Timeout | undefined;

/** After a burst, an idle worker gives its garbage back (it would otherwise keep it until it allocates again). */
function collectWhenIdle(): void {
  if (
    collect === undefined ||
    producedSinceCollect < COLLECT_AFTER_BYTES ||
    ready.size > 0 ||
    paused.size > 0
  )
    return;
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    if (ready.size > 0 || paused.size > 0) return;
    producedSinceCollect = 0;
    collect();
  }, IDLE_COLLECT_MS);
  idleTimer.unref();
}

function runNext(): void {
  scheduled = false;
  const next = ready.entries().next();
  if (next.done) {
    if (closing) void store.close().then(() => port!.close());
    else collectWhenIdle();
    return;
  }
  clearTimeout(idleTimer);
  const [id, task] = next.value;
  ready.delete(id);
  try {
    if (task.step()) {
      task.close();
      post({ type: 'done', id, ...task.result() });
    } else {
      paused.set(id, task);
      post({ type: 'paused', id });
    }
  } catch (err) {
    task.close();
    post({ type: 'done', id, error: err instanceof Error ? err.message : String(err) });
  }
  schedule();
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(runNext);
}

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'close':
      closing = true;
      for (const task of paused.values()) task.close();
      paused.clear();
      schedule();
      return;
    case 'cancel': {
      const task = ready.get(message.id) ?? paused.get(message.id);
      if (task === undefined) return;
      ready.delete(message.id);
      paused.delete(message.id);
      task.close();
      post({ type: 'done', id: message.id });
      return;
    }
    case 'resume': {
      const task = paused.get(message.id);
      if (task === undefined) return;
      paused.delete(message.id);
      ready.set(message.id, task);
      schedule();
      return;
    }
    case 'query':
      ready.set(message.id, queryTask(message));
      schedule();
      return;
    case 'count':
      ready.set(message.id, countTask(message));
      schedule();
  }
});
post({ type: 'ready' });
