/**
 * The event store on PostgreSQL (ORLY_DB_TYPE=postgres): every role of EventStore, the change
 * feed included, so several relays can share one database. The schema and its reasons are in
 * schema.ts, applied by migrations.ts when the store opens; the save path and its locking in
 * write-path.ts; reads and the serial horizon of the sync role in read-path.ts (filters as SQL in
 * filter-sql.ts); the change feed in change-feed.ts; the state role in state-table.ts; the read
 * replica in read-routing.ts; isOpen's reachability in reachability.ts.
 *
 * Two pools on the primary (connection.ts): one for saves, removals, the sync, state and admin
 * roles and the change feed, one for queries, count and negentropy, so that saves never wait for a
 * connection behind long queries; the change feed's LISTEN has a connection of its own. Writes go
 * through track(): close() waits for them before it ends the pools.
 */
import { randomInt } from 'node:crypto';
import { Reasons } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { isHex64, type NostrEvent, serializeEvent } from '../../protocol/event.js';
import type { NormalizedFilter } from '../../protocol/filter.js';
import { isEphemeral } from '../../protocol/kinds.js';
import type {
  CountResult,
  EventStore,
  NegentropyItems,
  QueryOptions,
  SaveResult,
  StoredEvent,
  StoreStats,
} from '../event-store.js';
import { indexedTags } from '../lmdb/index-keys.js';
import { PostgresChangeFeed } from './change-feed.js';
import type { PostgresStoreConfig } from './config.js';
import { describeError, openPool, retrying, type Sql } from './connection.js';
import { hexArray } from './keys.js';
import { type MigrationResult, migrate } from './migrations.js';
import { isConnectionError, Reachability } from './reachability.js';
import {
  countEvents,
  eventById,
  eventsSince,
  lastSerial,
  negentropyItems,
  queryEvents,
} from './read-path.js';
import { ReadRouting } from './read-routing.js';
import { PostgresStateTable } from './state-table.js';
import { runSave, saveParams } from './write-path.js';

export interface PostgresStoreOptions {
  readonly logger?: Logger;
  /** application_name of the connections (default "orly"). */
  readonly name?: string;
}

/** Rows removed per statement by purgeExpired. */
const PURGE_BATCH = 1000;
/** Ids per statement of deleteByIds. */
const DELETE_BATCH = 1000;

const PURGE =
  'SELECT cardinality(orly_remove(ARRAY(SELECT serial FROM events WHERE expiration <= $1::bigint ' +
  'ORDER BY expiration LIMIT $2::bigint)))::float8 AS n';
const DELETE_IDS =
  'SELECT cardinality(orly_remove(ARRAY(SELECT serial FROM events WHERE id = ANY ($1::bytea[]))))::float8 AS n';
/**
 * The event count is exact while the planner's estimate of the table is below a million rows (or
 * unknown: never analyzed), else that estimate: a count(*) of a large table on every /metrics
 * scrape would cost seconds.
 */
const STATS =
  'SELECT (CASE WHEN c.reltuples < 1000000 THEN (SELECT count(*) FROM events) ELSE c.reltuples::bigint END)::float8 AS events, ' +
  'pg_database_size(current_database())::float8 AS bytes ' +
  "FROM pg_class c WHERE c.oid = 'events'::regclass";

/** How long open() waits for a server that refuses connections (one starting beside the relay). */
const OPEN_WAIT_MS = 10_000;

/** The migrations, retried while the server cannot be reached, for up to OPEN_WAIT_MS. */
async function migrateWhenReachable(sql: Sql, logger: Logger | undefined): Promise<void> {
  const deadline = Date.now() + OPEN_WAIT_MS;
  for (;;) {
    try {
      await migrate(sql);
      return;
    } catch (error) {
      if (!isConnectionError(error) || Date.now() >= deadline) throw error;
      logger?.warn({ err: describeError(error) }, 'PostgreSQL not reachable yet; retrying');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

export class PostgresEventStore implements EventStore {
  private readonly feed: PostgresChangeFeed;
  private readonly state: PostgresStateTable;
  private readonly pending = new Set<Promise<unknown>>();
  private closing: Promise<void> | undefined;
  private readonly reach: Reachability;

  private constructor(
    private readonly sql: Sql,
    /** The primary's pool for queries, count and negentropy (writes never wait behind them). */
    private readonly reads: Sql,
    private readonly routing: ReadRouting,
    private readonly replica: Sql | undefined,
    private readonly maxIndexedTags: number,
    logger: Logger | undefined,
  ) {
    this.feed = new PostgresChangeFeed(sql, randomInt(1, 2 ** 47), logger);
    this.state = new PostgresStateTable(sql, () => this.assertOpen());
    this.reach = new Reachability(sql);
  }

  /** Connects, applies the migrations the database lacks, and opens the store. */
  static async open(
    config: PostgresStoreConfig,
    options: PostgresStoreOptions = {},
  ): Promise<PostgresEventStore> {
    const name = options.name ?? 'orly';
    const sql = openPool(config.url, config, name);
    try {
      await migrateWhenReachable(sql, options.logger);
    } catch (error) {
      await sql.end({ timeout: 1 });
      throw error;
    }
    const reads = openPool(config.url, config, `${name}-reads`);
    const replica =
      config.readUrl === undefined ? undefined : openPool(config.readUrl, config, `${name}-replica`);
    const routing = new ReadRouting(reads, replica, options.logger);
    return new PostgresEventStore(sql, reads, routing, replica, config.maxIndexedTags, options.logger);
  }

  /** Applies the migrations the database lacks, without opening a store (`orly migrate`). */
  static async migrate(config: PostgresStoreConfig): Promise<MigrationResult> {
    const sql = openPool(config.url, { ...config, poolSize: 1 }, 'orly-migrate');
    try {
      return await migrate(sql);
    } finally {
      await sql.end({ timeout: 1 });
    }
  }

  /** Not closed, and the server reachable at the last statement (reachability.ts). */
  isOpen(): boolean {
    return this.closing === undefined && this.reach.reachable;
  }

  // ---------------------------------------------------------------- writes

  async save(event: NostrEvent, raw?: string): Promise<SaveResult> {
    if (isEphemeral(event.kind)) throw new Error(`ephemeral kind ${event.kind} must not be stored`);
    if (this.closing) return { stored: false, reason: Reasons.storeFailed('the store is closed') };
    if (!isHex64(event.id) || !isHex64(event.pubkey))
      return { stored: false, reason: Reasons.badShape('id and pubkey must be 64 lowercase hex characters') };
    const tags = indexedTags(event);
    if (tags.length > this.maxIndexedTags)
      return { stored: false, reason: Reasons.tooManyIndexedTags(tags.length, this.maxIndexedTags) };
    const params = saveParams(event, raw ?? serializeEvent(event), tags, this.feed.origin);
    return this.track(async () => {
      const result = await runSave(this.sql, event, params, this.reach);
      if (result.stored && !result.duplicate) {
        this.routing.noteWrite();
        this.feed.announceSaved(result.serial);
      }
      return result;
    });
  }

  async deleteByIds(ids: readonly string[]): Promise<number> {
    this.assertOpen();
    const valid = [...new Set(ids.filter(isHex64))];
    let removed = 0;
    for (let i = 0; i < valid.length; i += DELETE_BATCH) {
      const batch = hexArray(valid.slice(i, i + DELETE_BATCH));
      const [row] = await this.track(() =>
        this.reach.watch(retrying(() => this.sql.unsafe<{ n: number }[]>(DELETE_IDS, [batch]).execute())),
      );
      removed += row?.n ?? 0;
    }
    return removed;
  }

  async purgeExpired(now: number): Promise<number> {
    this.assertOpen();
    if (Number.isNaN(now)) return 0;
    const until = Math.min(Number.MAX_SAFE_INTEGER, Math.floor(now));
    let total = 0;
    for (;;) {
      const [row] = await this.track(() =>
        this.reach.watch(
          retrying(() =>
            this.sql
              .unsafe<{ n: number }[]>(PURGE, [until, PURGE_BATCH] as never[], { prepare: true })
              .execute(),
          ),
        ),
      );
      const n = row?.n ?? 0;
      total += n;
      if (n < PURGE_BATCH || this.closing) return total;
    }
  }

  // ---------------------------------------------------------------- reads

  query(filter: NormalizedFilter, options?: QueryOptions): AsyncIterableIterator<StoredEvent, undefined> {
    return this.queryWithFallback(filter, options);
  }

  private async *queryWithFallback(
    filter: NormalizedFilter,
    options: QueryOptions | undefined,
  ): AsyncGenerator<StoredEvent, undefined, undefined> {
    this.assertOpen();
    const pool = this.routing.reads();
    let yielded = false;
    try {
      for await (const stored of queryEvents(pool, filter, options)) {
        yielded = true;
        yield stored;
      }
    } catch (error) {
      if (yielded || !this.routing.failed(pool, error)) {
        if (pool === this.reads) this.reach.failed(error);
        throw error;
      }
      yield* queryEvents(this.reads, filter, options);
    }
    if (pool === this.reads) this.reach.ok();
    return undefined;
  }

  async count(filters: readonly NormalizedFilter[], options?: QueryOptions): Promise<CountResult> {
    this.assertOpen();
    return this.onReads((pool) => countEvents(pool, filters, options));
  }

  async negentropyItems(filter: NormalizedFilter, max: number): Promise<NegentropyItems | undefined> {
    this.assertOpen();
    return this.onReads((pool) => negentropyItems(pool, filter, max));
  }

  async getById(id: string): Promise<StoredEvent | undefined> {
    this.assertOpen();
    if (!isHex64(id)) return undefined;
    return this.reach.watch(eventById(this.sql, id));
  }

  /** Fresh planner statistics after an import (autovacuum would take a minute or more to get there). */
  async afterBulkLoad(): Promise<void> {
    this.assertOpen();
    await this.reach.watch(this.sql.unsafe('ANALYZE events, tags'));
  }

  async *eventsSince(after: number, limit: number): AsyncGenerator<StoredEvent, void, undefined> {
    this.assertOpen();
    yield* eventsSince(this.sql, after, limit);
  }

  async lastSerial(): Promise<number> {
    return this.reach.watch(lastSerial(this.sql));
  }

  async stats(): Promise<StoreStats> {
    this.assertOpen();
    const [row] = await this.reach.watch(
      this.sql.unsafe<{ events: number; bytes: number }[]>(STATS).execute(),
    );
    return { events: row?.events ?? 0, bytes: row?.bytes ?? 0, lastSerial: await lastSerial(this.sql) };
  }

  // ---------------------------------------------------------------- change feed (change-feed.ts)

  watch(listener: (event: StoredEvent) => void): () => void {
    return this.feed.watch(listener);
  }

  async broadcast(event: NostrEvent): Promise<void> {
    this.assertOpen();
    return this.reach.watch(this.feed.broadcast(event));
  }

  // ---------------------------------------------------------------- state (state-table.ts)

  getState(key: string): Promise<string | undefined> {
    return this.reach.watch(this.state.getState(key));
  }

  putState(entries: ReadonlyArray<readonly [key: string, value: string | undefined]>): Promise<void> {
    return this.track(() => this.reach.watch(this.state.putState(entries)));
  }

  listState(prefix: string, limit: number, after?: string): Promise<Array<[string, string]>> {
    return this.reach.watch(this.state.listState(prefix, limit, after));
  }

  async close(): Promise<void> {
    this.closing ??= (async () => {
      while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
      await this.feed.close();
      await this.routing.close();
      this.reach.close();
      await this.replica?.end({ timeout: 5 });
      await this.reads.end({ timeout: 5 });
      await this.sql.end({ timeout: 5 });
    })();
    return this.closing;
  }

  // ---------------------------------------------------------------- internals

  private async onReads<T>(work: (pool: Sql) => Promise<T>): Promise<T> {
    const pool = this.routing.reads();
    try {
      const result = await work(pool);
      if (pool === this.reads) this.reach.ok();
      return result;
    } catch (error) {
      if (!this.routing.failed(pool, error)) {
        if (pool === this.reads) this.reach.failed(error);
        throw error;
      }
      return this.reach.watch(work(this.reads));
    }
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
