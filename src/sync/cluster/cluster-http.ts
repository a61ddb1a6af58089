/**
 * The JSON shapes of the cluster endpoints (../shared/docs/orly-ipc-spec.md §5.2), pure code:
 * - `GET /cluster/latest` → `{"serial":N,"timestamp":<unix seconds now>}`;
 * - `GET /cluster/events?from=&to=&limit=` → `{"events":[{"serial":…,"id":"<hex>","timestamp":
 *   <created_at>}],"has_more":bool,"next_from":N}`, ids with serial in [from, to] ascending.
 *
 * The query is parsed strictly, since it comes from the network: every number is plain decimal
 * digits (no sign, exponent, fraction, hex or spaces) and a safe integer; a parameter given twice
 * is refused rather than guessed at; `from` is required, `to` defaults to unbounded and must not
 * be below `from`; `limit` defaults to 1000 and must be 1 to 10000 (refused beyond, not clamped,
 * so a client learns its request was not served as asked). The caller answers 400 with the error.
 * Other parameters are ignored. `events` is always an array (ORLY could send null) and
 * `next_from` is left out when 0, as ORLY's omitempty does.
 */
import { reason } from '../../errors.js';

export const DEFAULT_RANGE_LIMIT = 1000;
export const MAX_RANGE_LIMIT = 10_000;

export type EventsRangeQuery =
  | { readonly ok: true; readonly from: number; readonly to: number; readonly limit: number }
  | { readonly ok: false; readonly error: string };

export interface EventsRangeRow {
  /** The event's serial in the serving store. */
  readonly serial: number;
  /** Lowercase hex event id. */
  readonly id: string;
  /** The event's created_at. */
  readonly createdAt: number;
}

/** 1 to 16 decimal digits; 16 digits can exceed 2^53, which the safe-integer check catches. */
const DIGITS = /^[0-9]{1,16}$/;

type Param = { readonly absent: true } | { readonly value: number } | { readonly error: string };

function integerParam(query: URLSearchParams, name: string): Param {
  const values = query.getAll(name);
  if (values.length === 0) return { absent: true };
  if (values.length > 1) return { error: reason('invalid', `${name} is given more than once`) };
  const text = values[0]!;
  const value = Number(text);
  if (!DIGITS.test(text) || !Number.isSafeInteger(value)) {
    return {
      error: reason('invalid', `${name} must be a non-negative integer below 2^53, not ${quote(text)}`),
    };
  }
  return { value };
}

function quote(text: string): string {
  return JSON.stringify(text.length > 32 ? `${text.slice(0, 32)}…` : text);
}

/** The range `GET /cluster/events` asks for, or why it is malformed (→ HTTP 400). */
export function parseEventsRangeQuery(query: URLSearchParams): EventsRangeQuery {
  const from = integerParam(query, 'from');
  if ('error' in from) return { ok: false, error: from.error };
  if ('absent' in from) return { ok: false, error: reason('invalid', 'from is required') };
  const to = integerParam(query, 'to');
  if ('error' in to) return { ok: false, error: to.error };
  const limit = integerParam(query, 'limit');
  if ('error' in limit) return { ok: false, error: limit.error };

  const upper = 'value' in to ? to.value : Number.MAX_SAFE_INTEGER;
  if (upper < from.value) {
    return { ok: false, error: reason('invalid', `to (${upper}) is below from (${from.value})`) };
  }
  const count = 'value' in limit ? limit.value : DEFAULT_RANGE_LIMIT;
  if (count < 1 || count > MAX_RANGE_LIMIT) {
    return { ok: false, error: reason('invalid', `limit must be between 1 and ${MAX_RANGE_LIMIT}`) };
  }
  return { ok: true, from: from.value, to: upper, limit: count };
}

/** The body of a `/cluster/events` answer; `nextFrom` 0 is left out. */
export function eventsRangeBody(rows: readonly EventsRangeRow[], hasMore: boolean, nextFrom: number): string {
  const events = rows.map((row) => ({ serial: row.serial, id: row.id, timestamp: row.createdAt }));
  return JSON.stringify(
    nextFrom === 0 ? { events, has_more: hasMore } : { events, has_more: hasMore, next_from: nextFrom },
  );
}

/** The body of a `/cluster/latest` answer: the store's latest serial and the time (unix seconds). */
export function latestBody(serial: number, now: number): string {
  return JSON.stringify({ serial, timestamp: now });
}
