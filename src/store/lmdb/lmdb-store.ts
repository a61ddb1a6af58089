/**
 * The embedded event store: one LMDB environment (orly.lmdb) with named sub-databases.
 *
 *   events         serial (number) -> canonical JSON (string)
 *   ids            id 32 -> serial 6
 *   index          secondary index keys (see index-keys.ts) -> empty
 *   versions       address (index-keys.ts addressKey) -> serial 6 of the current version
 *   deleted-ids    [id 32][deleter pubkey 32] -> empty   (NIP-09 `e` tombstones)
 *   deleted-addrs  address -> 8-byte max created_at of the deletions naming it (`a` tombstones)
 *   expiry         [expiration 8][id 32] -> serial 6     (NIP-40)
 *   state          UTF-8 key -> string value              (the StateStore role: state-table.ts)
 *   meta           "layout" -> layout version
 *
 * Writes: every save runs as one lmdb-js async transaction callback; callbacks queued while a
 * commit is in progress share the next one; or, with writerThread, in batches on a thread of its
 * own (writer/writer-worker.ts), one synchronous transaction each. The environment is opened with overlappingSync
 * off, so a commit is an ordinary synchronous LMDB commit (data and meta page fsync'd before
 * it returns) and `save` resolving means durable. (Measured: this is also faster than
 * overlappingSync plus awaiting `flushed`.) Each callback does all its reads and checks
 * before its first write, so a rejected save leaves nothing behind. (lmdb-js does not roll
 * back a plain transaction callback that throws half-way; only an LMDB error could do that
 * here. childTransaction would make it atomic at about 25% of write throughput.)
 * A save of an event with more tag index entries than maxIndexedTags is refused (index-keys.ts).
 */

import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from 'lmdb';
import { Reasons } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { isHex64, type NostrEvent, nowSeconds, serializeEvent } from '../../protocol/event.js';
import { matchesNothing, type NormalizedFilter } from '../../protocol/filter.js';
import { isEphemeral } from '../../protocol/kinds.js';
import type {
  CountResult,
  EventStore,
  NegentropyItems,
  QueryOptions,
  SaveResult,
  StoredEvent,
  StoreStats,
  Timeslice,
} from '../event-store.js';
import type { FrameChunk, FrameQuery } from '../query-frames.js';
import { hexToBytes, readSerial } from './codec.js';
import { DEFAULT_MAX_INDEXED_TAGS, expiryEnd, indexedTags } from './index-keys.js';
import { collectNegentropyItems } from './negentropy-items.js';
import { type CandidateCheck, planQuery } from './query-plan.js';
import { QueryPool } from './query-workers/query-pool.js';
import { accept, candidates as candidatesOf, checkOf, POINT_LOOKUP_CHECK } from './read-path.js';
import { type CountLimits, CountScan, FilterScan, runCountScan, type ScanVisitor } from './sliced-scans.js';
import { LmdbStateTable } from './state-table.js';
import { LazyStoredEvent } from './stored-event.js';
import { PAUSE, SyncBackedAsyncIterator } from './sync-async-iterator.js';
import { LmdbTables } from './tables.js';
import { applySave, prepare, purgeExpiredBatch, removeById } from './write-path.js';
import { WriterThread } from './writer/writer-thread.js';

export interface LmdbStoreOptions {
  /** Initial map size in bytes (LMDB grows it on demand). */
  readonly mapSize?: number;
  /**
   * Maximum concurrent LMDB read transactions (default 512). A query iterator that is
   * suspended across commits keeps its snapshot's reader slot until it finishes.
   */
  readonly maxReaders?: number;
  /**
   * REQ query worker threads reading this store's environment (queryFrames); 0 or unset = none.
   * Worker threads open the store themselves without workers.
   */
  readonly queryWorkers?: number;
  /** Where the query workers and the writer thread report crashes (with queryWorkers, writerThread). */
  readonly logger?: Logger;
  /** Saves run on a writer thread (writer/writer-worker.ts) instead of the event loop; needs a logger. */
  readonly writerThread?: boolean;
  /** Saves of events with more tag index entries are refused (default DEFAULT_MAX_INDEXED_TAGS). */
  readonly maxIndexedTags?: number;
}

const DATA_FILE = 'orly.lmdb';
/** Removals per transaction in purgeExpired. */
const PURGE_BATCH = 1000;
/** count/negentropy yield to the event loop after this many candidates. */
const YIELD_EVERY = 20_000;

export class LmdbEventStore implements EventStore {
  private readonly t: LmdbTables;
  private readonly dataFile: string;
  /** Highest serial handed out (inside write transactions). */
  private serial: number;
  /** Highest serial known to be committed. */
  private committedSerial: number;
  private readonly pending = new Set<Promise<unknown>>();
  private closing: Promise<void> | undefined;
  private readonly maxIndexedTags: number;
  private readonly state: LmdbStateTable;

  private constructor(dir: string, options: LmdbStoreOptions) {
    this.maxIndexedTags = options.maxIndexedTags ?? DEFAULT_MAX_INDEXED_TAGS;
    mkdirSync(dir, { recursive: true });
    this.dataFile = join(dir, DATA_FILE);
    this.t = new LmdbTables(this.dataFile, options);
    let last = 0;
    for (const key of this.t.events.getKeys({ reverse: true, limit: 1 })) last = key;
    this.serial = last;
    this.committedSerial = last;
    this.state = new LmdbStateTable(this.t, {
      assertOpen: () => this.assertOpen(),
      write: (apply) => this.track(() => this.t.root.transaction(apply)),
    });
  }

  /** Opens (creating if needed) the store in `dir`; the data file is `dir/orly.lmdb`. */
  static open(dir: string, options: LmdbStoreOptions = {}): LmdbEventStore {
    const store = new LmdbEventStore(dir, options);
    if (options.writerThread === true && options.logger !== undefined)
      store.writer = new WriterThread({
        dataFile: store.dataFile,
        ...(options.mapSize !== undefined ? { mapSize: options.mapSize } : {}),
        ...(options.maxReaders !== undefined ? { maxReaders: options.maxReaders } : {}),
        maxIndexedTags: store.maxIndexedTags,
        logger: options.logger,
        onCommitted: () => store.t.root.resetReadTxn(),
      });
    if ((options.queryWorkers ?? 0) > 0 && options.logger !== undefined)
      store.queryPool = new QueryPool({
        dataDir: dir,
        workers: options.queryWorkers!,
        logger: options.logger,
      });
    return store;
  }

  /** The query worker threads (with LmdbStoreOptions.queryWorkers), for readiness and metrics. */
  queryPool: QueryPool | undefined;
  /** The writer thread (with LmdbStoreOptions.writerThread); undefined: saves run in the event loop. */
  private writer: WriterThread | undefined;

  /** Resolves once the query workers (if any) are ready to take requests. */
  async workersReady(): Promise<void> {
    await this.queryPool?.ready();
  }

  /**
   * One REQ filter answered by a query worker as ready frames; undefined without workers or
   * while none is ready (the caller then queries in the event loop).
   */
  queryFrames(request: FrameQuery, timeslice?: Timeslice): AsyncIterableIterator<FrameChunk> | undefined {
    return this.queryPool?.run(request, timeslice);
  }

  isOpen(): boolean {
    return this.closing === undefined;
  }

  // ---------------------------------------------------------------- writes

  async save(event: NostrEvent, raw?: string): Promise<SaveResult> {
    if (isEphemeral(event.kind)) throw new Error(`ephemeral kind ${event.kind} must not be stored`);
    if (this.closing) return { stored: false, reason: Reasons.storeFailed('the store is closed') };
    if (this.writer !== undefined) return this.track(() => this.saveOnWriter(raw ?? serializeEvent(event)));
    const tags = indexedTags(event);
    if (tags.length > this.maxIndexedTags)
      return { stored: false, reason: Reasons.tooManyIndexedTags(tags.length, this.maxIndexedTags) };
    const prepared = prepare(event, raw, tags);
    return this.track(async () => {
      try {
        const result = await this.t.root.transaction(() => applySave(this.t, prepared, () => ++this.serial));
        if (result.stored && result.serial > this.committedSerial) this.committedSerial = result.serial;
        return result;
      } catch (error) {
        return { stored: false, reason: Reasons.storeFailed(errorMessage(error)) };
      }
    });
  }

  private async saveOnWriter(raw: string): Promise<SaveResult> {
    const result = await this.writer!.save(raw);
    if (result.stored && result.serial > this.committedSerial) this.committedSerial = result.serial;
    return result;
  }

  async deleteByIds(ids: readonly string[]): Promise<number> {
    this.assertOpen();
    const valid = ids.filter((id) => isHex64(id));
    if (valid.length === 0) return 0;
    return this.track(async () => {
      return this.t.root.transaction(() => {
        let n = 0;
        for (const id of valid) if (removeById(this.t, hexToBytes(id))) n++;
        return n;
      });
    });
  }

  async purgeExpired(now: number): Promise<number> {
    this.assertOpen();
    const end = expiryEnd(now);
    let total = 0;
    for (;;) {
      const removed = await this.track(() =>
        this.t.root.transaction(() => purgeExpiredBatch(this.t, end, PURGE_BATCH)),
      );
      total += removed.count;
      if (!removed.more || this.closing) return total;
    }
  }

  // ---------------------------------------------------------------- reads

  query(filter: NormalizedFilter, options?: QueryOptions): AsyncIterableIterator<StoredEvent, undefined> {
    const limit = filter.limit ?? Number.POSITIVE_INFINITY;
    const signal = options?.signal;
    const wrap = options?.wrap;
    let candidates: Iterator<Buffer> | undefined;
    let check: CandidateCheck = POINT_LOOKUP_CHECK;
    let now = 0;
    let sent = 0;
    // Long runs of candidates that do not match pause: in the caller's timeslice, or a turn of the event loop.
    const slice = options?.timeslice;
    let examined = 0;
    const due =
      slice === undefined
        ? () => ++examined % YIELD_EVERY === 0
        : () => (++examined & 255) === 0 && slice.expired();
    const produce = (): StoredEvent | typeof PAUSE | undefined => {
      if (candidates === undefined) {
        // Planned on the first pull, like a generator body: a closed store rejects there.
        this.assertOpen();
        if (limit === 0 || matchesNothing(filter)) return undefined;
        const plan = planQuery(filter);
        check = checkOf(plan);
        now = options?.now ?? nowSeconds();
        candidates = candidatesOf(this.t, plan)[Symbol.iterator]();
      }
      if (sent >= limit) return undefined;
      for (;;) {
        if (signal?.aborted) return undefined;
        if (due()) return PAUSE;
        const next = candidates.next();
        if (next.done) return undefined;
        const stored = accept(this.t, next.value, filter, check, now, wrap);
        if (stored !== undefined) {
          // At the limit, release the cursors now rather than on the next pull.
          if (++sent >= limit) candidates.return?.();
          return stored;
        }
      }
    };
    return new SyncBackedAsyncIterator(
      produce,
      () => candidates?.return?.(),
      () => (slice === undefined ? yieldToLoop() : slice.pause()),
    );
  }

  /**
   * The results of `filter` in query order, visited synchronously (LMDB-specific; for the
   * relay's query workers, which copy each result straight into a larger buffer): `visit` gets
   * the stored JSON as a view of lmdb's shared read buffer, valid only during the call (no
   * store reads inside it), its kind, and the parsed event when a check needed one. Returning
   * false stops; `filter.limit` counts visits. filterScan() is the same in slices.
   */
  scan(filter: NormalizedFilter, options: { readonly now?: number }, visit: ScanVisitor): void {
    const scan = this.filterScan(filter, options.now ?? nowSeconds());
    try {
      scan.run(visit, () => false);
    } finally {
      scan.close();
    }
  }

  /** scan() as a FilterScan, run in slices by its caller (a query worker). */
  filterScan(filter: NormalizedFilter, now: number): FilterScan {
    this.assertOpen();
    return new FilterScan(this.t, filter, now);
  }

  /** count() as a CountScan, run in slices by its caller (a query worker). */
  countScan(filters: readonly NormalizedFilter[], limits: CountLimits): CountScan {
    this.assertOpen();
    return new CountScan(this.t, filters, limits);
  }

  /**
   * On a query worker when one is ready (off the event loop), else here in slices: with the
   * caller's timeslice, pausing when it is used; without, yielding every YIELD_EVERY candidates.
   */
  async count(filters: readonly NormalizedFilter[], options?: QueryOptions): Promise<CountResult> {
    this.assertOpen();
    const limits: CountLimits = {
      now: options?.now ?? nowSeconds(),
      max: options?.max ?? Number.POSITIVE_INFINITY,
      maxScan: options?.maxScan ?? Number.POSITIVE_INFINITY,
      ...(options?.excludeKinds === undefined ? {} : { excludeKinds: options.excludeKinds }),
    };
    const slice = options?.timeslice;
    const pooled = this.queryPool?.count(filters, limits, slice);
    if (pooled !== undefined) return pooled;
    return runCountScan(new CountScan(this.t, filters, limits), slice, YIELD_EVERY);
  }

  async negentropyItems(filter: NormalizedFilter, max: number): Promise<NegentropyItems | undefined> {
    this.assertOpen();
    return collectNegentropyItems(this.t, filter, max, storedEventCount(this.t.eventBytes), yieldToLoop);
  }

  async getById(id: string): Promise<StoredEvent | undefined> {
    this.assertOpen();
    if (!isHex64(id)) return undefined;
    const value = this.t.ids.get(hexToBytes(id));
    if (value === undefined) return undefined;
    const serial = readSerial(value, 0);
    const bytes = this.t.eventBytes.get(serial);
    return bytes === undefined ? undefined : new LazyStoredEvent(serial, bytes);
  }

  async *eventsSince(after: number, limit: number): AsyncGenerator<StoredEvent, void, undefined> {
    this.assertOpen();
    if (!(limit > 0)) return;
    const start = Math.max(0, Math.floor(after)) + 1;
    for (const { key, value } of this.t.eventBytes.getRange({ start, limit })) {
      yield new LazyStoredEvent(key, value);
    }
  }

  /**
   * Makes the next read in this thread start a new snapshot. lmdb-js renews a thread's read
   * snapshot on a timer; a reader in another thread than the writer (a query worker) calls this
   * before each query, so it sees every commit made before the request.
   */
  refreshReads(): void {
    this.t.root.resetReadTxn();
  }

  async lastSerial(): Promise<number> {
    return this.committedSerial;
  }

  async stats(): Promise<StoreStats> {
    this.assertOpen();
    const bytes = statSync(this.dataFile, { throwIfNoEntry: false })?.size ?? 0;
    return { events: storedEventCount(this.t.eventBytes), bytes, lastSerial: this.committedSerial };
  }

  async close(): Promise<void> {
    this.closing ??= (async () => {
      await this.queryPool?.close();
      while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
      await this.writer?.close();
      await this.t.root.close();
    })();
    return this.closing;
  }

  // ---------------------------------------------------------------- state (state-table.ts)

  getState(key: string): Promise<string | undefined> {
    return this.state.getState(key);
  }

  putState(entries: ReadonlyArray<readonly [key: string, value: string | undefined]>): Promise<void> {
    return this.state.putState(entries);
  }

  listState(prefix: string, limit: number, after?: string): Promise<Array<[string, string]>> {
    return this.state.listState(prefix, limit, after);
  }

  // ---------------------------------------------------------------- internals

  private assertOpen(): void {
    if (this.closing) throw new Error('the event store is closed');
  }

  private track<T>(work: () => Promise<T>): Promise<T> {
    const promise = work();
    this.pending.add(promise);
    void promise.finally(() => this.pending.delete(promise)).catch(() => {});
    return promise;
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Entries of the events database (LMDB keeps the count: O(1)); lmdb-js types getStats() as {}. */
function storedEventCount(db: Database<Buffer, number>): number {
  const stats = db.getStats() as { entryCount?: unknown };
  return typeof stats.entryCount === 'number' ? stats.entryCount : 0;
}

function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
