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
 *   meta           "layout" -> layout version
 *
 * Writes: every save runs as one lmdb-js async transaction callback; callbacks queued while a
 * commit is in progress share the next one. The environment is opened with overlappingSync
 * off, so a commit is an ordinary synchronous LMDB commit (data and meta page fsync'd before
 * it returns) and `save` resolving means durable. (Measured: this is also faster than
 * overlappingSync plus awaiting `flushed`.) Each callback does all its reads and checks
 * before its first write, so a rejected save leaves nothing behind. (lmdb-js does not roll
 * back a plain transaction callback that throws half-way; only an LMDB error could do that
 * here. childTransaction would make it atomic at about 25% of write throughput.)
 */

import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type Database, open, type RootDatabase } from 'lmdb';
import { Reasons } from '../../errors.js';
import type { Logger } from '../../logger.js';
import {
  dTag,
  expirationOf,
  isExpired,
  isHex64,
  type NostrEvent,
  nowSeconds,
  serializeEvent,
} from '../../protocol/event.js';
import { matchesNothing, matchFilter, type NormalizedFilter } from '../../protocol/filter.js';
import { isAddressable, isEphemeral, isVersioned, KIND_DELETION } from '../../protocol/kinds.js';
import type {
  EventStore,
  EventWrap,
  NegentropyItems,
  QueryOptions,
  SaveResult,
  StoredEvent,
  StoreStats,
} from '../event-store.js';
import type { FrameChunk, FrameQuery } from '../query-frames.js';
import { hexToBytes, readSerial, readU64, serialBytes, writeU64 } from './codec.js';
import { deletionTargets } from './deletion.js';
import {
  addressKey,
  EventIndexKeys,
  expiryEnd,
  expiryKey,
  FLAG_EXPIRES,
  orderSuffix,
  SUFFIX_FLAGS,
  SUFFIX_KIND,
  SUFFIX_LEN,
  SUFFIX_SERIAL,
  tombstoneKey,
} from './index-keys.js';
import { mergeRanges } from './merge.js';
import { ItemCollector } from './negentropy-items.js';
import { type CandidateCheck, planQuery, type QueryPlan } from './query-plan.js';
import { QueryPool } from './query-workers/query-pool.js';
import { LazyStoredEvent } from './stored-event.js';
import { SyncBackedAsyncIterator } from './sync-async-iterator.js';

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
  /** Where the query workers report crashes (with queryWorkers). */
  readonly logger?: Logger;
}

/** Bumped whenever the on-disk layout changes incompatibly. */
const LAYOUT_VERSION = 2;
const DATA_FILE = 'orly.lmdb';
const DEFAULT_MAX_READERS = 512;
const EMPTY = Buffer.alloc(0);
/** Removals per transaction in purgeExpired. */
const PURGE_BATCH = 1000;
/** count/negentropy yield to the event loop after this many candidates. */
const YIELD_EVERY = 20_000;

type BinaryDb = Database<Buffer, Buffer>;

/** What save computes before entering the write transaction. */
interface PreparedEvent {
  readonly event: NostrEvent;
  readonly raw: string;
  readonly id: Buffer;
  readonly pubkey: Buffer;
  readonly indexKeys: EventIndexKeys;
  readonly address: Buffer | undefined;
  readonly expiration: number | undefined;
}

export class LmdbEventStore implements EventStore {
  private readonly root: RootDatabase;
  private readonly events: Database<string, number>;
  private readonly ids: BinaryDb;
  private readonly index: BinaryDb;
  private readonly versions: BinaryDb;
  private readonly deletedIds: BinaryDb;
  private readonly deletedAddrs: BinaryDb;
  private readonly expiry: BinaryDb;
  private readonly eventBytes: Database<Buffer, number>;
  private readonly dataFile: string;
  /** Highest serial handed out (inside write transactions). */
  private serial: number;
  /** Highest serial known to be committed. */
  private committedSerial: number;
  private readonly pending = new Set<Promise<unknown>>();
  private closing: Promise<void> | undefined;

  private constructor(dir: string, options: LmdbStoreOptions) {
    mkdirSync(dir, { recursive: true });
    this.dataFile = join(dir, DATA_FILE);
    this.root = open({
      path: this.dataFile,
      noSubdir: true,
      maxDbs: 16,
      // Commit == fsync'd (see the header); never noSync / useWritemap.
      overlappingSync: false,
      ...(options.mapSize !== undefined ? { mapSize: options.mapSize } : {}),
      maxReaders: options.maxReaders ?? DEFAULT_MAX_READERS,
    });
    const binary = { keyEncoding: 'binary', encoding: 'binary' } as const;
    this.events = this.root.openDB<string, number>('events', { encoding: 'string' });
    // The same database read as bytes: query results go to the wire without a decode/encode round trip.
    this.eventBytes = this.root.openDB<Buffer, number>('events', { encoding: 'binary' });
    this.ids = this.root.openDB<Buffer, Buffer>('ids', binary);
    this.index = this.root.openDB<Buffer, Buffer>('index', binary);
    this.versions = this.root.openDB<Buffer, Buffer>('versions', binary);
    this.deletedIds = this.root.openDB<Buffer, Buffer>('deleted-ids', binary);
    this.deletedAddrs = this.root.openDB<Buffer, Buffer>('deleted-addrs', binary);
    this.expiry = this.root.openDB<Buffer, Buffer>('expiry', binary);
    const meta = this.root.openDB<number, string>('meta', {});
    const layout = meta.get('layout');
    if (layout === undefined) {
      meta.putSync('layout', LAYOUT_VERSION);
    } else if (layout !== LAYOUT_VERSION) {
      void this.root.close();
      throw new Error(`${this.dataFile}: unsupported layout version ${layout} (expected ${LAYOUT_VERSION})`);
    }
    let last = 0;
    for (const key of this.events.getKeys({ reverse: true, limit: 1 })) last = key;
    this.serial = last;
    this.committedSerial = last;
  }

  /** Opens (creating if needed) the store in `dir`; the data file is `dir/orly.lmdb`. */
  static open(dir: string, options: LmdbStoreOptions = {}): LmdbEventStore {
    const store = new LmdbEventStore(dir, options);
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

  /** Resolves once the query workers (if any) are ready to take requests. */
  async workersReady(): Promise<void> {
    await this.queryPool?.ready();
  }

  /**
   * One REQ filter answered by a query worker as ready frames; undefined without workers or
   * while none is ready (the caller then queries in the event loop).
   */
  queryFrames(request: FrameQuery): AsyncIterableIterator<FrameChunk> | undefined {
    return this.queryPool?.run(request);
  }

  isOpen(): boolean {
    return this.closing === undefined;
  }

  // ---------------------------------------------------------------- writes

  async save(event: NostrEvent, raw?: string): Promise<SaveResult> {
    if (isEphemeral(event.kind)) throw new Error(`ephemeral kind ${event.kind} must not be stored`);
    if (this.closing) return { stored: false, reason: Reasons.storeFailed('the store is closed') };
    const prepared = prepare(event, raw);
    return this.track(async () => {
      try {
        const result = await this.root.transaction(() => this.applySave(prepared));
        if (result.stored && result.serial > this.committedSerial) this.committedSerial = result.serial;
        return result;
      } catch (error) {
        return { stored: false, reason: Reasons.storeFailed(errorMessage(error)) };
      }
    });
  }

  async deleteByIds(ids: readonly string[]): Promise<number> {
    this.assertOpen();
    const valid = ids.filter((id) => isHex64(id));
    if (valid.length === 0) return 0;
    return this.track(async () => {
      return this.root.transaction(() => {
        let n = 0;
        for (const id of valid) if (this.removeById(hexToBytes(id))) n++;
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
        this.root.transaction(() => {
          const batch = [...this.expiry.getRange({ end, limit: PURGE_BATCH })];
          let count = 0;
          for (const { key, value } of batch) {
            const serial = readSerial(value, 0);
            const event = this.loadEvent(serial);
            if (event === undefined) {
              this.expiry.removeSync(key);
              continue;
            }
            this.removeStored(serial, event);
            count++;
          }
          return { count, more: batch.length === PURGE_BATCH };
        }),
      );
      total += removed.count;
      if (!removed.more || this.closing) return total;
    }
  }

  /** Runs inside the write transaction: all checks first, then all writes. */
  private applySave(p: PreparedEvent): SaveResult {
    const { event } = p;
    const existing = this.ids.get(p.id);
    if (existing !== undefined) {
      return { stored: true, duplicate: true, serial: readSerial(existing, 0), removed: [] };
    }
    if (event.kind !== KIND_DELETION && this.deletedIds.doesExist(tombstoneKey(p.id, p.pubkey))) {
      return { stored: false, reason: Reasons.deleted };
    }
    let replaced: { serial: number; event: NostrEvent } | undefined;
    if (p.address !== undefined) {
      const deletedAt = this.deletedAddrs.get(p.address);
      if (deletedAt !== undefined && readU64(deletedAt, 0) >= event.created_at) {
        return { stored: false, reason: Reasons.deleted };
      }
      const current = this.versions.get(p.address);
      if (current !== undefined) {
        const serial = readSerial(current, 0);
        const old = this.loadEvent(serial);
        if (old !== undefined) {
          if (
            old.created_at > event.created_at ||
            (old.created_at === event.created_at && old.id < event.id)
          ) {
            return {
              stored: false,
              reason: isAddressable(event.kind) ? Reasons.olderAddressable : Reasons.olderReplaceable,
            };
          }
          replaced = { serial, event: old };
        }
      }
    }

    const removed: string[] = [];
    if (replaced !== undefined) {
      this.removeStored(replaced.serial, replaced.event);
      removed.push(replaced.event.id);
    }
    if (event.kind === KIND_DELETION) this.applyDeletion(event, p.pubkey, removed);

    const serial = ++this.serial;
    const serialValue = serialBytes(serial);
    this.events.putSync(serial, p.raw);
    this.ids.putSync(p.id, serialValue);
    for (const key of p.indexKeys.keys(serial)) this.index.putSync(key, EMPTY);
    if (p.address !== undefined) this.versions.putSync(p.address, serialValue);
    if (p.expiration !== undefined) this.expiry.putSync(expiryKey(p.expiration, p.id), serialValue);
    return { stored: true, duplicate: false, serial, removed };
  }

  /** NIP-09, inside the write transaction of the deletion request itself. */
  private applyDeletion(deletion: NostrEvent, deleter: Buffer, removed: string[]): void {
    const { ids, addresses } = deletionTargets(deletion);
    for (const id of ids) {
      const idBytes = hexToBytes(id);
      this.deletedIds.putSync(tombstoneKey(idBytes, deleter), EMPTY);
      const value = this.ids.get(idBytes);
      if (value === undefined) continue;
      const serial = readSerial(value, 0);
      const target = this.loadEvent(serial);
      if (target === undefined || target.pubkey !== deletion.pubkey || target.kind === KIND_DELETION)
        continue;
      this.removeStored(serial, target);
      removed.push(target.id);
    }
    for (const address of addresses) {
      const key = addressKey(deleter, address.kind, address.d)!;
      const previous = this.deletedAddrs.get(key);
      if (previous === undefined || readU64(previous, 0) < deletion.created_at) {
        const at = Buffer.allocUnsafe(8);
        writeU64(at, 0, deletion.created_at);
        this.deletedAddrs.putSync(key, at);
      }
      const current = this.versions.get(key);
      if (current === undefined) continue;
      const serial = readSerial(current, 0);
      const target = this.loadEvent(serial);
      if (target === undefined || target.created_at > deletion.created_at) continue;
      this.removeStored(serial, target);
      removed.push(target.id);
    }
  }

  private removeById(id: Buffer): boolean {
    const value = this.ids.get(id);
    if (value === undefined) return false;
    const serial = readSerial(value, 0);
    const event = this.loadEvent(serial);
    if (event === undefined) {
      this.ids.removeSync(id);
      return false;
    }
    this.removeStored(serial, event);
    return true;
  }

  /** Removes one stored event and every entry that refers to it (inside a write transaction). */
  private removeStored(serial: number, event: NostrEvent): void {
    const id = hexToBytes(event.id);
    const pubkey = hexToBytes(event.pubkey);
    this.events.removeSync(serial);
    this.ids.removeSync(id);
    for (const key of new EventIndexKeys(event, id, pubkey).keys(serial)) this.index.removeSync(key);
    const address = isVersioned(event.kind) ? addressKey(pubkey, event.kind, dTag(event)) : undefined;
    if (address !== undefined) {
      const current = this.versions.get(address);
      if (current !== undefined && readSerial(current, 0) === serial) this.versions.removeSync(address);
    }
    const expiration = expirationOf(event);
    if (expiration !== undefined) this.expiry.removeSync(expiryKey(expiration, id));
  }

  private loadEvent(serial: number): NostrEvent | undefined {
    const raw = this.events.get(serial);
    return raw === undefined ? undefined : (JSON.parse(raw) as NostrEvent);
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
    const produce = (): StoredEvent | undefined => {
      if (candidates === undefined) {
        // Planned on the first pull, like a generator body: a closed store rejects there.
        this.assertOpen();
        if (limit === 0 || matchesNothing(filter)) return undefined;
        const plan = planQuery(filter);
        check = checkOf(plan);
        now = options?.now ?? nowSeconds();
        candidates = this.candidates(plan)[Symbol.iterator]();
      }
      if (sent >= limit) return undefined;
      for (;;) {
        if (signal?.aborted) return undefined;
        const next = candidates.next();
        if (next.done) return undefined;
        const stored = this.accept(next.value, filter, check, now, wrap);
        if (stored !== undefined) {
          // At the limit, release the cursors now rather than on the next pull.
          if (++sent >= limit) candidates.return?.();
          return stored;
        }
      }
    };
    return new SyncBackedAsyncIterator(produce, () => candidates?.return?.());
  }

  /**
   * The results of `filter` in query order, visited synchronously (LMDB-specific; for the
   * relay's query workers, which copy each result straight into a larger buffer): `visit` gets
   * the stored JSON as a view of lmdb's shared read buffer, valid only during the call (no
   * store reads inside it), its kind, and the parsed event when a check needed one. Returning
   * false stops; `filter.limit` counts visits.
   */
  scan(
    filter: NormalizedFilter,
    options: { readonly now?: number },
    visit: (json: Buffer, kind: number, parsed: NostrEvent | undefined) => boolean,
  ): void {
    this.assertOpen();
    const limit = filter.limit ?? Number.POSITIVE_INFINITY;
    if (limit === 0 || matchesNothing(filter)) return;
    const plan = planQuery(filter);
    const check = checkOf(plan);
    const now = options.now ?? nowSeconds();
    const candidates = this.candidates(plan)[Symbol.iterator]();
    let visited = 0;
    try {
      for (let next = candidates.next(); !next.done; next = candidates.next()) {
        const hit = this.acceptView(next.value, filter, check, now);
        if (hit === undefined) continue;
        if (!visit(hit.view, hit.kind, hit.event) || ++visited >= limit) break;
      }
    } finally {
      candidates.return?.();
    }
  }

  async count(filters: readonly NormalizedFilter[], options?: QueryOptions): Promise<number> {
    this.assertOpen();
    const now = options?.now ?? nowSeconds();
    const max = options?.max ?? Number.POSITIVE_INFINITY;
    const live = filters.filter((f) => !matchesNothing(f));
    const seen = live.length > 1 ? new Set<number>() : undefined;
    let total = 0;
    let work = 0;
    for (const filter of live) {
      const plan = planQuery(filter);
      const check = checkOf(plan);
      for (const key of this.candidates(plan)) {
        if (++work % YIELD_EVERY === 0) await yieldToLoop();
        if (!this.matches(key, filter, check, now)) continue;
        if (seen === undefined) total++;
        else seen.add(readSerial(key, key.length - SUFFIX_LEN + SUFFIX_SERIAL));
        if ((seen?.size ?? total) >= max) return max;
      }
    }
    return seen === undefined ? total : seen.size;
  }

  async negentropyItems(filter: NormalizedFilter, max: number): Promise<NegentropyItems | undefined> {
    this.assertOpen();
    const now = nowSeconds();
    const unlimited: NormalizedFilter = { ...filter, limit: undefined };
    const plan = matchesNothing(unlimited) ? undefined : planQuery(unlimited);
    // One range (the common case: no filter, since/until, one kind or author): lmdb's key
    // iterator directly, oldest first (no merge generator, finished in place).
    const single = plan?.type === 'index' && plan.ranges.length === 1 ? plan.ranges[0]! : undefined;
    // The created_at index holds one key per event: size the arrays once (no growth copies).
    const capacity =
      plan?.type === 'index' && plan.index === 'created'
        ? Math.min(storedEventCount(this.eventBytes) + 1, max + 1)
        : undefined;
    const items = new ItemCollector(single ? 'oldest-first' : 'newest-first', capacity);
    if (plan !== undefined) {
      const check = checkOf(plan);
      const keys = single
        ? this.index.getKeys({ start: single.end, end: single.start, reverse: true })
        : this.candidates(plan);
      let work = 0;
      for (const key of keys) {
        if (++work % YIELD_EVERY === 0) await yieldToLoop();
        if (!this.matches(key, unlimited, check, now)) continue;
        if (items.count >= max) return undefined;
        items.push(key);
      }
    }
    return items.finish();
  }

  async getById(id: string): Promise<StoredEvent | undefined> {
    this.assertOpen();
    if (!isHex64(id)) return undefined;
    const value = this.ids.get(hexToBytes(id));
    if (value === undefined) return undefined;
    const serial = readSerial(value, 0);
    const bytes = this.eventBytes.get(serial);
    return bytes === undefined ? undefined : new LazyStoredEvent(serial, bytes);
  }

  async *eventsSince(after: number, limit: number): AsyncGenerator<StoredEvent, void, undefined> {
    this.assertOpen();
    if (!(limit > 0)) return;
    const start = Math.max(0, Math.floor(after)) + 1;
    for (const { key, value } of this.eventBytes.getRange({ start, limit })) {
      yield new LazyStoredEvent(key, value);
    }
  }

  /**
   * Makes the next read in this thread start a new snapshot. lmdb-js renews a thread's read
   * snapshot on a timer; a reader in another thread than the writer (a query worker) calls this
   * before each query, so it sees every commit made before the request.
   */
  refreshReads(): void {
    this.root.resetReadTxn();
  }

  async lastSerial(): Promise<number> {
    return this.committedSerial;
  }

  async stats(): Promise<StoreStats> {
    this.assertOpen();
    const entries = (this.events.getStats() as { entryCount?: number }).entryCount ?? 0;
    let bytes = 0;
    try {
      bytes = statSync(this.dataFile).size;
    } catch {
      bytes = 0;
    }
    return { events: entries, bytes, lastSerial: this.committedSerial };
  }

  async close(): Promise<void> {
    this.closing ??= (async () => {
      await this.queryPool?.close();
      while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
      await this.root.close();
    })();
    return this.closing;
  }

  // ---------------------------------------------------------------- internals

  /** Index keys (or, for an ids plan, synthesized key suffixes) in result order. */
  private candidates(plan: QueryPlan): Iterable<Buffer> {
    if (plan.type === 'index') return mergeRanges(this.index, plan.ranges);
    const keys: Buffer[] = [];
    const seen = new Set<string>();
    for (const id of plan.ids) {
      if (seen.has(id) || !isHex64(id)) continue;
      seen.add(id);
      const idBytes = hexToBytes(id);
      const value = this.ids.get(idBytes);
      if (value === undefined) continue;
      const serial = readSerial(value, 0);
      const event = this.loadEvent(serial);
      if (event === undefined) continue;
      keys.push(orderSuffix(event, idBytes, serial));
    }
    return keys.sort((a, b) => Buffer.compare(a, b));
  }

  /**
   * The candidate's stored JSON if it passes the plan's checks and has not expired, as a view
   * of lmdb's shared read buffer (getBinaryFast): valid only until the next read in this
   * thread. With its kind and serial, and the parsed event when a check needed it.
   */
  private acceptView(
    key: Buffer,
    filter: NormalizedFilter,
    check: CandidateCheck,
    now: number,
  ): Hit | undefined {
    const off = key.length - SUFFIX_LEN;
    const kind = readKind(key, off);
    if (check.kinds !== undefined && !check.kinds.includes(kind)) return undefined;
    const serial = readSerial(key, off + SUFFIX_SERIAL);
    const shared = this.eventBytes.getBinaryFast(serial);
    if (shared === undefined) return undefined;
    // lmdb-js sets `length` of its shared buffer to the value's size; byteLength is the whole
    // buffer (which Buffer#copy would use), so everything goes through an exact view.
    const view = Buffer.from(shared.buffer, shared.byteOffset, shared.length);
    let event: NostrEvent | undefined;
    if (check.postFilter || (check.needles !== undefined && !includesAny(view, check.needles))) {
      event = JSON.parse(view.toString('utf8')) as NostrEvent;
      if (!matchFilter(filter, event)) return undefined;
    }
    if ((key[off + SUFFIX_FLAGS]! & FLAG_EXPIRES) !== 0) {
      event ??= JSON.parse(view.toString('utf8')) as NostrEvent;
      if (isExpired(event, now)) return undefined;
    }
    return { view, kind, serial, event };
  }

  /** acceptView, copied once (straight into its wrap when the query asked for one). */
  private accept(
    key: Buffer,
    filter: NormalizedFilter,
    check: CandidateCheck,
    now: number,
    wrap?: EventWrap,
  ): LazyStoredEvent | undefined {
    const hit = this.acceptView(key, filter, check, now);
    if (hit === undefined) return undefined;
    const size = hit.view.length;
    if (wrap === undefined) {
      const bytes = Buffer.allocUnsafe(size);
      bytes.set(hit.view, 0);
      return new LazyStoredEvent(hit.serial, bytes, hit.event, hit.kind);
    }
    const head = wrap.prefix.length;
    const wrapped = Buffer.allocUnsafe(head + size + wrap.suffix.length);
    wrapped.set(wrap.prefix, 0);
    wrapped.set(hit.view, head);
    wrapped.set(wrap.suffix, head + size);
    return new LazyStoredEvent(hit.serial, wrapped.subarray(head, head + size), hit.event, hit.kind, wrapped);
  }

  /** Like accept, but without reading the event when the index key alone decides. */
  private matches(key: Buffer, filter: NormalizedFilter, check: CandidateCheck, now: number): boolean {
    const off = key.length - SUFFIX_LEN;
    if (!check.postFilter && check.needles === undefined && (key[off + SUFFIX_FLAGS]! & FLAG_EXPIRES) === 0) {
      return check.kinds === undefined || check.kinds.includes(readKind(key, off));
    }
    return this.accept(key, filter, check, now) !== undefined;
  }

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

function prepare(event: NostrEvent, raw = serializeEvent(event)): PreparedEvent {
  const id = hexToBytes(event.id);
  const pubkey = hexToBytes(event.pubkey);
  return {
    event,
    raw,
    id,
    pubkey,
    indexKeys: new EventIndexKeys(event, id, pubkey),
    address: isVersioned(event.kind) ? addressKey(pubkey, event.kind, dTag(event)) : undefined,
    expiration: expirationOf(event),
  };
}

/** An ids plan reads events by id: every candidate gets the full filter. */
const POINT_LOOKUP_CHECK: CandidateCheck = { kinds: undefined, postFilter: true, needles: undefined };

function checkOf(plan: QueryPlan): CandidateCheck {
  return plan.type === 'index' ? plan : POINT_LOOKUP_CHECK;
}

function readKind(key: Buffer, suffixOffset: number): number {
  return (key[suffixOffset + SUFFIX_KIND]! << 8) | key[suffixOffset + SUFFIX_KIND + 1]!;
}

/** A candidate that passed (see acceptView). */
interface Hit {
  readonly view: Buffer;
  readonly kind: number;
  readonly serial: number;
  readonly event: NostrEvent | undefined;
}

function includesAny(bytes: Buffer, needles: readonly string[]): boolean {
  for (const needle of needles) if (bytes.includes(needle)) return true;
  return false;
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
