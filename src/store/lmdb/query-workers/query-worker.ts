/**
 * A query worker thread: opens the relay's LMDB store (the environment is shared with the main
 * thread, so reads see every commit once the read snapshot is renewed) and answers one REQ
 * filter at a time with ready EVENT frames, applying the same limit, expiry and restricted-kind
 * rules as the in-loop path (src/relay/handlers/req.ts). Each result is copied once, from
 * lmdb's read buffer straight into the outgoing chunk (LmdbEventStore.scan); chunks of about
 * CHUNK_BYTES leave as they fill, so a large result never sits whole in the worker.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { NostrEvent } from '../../../protocol/event.js';
import { isVisibleTo } from '../../../protocol/visibility.js';
import { LmdbEventStore } from '../lmdb-store.js';
import { idOfStoredJson } from '../stored-event.js';
import type { FromWorker, QueryRequest, ToWorker } from './protocol.js';

const CHUNK_BYTES = 256 * 1024;
const CLOSE_BRACKET = 0x5d;

interface WorkerData {
  readonly dataDir: string;
}

const port = parentPort;
if (!port) throw new Error('query-worker.ts runs as a worker thread');
const store = LmdbEventStore.open((workerData as WorkerData).dataDir);

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

/** The worker's one scratch buffer (requests run one at a time); outgoing chunks are exact copies. */
let scratch = Buffer.allocUnsafe(CHUNK_BYTES);

class ChunkWriter {
  private data = scratch;
  private length = 0;
  private ends: number[] = [];
  private ids = '';

  constructor(private readonly id: number) {}

  add(prefix: Uint8Array, json: Uint8Array, id: string): void {
    const size = prefix.length + json.length + 1;
    if (this.length + size > this.data.length) {
      if (this.length > 0) this.flush();
      // One event larger than a chunk: a buffer of its own, kept as the scratch if it is not huge.
      if (size > this.data.length) {
        this.data = Buffer.allocUnsafe(size);
        if (size <= 4 * CHUNK_BYTES) scratch = this.data;
      }
    }
    this.data.set(prefix, this.length);
    this.data.set(json, this.length + prefix.length);
    this.data[this.length + size - 1] = CLOSE_BRACKET;
    this.length += size;
    this.ends.push(this.length);
    this.ids += id;
  }

  flush(): void {
    if (this.ends.length === 0) return;
    const data = new Uint8Array(this.length);
    data.set(this.data.subarray(0, this.length));
    const ends = Uint32Array.from(this.ends);
    post({ type: 'chunk', id: this.id, data, ends, ids: this.ids }, [data.buffer, ends.buffer]);
    this.length = 0;
    this.ends = [];
    this.ids = '';
  }
}

function run(request: QueryRequest): void {
  store.refreshReads();
  const restricted = new Set(request.restrictedKinds);
  const authed = new Set(request.authed);
  const out = new ChunkWriter(request.id);
  let count = 0;
  if (request.limit > 0) {
    store.scan(request.filter, { now: request.now }, (json, kind, parsed) => {
      if (request.checkRestricted && restricted.has(kind)) {
        const event = parsed ?? (JSON.parse(json.toString('utf8')) as NostrEvent);
        if (!isVisibleTo(event, authed)) return true;
      }
      const id = idOfStoredJson(json) ?? (parsed ?? (JSON.parse(json.toString('utf8')) as NostrEvent)).id;
      out.add(request.prefix, json, id);
      return ++count < request.limit;
    });
  }
  out.flush();
}

/**
 * Requests wait here and run one per turn of the worker's event loop, so a `cancel` for a
 * request that has not started yet (its REQ was closed or replaced) is seen before it runs.
 */
const waiting = new Map<number, QueryRequest>();
let scheduled = false;
let closing = false;

function runNext(): void {
  scheduled = false;
  const next = waiting.entries().next();
  if (next.done) {
    if (closing) void store.close().then(() => port!.close());
    return;
  }
  const [id, request] = next.value;
  waiting.delete(id);
  try {
    run(request);
    post({ type: 'done', id });
  } catch (err) {
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
      schedule();
      return;
    case 'cancel':
      if (waiting.delete(message.id)) post({ type: 'done', id: message.id });
      return;
    case 'query':
      waiting.set(message.id, message);
      schedule();
  }
});
post({ type: 'ready' });
