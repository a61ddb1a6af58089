/**
 * `orly export`: writes stored events as JSONL, one canonical event JSON (StoredEvent.raw)
 * per line.
 *
 * Order: OLDEST FIRST by created_at, ties by id ascending (the reverse of NIP-01 query order).
 * The store serves neither order as a stream (serial order is insertion order, queries are
 * newest first), so the export runs in two passes:
 *   1. collect a compact key (created_at + 32-byte id, 40 bytes per event) for every event
 *      to export: all events via store.eventsSince() in pages when there is no filter, else
 *      store.query(filter) (so a filter `limit` exports the newest `limit` events);
 *   2. sort the keys, then fetch each event with store.getById() (a few hundred concurrently)
 *      and write its raw JSON, awaiting 'drain' whenever the output buffer is full.
 * Memory is bounded by the keys (40 bytes per event), never by the events themselves.
 * An event deleted between the passes is simply skipped. The output stream is not ended.
 */

import { matchesNothing, type NormalizedFilter } from '../protocol/filter.js';
import type { ClientStore, StoredEvent, SyncSource } from './event-store.js';

/** Events per eventsSince() page in pass 1. */
const PAGE_SIZE = 10_000;
/** getById() calls in flight together in pass 2. */
const FETCH_GROUP = 256;
/** Characters gathered before one write() to the output. */
const CHUNK_CHARS = 256 * 1024;

/** created_at + id of every event to export, packed (40 bytes per event). */
class KeyList {
  private createdAt = new Float64Array(1024);
  private ids = Buffer.alloc(1024 * 32);
  length = 0;

  push(createdAt: number, idHex: string): void {
    if (this.length === this.createdAt.length) {
      const createdAt = new Float64Array(this.length * 2);
      createdAt.set(this.createdAt);
      this.createdAt = createdAt;
      const ids = Buffer.alloc(this.length * 2 * 32);
      this.ids.copy(ids);
      this.ids = ids;
    }
    this.createdAt[this.length] = createdAt;
    this.ids.write(idHex, this.length * 32, 32, 'hex');
    this.length++;
  }

  idHex(i: number): string {
    return this.ids.toString('hex', i * 32, i * 32 + 32);
  }

  /** Indexes ordered by created_at ascending, then id bytes ascending (= hex ascending). */
  sortedOrder(): Uint32Array {
    const order = new Uint32Array(this.length);
    for (let i = 0; i < order.length; i++) order[i] = i;
    const { createdAt, ids } = this;
    let sorted = true;
    for (let i = 1; i < order.length && sorted; i++) sorted = this.compare(createdAt, ids, i - 1, i) <= 0;
    if (!sorted) order.sort((a, b) => this.compare(createdAt, ids, a, b));
    return order;
  }

  private compare(createdAt: Float64Array, ids: Buffer, a: number, b: number): number {
    const d = createdAt[a]! - createdAt[b]!;
    if (d !== 0) return d;
    for (let i = a * 32, j = b * 32, end = a * 32 + 32; i < end; i++, j++) {
      if (ids[i] !== ids[j]) return ids[i]! - ids[j]!;
    }
    return 0;
  }
}

async function* allEvents(store: SyncSource): AsyncGenerator<StoredEvent> {
  let after = 0;
  for (;;) {
    let n = 0;
    for await (const stored of store.eventsSince(after, PAGE_SIZE)) {
      n++;
      after = stored.serial;
      yield stored;
    }
    if (n < PAGE_SIZE) return;
  }
}

/** Writes `chunk`; when the stream's buffer is full, waits for 'drain' (or fails on error/close). */
function write(out: NodeJS.WritableStream, chunk: string): Promise<void> {
  if ((out as { destroyed?: boolean }).destroyed === true) {
    return Promise.reject(new Error('output stream closed before the export finished'));
  }
  if (out.write(chunk)) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      out.off('drain', onDrain);
      out.off('error', onError);
      out.off('close', onClose);
    };
    const onDrain = (): void => {
      cleanup();
      resolve();
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error('output stream closed before the export finished'));
    };
    out.on('drain', onDrain);
    out.on('error', onError);
    out.on('close', onClose);
  });
}

/**
 * Exports the events matching `filter` (all stored events when undefined) to `out` as JSONL,
 * oldest first by created_at. Resolves with the number of events written.
 */
export async function runExport(
  store: ClientStore & SyncSource,
  filter: NormalizedFilter | undefined,
  out: NodeJS.WritableStream,
): Promise<number> {
  if (filter !== undefined && matchesNothing(filter)) return 0;

  // A write error (EPIPE when piped into `head`, disk full) must fail the export, not the process.
  let streamError: Error | undefined;
  const onError = (error: Error): void => {
    streamError ??= error;
  };
  out.on('error', onError);
  try {
    const keys = new KeyList();
    const source = filter === undefined ? allEvents(store) : store.query(filter);
    for await (const stored of source) keys.push(stored.event.created_at, stored.event.id);

    const order = keys.sortedOrder();
    let written = 0;
    let chunk = '';
    for (let g = 0; g < order.length; g += FETCH_GROUP) {
      const group = order.subarray(g, Math.min(g + FETCH_GROUP, order.length));
      const events = await Promise.all(Array.from(group, (i) => store.getById(keys.idHex(i))));
      for (const stored of events) {
        if (stored === undefined) continue;
        chunk += stored.raw + '\n';
        written++;
      }
      if (chunk.length >= CHUNK_CHARS) {
        await write(out, chunk);
        chunk = '';
      }
      if (streamError) throw streamError;
    }
    if (chunk.length > 0) await write(out, chunk);
    if (streamError) throw streamError;
    return written;
  } finally {
    out.off('error', onError);
  }
}
