/**
 * NIP-01 filters as SQL over the schema of schema.ts: the WHERE conditions of one filter, and the
 * statements of query, count and negentropy built on them. Pure code, no I/O: every value is a
 * numbered parameter (never spliced into the text), lists are single array parameters (`= ANY`),
 * so a filter's size changes no statement text and a hostile value cannot change the SQL.
 *
 * Semantics mirror the LMDB store and matchFilter (src/protocol/filter.ts): ids, authors and kinds
 * are ORed within the list, conditions ANDed, since/until inclusive, each tag letter ANDed with
 * its values ORed (the first value of a single-letter tag, as indexed: keys.ts tagKey), an empty
 * list matches nothing, values that cannot match (a non-hex id) are dropped. Expired events
 * (expiration <= now) are never returned. Order: created_at descending, then id ascending.
 *
 * A filter whose only selective condition is one tag value (`#e`, `#p` of one id) is driven from
 * the tag index in result order (`tags_key`, newest first), so a LIMIT stops the scan early; every
 * other shape is left to the planner over the events indexes.
 */
import type { NormalizedFilter } from '../../protocol/filter.js';
import { byteaArray, hexArray, intArray, tagKey } from './keys.js';

/** Numbered parameters of one statement. */
export class Params {
  readonly values: unknown[] = [];

  add(value: unknown, cast: string): string {
    this.values.push(value);
    return `$${this.values.length}::${cast}`;
  }
}

export interface Statement {
  readonly text: string;
  readonly params: unknown[];
}

/** The conditions of one filter on `events e` (AND), without expiry; `skipTag` is handled by the caller. */
function conditions(filter: NormalizedFilter, p: Params, skipTag?: string): string[] {
  const out: string[] = [];
  if (filter.ids) out.push(`e.id = ANY (${p.add(hexArray(filter.ids), 'bytea[]')})`);
  if (filter.authors) out.push(`e.pubkey = ANY (${p.add(hexArray(filter.authors), 'bytea[]')})`);
  // A kind that is not an integer of the column's range matches no event.
  if (filter.kinds) out.push(`e.kind = ANY (${p.add(intArray(filter.kinds.filter(isKind)), 'int[]')})`);
  const since = timeBound(filter.since, Math.ceil);
  const until = timeBound(filter.until, Math.floor);
  if (since !== undefined) out.push(`e.created_at >= ${p.add(since, 'bigint')}`);
  if (until !== undefined) out.push(`e.created_at <= ${p.add(until, 'bigint')}`);
  if (filter.tags) {
    for (const [letter, values] of filter.tags) {
      if (letter === skipTag) continue;
      // Only single-letter tags are indexed (and only those a filter may name).
      if (!TAG_LETTER.test(letter)) {
        out.push('FALSE');
        continue;
      }
      const keys = byteaArray(values.filter((v) => typeof v === 'string').map((v) => tagKey(letter, v)));
      out.push(
        `EXISTS (SELECT 1 FROM tags t WHERE t.serial = e.serial AND t.tkey = ANY (${p.add(keys, 'bytea[]')}))`,
      );
    }
  }
  return out;
}

const TAG_LETTER = /^[a-zA-Z]$/;
const INT_MAX = 2 ** 31 - 1;

function isKind(kind: unknown): boolean {
  return Number.isInteger(kind) && (kind as number) >= -INT_MAX && (kind as number) <= INT_MAX;
}

/** since/until as a bigint parameter: NaN sets no bound (as in matchFilter), others are clamped. */
function timeBound(value: number | undefined, round: (x: number) => number): number | undefined {
  if (value === undefined || Number.isNaN(value)) return undefined;
  return Math.min(Number.MAX_SAFE_INTEGER, Math.max(-Number.MAX_SAFE_INTEGER, round(value)));
}

/** A LIMIT parameter: a whole number from 0 up. */
function rowLimit(value: number): number {
  return Number.isNaN(value) ? 0 : Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, Math.floor(value)));
}

function unexpired(p: Params, now: number): string {
  return `(e.expiration IS NULL OR e.expiration > ${p.add(now, 'bigint')})`;
}

function where(conds: readonly string[]): string {
  return conds.length === 0 ? 'TRUE' : conds.join(' AND ');
}

/** The tag letter to drive the query from: one letter with one value, and nothing more selective. */
function drivingTag(filter: NormalizedFilter): [string, string] | undefined {
  if (filter.ids || (filter.authors && filter.kinds) || filter.tags === undefined) return undefined;
  for (const [letter, values] of filter.tags)
    if (values.length === 1 && TAG_LETTER.test(letter) && typeof values[0] === 'string')
      return [letter, values[0]];
  return undefined;
}

/** Stored, unexpired events matching `filter`, newest first (ties: lowest id), at most filter.limit. */
export function queryStatement(filter: NormalizedFilter, now: number): Statement {
  const p = new Params();
  const limit = filter.limit === undefined ? '' : ` LIMIT ${p.add(rowLimit(filter.limit), 'bigint')}`;
  const tag = drivingTag(filter);
  if (tag === undefined) {
    const conds = [...conditions(filter, p), unexpired(p, now)];
    return {
      text: `SELECT e.serial::float8 AS serial, e.kind, e.raw FROM events e WHERE ${where(conds)} ORDER BY e.created_at DESC, e.id${limit}`,
      params: p.values,
    };
  }
  const [letter, value] = tag;
  const conds = [`d.tkey = ${p.add(tagKey(letter, value), 'bytea')}`];
  const since = timeBound(filter.since, Math.ceil);
  const until = timeBound(filter.until, Math.floor);
  if (since !== undefined) conds.push(`d.created_at >= ${p.add(since, 'bigint')}`);
  if (until !== undefined) conds.push(`d.created_at <= ${p.add(until, 'bigint')}`);
  conds.push(...conditions(filter, p, letter), unexpired(p, now));
  return {
    text:
      'SELECT e.serial::float8 AS serial, e.kind, e.raw FROM tags d JOIN events e ON e.serial = d.serial ' +
      `WHERE ${where(conds)} ORDER BY d.created_at DESC, e.id${limit}`,
    params: p.values,
  };
}

export interface CountLimits {
  readonly now: number;
  /** Stop counting at this many (infinite: no cap). */
  readonly cap: number;
  readonly excludeKinds?: ReadonlySet<number>;
}

/** How many stored, unexpired events match any of the filters, counting at most `cap`. */
export function countStatement(filters: readonly NormalizedFilter[], limits: CountLimits): Statement {
  const p = new Params();
  const any = filters.map((f) => `(${where(conditions(f, p))})`).join(' OR ');
  const conds = [`(${any})`, unexpired(p, limits.now)];
  if (limits.excludeKinds !== undefined && limits.excludeKinds.size > 0)
    conds.push(`e.kind <> ALL (${p.add(intArray([...limits.excludeKinds]), 'int[]')})`);
  const cap = Number.isFinite(limits.cap) ? ` LIMIT ${p.add(rowLimit(limits.cap), 'bigint')}` : '';
  return {
    text: `SELECT count(*)::float8 AS n FROM (SELECT 1 FROM events e WHERE ${where(conds)}${cap}) s`,
    params: p.values,
  };
}

/**
 * The (created_at, id) of every stored, unexpired event matching the filter (its limit ignored),
 * at most `max + 1` of them, in index order (created_at descending, id ascending): the caller
 * reverses the created_at groups into negentropy order. Without conditions this is an
 * index-only scan of events_created.
 */
export function negentropyStatement(filter: NormalizedFilter, max: number, now: number): Statement {
  const p = new Params();
  const conds = [...conditions({ ...filter, limit: undefined }, p), unexpired(p, now)];
  return {
    text: `SELECT e.created_at::float8 AS t, e.id FROM events e WHERE ${where(conds)} ORDER BY e.created_at DESC, e.id LIMIT ${p.add(rowLimit(max) + 1, 'bigint')}`,
    params: p.values,
  };
}
