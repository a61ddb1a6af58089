/**
 * The PostgreSQL store's reads: query (a bounded filter in one round trip, a larger one through a
 * cursor so that memory stays bounded and breaking out stops the scan), count (with `max`,
 * `maxScan` and `excludeKinds`), negentropy items, getById, and the sync role's serial order.
 *
 * eventsSince never skips an event that commits late. A serial is the writing transaction's id
 * (schema.ts), and a snapshot's xmin is the oldest transaction still running when it was taken:
 * every transaction below it has ended, committed (and visible in that snapshot) or aborted
 * (never visible). So the events with serial < horizon (orly_horizon(): xmin + serial_base) form
 * a final set — no event below the horizon can appear later — and eventsSince returns only those.
 * An event committed while an older transaction is still running waits until that one ends
 * (milliseconds, for saves); lastSerial() is the newest serial below the horizon, so reading on
 * from it misses nothing either.
 */
import { type NostrEvent, nowSeconds } from '../../protocol/event.js';
import { matchesNothing, type NormalizedFilter } from '../../protocol/filter.js';
import type { CountResult, EventWrap, NegentropyItems, QueryOptions, StoredEvent } from '../event-store.js';
import { LazyStoredEvent } from '../lmdb/stored-event.js';
import type { Sql } from './connection.js';
import { countStatement, negentropyStatement, queryStatement, type Statement } from './filter-sql.js';

/** Queries with a limit up to this are read in one round trip; others through a cursor. */
const FETCH_ALL_MAX = 1000;
const CURSOR_BATCH = 500;
const NEGENTROPY_BATCH = 10_000;

export interface EventRow {
  readonly serial: number;
  readonly kind: number;
  readonly raw: string;
}

/** A row as a StoredEvent. */
export function toStored(row: EventRow, event?: NostrEvent): StoredEvent {
  return new LazyStoredEvent(row.serial, row.raw, event, row.kind);
}

/** A query row as the wire's bytes (`raw()`): serial and kind as decimal text, the JSON as UTF-8. */
type WireRow = [Buffer, Buffer, Buffer];

/**
 * A wire row as a StoredEvent: the JSON's bytes are copied once, into the receiver's frame when
 * `wrap` is given, and never decoded to a string on the way (the relay sends bytes).
 */
function fromWire(row: WireRow, wrap: EventWrap | undefined): StoredEvent {
  const [serial, kind, json] = row;
  if (wrap === undefined)
    return new LazyStoredEvent(decimal(serial), Buffer.from(json), undefined, decimal(kind));
  const head = wrap.prefix.length;
  const size = json.length;
  const wrapped = Buffer.allocUnsafe(head + size + wrap.suffix.length);
  wrapped.set(wrap.prefix, 0);
  wrapped.set(json, head);
  wrapped.set(wrap.suffix, head + size);
  return new LazyStoredEvent(
    decimal(serial),
    wrapped.subarray(head, head + size),
    undefined,
    decimal(kind),
    wrapped,
  );
}

/** A decimal integer column's text (serial, kind: ASCII digits, maybe a minus sign). */
function decimal(text: Buffer): number {
  return Number(text.toString('latin1'));
}

function run<T extends readonly unknown[]>(sql: Sql, statement: Statement) {
  return sql.unsafe<T extends unknown[] ? T : never>(statement.text, statement.params as never[]);
}

export async function* queryEvents(
  sql: Sql,
  filter: NormalizedFilter,
  options: QueryOptions | undefined,
): AsyncGenerator<StoredEvent, undefined, undefined> {
  if (filter.limit === 0 || matchesNothing(filter)) return;
  const statement = queryStatement(filter, options?.now ?? nowSeconds());
  const signal = options?.signal;
  const wrap = options?.wrap;
  // The scan runs in the database; sending the rows shares the caller's query slot in timeslices.
  const slice = options?.timeslice;
  if (filter.limit !== undefined && filter.limit <= FETCH_ALL_MAX) {
    for (const row of await run<WireRow[]>(sql, statement).raw()) {
      if (signal?.aborted) return;
      if (slice?.expired()) await slice.pause();
      yield fromWire(row as unknown as WireRow, wrap);
    }
    return;
  }
  for await (const rows of run<WireRow[]>(sql, statement).raw().cursor(CURSOR_BATCH)) {
    for (const row of rows) {
      if (signal?.aborted) return;
      if (slice?.expired()) await slice.pause();
      yield fromWire(row as unknown as WireRow, wrap);
    }
  }
}

export async function countEvents(
  sql: Sql,
  filters: readonly NormalizedFilter[],
  options: QueryOptions | undefined,
): Promise<CountResult> {
  const live = filters.filter((f) => !matchesNothing(f));
  if (live.length === 0) return { count: 0, approximate: false };
  const max = Math.max(0, options?.max ?? Number.POSITIVE_INFINITY);
  const maxScan = Math.max(0, options?.maxScan ?? Number.POSITIVE_INFINITY);
  const statement = countStatement(live, {
    now: options?.now ?? nowSeconds(),
    cap: Math.min(max, maxScan + 1),
    ...(options?.excludeKinds === undefined ? {} : { excludeKinds: options.excludeKinds }),
  });
  const [row] = await run<{ n: number }[]>(sql, statement);
  const n = row?.n ?? 0;
  if (n > 0 && n >= max) return { count: max, approximate: true };
  if (n > maxScan) return { count: maxScan, approximate: true };
  return { count: n, approximate: false };
}

/** (created_at, id) items in negentropy order, or undefined when more than `max` match. */
export async function negentropyItems(
  sql: Sql,
  filter: NormalizedFilter,
  max: number,
): Promise<NegentropyItems | undefined> {
  const items = new NewestFirstItems();
  if (matchesNothing(filter)) return items.finish();
  const limit = Number.isNaN(max) ? 0 : Math.min(Number.MAX_SAFE_INTEGER - 1, Math.max(0, Math.floor(max)));
  const statement = negentropyStatement(filter, limit, nowSeconds());
  for await (const rows of run<{ t: number; id: Buffer }[]>(sql, statement).cursor(NEGENTROPY_BATCH)) {
    for (const row of rows) {
      if (items.count >= limit) return undefined;
      items.push(row.t, row.id);
    }
  }
  return items.finish();
}

const EVENT_BY_ID = 'SELECT serial::float8 AS serial, kind, raw FROM events WHERE id = $1::bytea';

export async function eventById(sql: Sql, id: string): Promise<StoredEvent | undefined> {
  const [row] = await sql.unsafe<EventRow[]>(EVENT_BY_ID, [Buffer.from(id, 'hex')], { prepare: true });
  return row === undefined ? undefined : toStored(row);
}

const SINCE =
  'SELECT serial::float8 AS serial, kind, raw FROM events ' +
  'WHERE serial > $1::bigint AND serial < orly_horizon() ORDER BY serial LIMIT $2::bigint';

export async function* eventsSince(sql: Sql, after: number, limit: number): AsyncGenerator<StoredEvent> {
  if (!(limit > 0)) return;
  const from = Number.isFinite(after) ? Math.max(0, Math.floor(after)) : 0;
  const count = Math.min(Math.floor(limit), Number.MAX_SAFE_INTEGER);
  const query = sql.unsafe<EventRow[]>(SINCE, [from, count] as never[], { prepare: true });
  if (count <= FETCH_ALL_MAX) {
    for (const row of await query) yield toStored(row);
    return;
  }
  for await (const rows of query.cursor(CURSOR_BATCH)) for (const row of rows) yield toStored(row);
}

const LAST_SERIAL = 'SELECT coalesce(max(serial), 0)::float8 AS s FROM events WHERE serial < orly_horizon()';

export async function lastSerial(sql: Sql): Promise<number> {
  const [row] = await sql.unsafe<{ s: number }[]>(LAST_SERIAL, []);
  return row?.s ?? 0;
}

/**
 * Items arriving newest first (created_at descending, id ascending within a created_at), packed
 * into two growable arrays; finish() gives them oldest first (created_at groups reversed, each
 * group keeping its ascending ids), the order negentropy needs.
 */
class NewestFirstItems {
  count = 0;
  private times = new Float64Array(1024);
  private ids = new Uint8Array(1024 * 32);

  push(createdAt: number, id: Uint8Array): void {
    if (this.count === this.times.length) {
      const times = new Float64Array(this.times.length * 2);
      times.set(this.times);
      const ids = new Uint8Array(times.length * 32);
      ids.set(this.ids);
      this.times = times;
      this.ids = ids;
    }
    this.times[this.count] = createdAt;
    this.ids.set(id.subarray(0, 32), this.count * 32);
    this.count++;
  }

  finish(): NegentropyItems {
    const { count, times } = this;
    const timestamps = new Float64Array(count);
    const ids = new Uint8Array(count * 32);
    let out = 0;
    let end = count;
    while (end > 0) {
      let start = end - 1;
      while (start > 0 && times[start - 1] === times[end - 1]) start--;
      timestamps.fill(times[end - 1]!, out, out + end - start);
      ids.set(this.ids.subarray(start * 32, end * 32), out * 32);
      out += end - start;
      end = start;
    }
    return { count, timestamps, ids };
  }
}
