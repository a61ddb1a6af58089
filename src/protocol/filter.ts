/**
 * NIP-01 filters: validation of untrusted filter objects into a normalized form,
 * and matching of events against it. Pure code, no I/O.
 *
 * Decisions (see README "Protocol decisions"):
 * - ids / authors / #e / #p / #P / #E values must be exact 64-char lowercase hex; anything else is
 *   rejected with `invalid:` (prefix matching has been gone since 2023).
 * - Unknown keys and multi-letter tag keys are rejected with `unsupported:`.
 * - An empty list matches nothing.
 * - since / until are inclusive.
 */
import { Reasons } from '../errors.js';
import { isHex64, type NostrEvent } from './event.js';

/** A filter as sent on the wire. */
export interface Filter {
  ids?: string[];
  authors?: string[];
  kinds?: number[];
  since?: number;
  until?: number;
  limit?: number;
  search?: string;
  [tag: `#${string}`]: string[] | undefined;
}

/** A validated filter. Tag conditions are keyed by their single letter. */
export interface NormalizedFilter {
  ids?: readonly string[];
  authors?: readonly string[];
  kinds?: readonly number[];
  /** letter -> accepted values; an event must match every letter (AND), any value (OR). */
  tags?: ReadonlyMap<string, readonly string[]>;
  since?: number;
  until?: number;
  limit?: number;
}

export type FilterParse = { ok: true; filter: NormalizedFilter } | { ok: false; reason: string };

const HEX_TAG_LETTERS = new Set(['e', 'p', 'E', 'P']);
const TAG_KEY = /^#[a-zA-Z]$/;

function invalid(message: string): FilterParse {
  return { ok: false, reason: Reasons.filterInvalid(message) };
}

function tooMany(key: string, count: number, max: number): FilterParse {
  return { ok: false, reason: Reasons.tooManyFilterValues(key, count, max) };
}

/** Values in a filter's lists (ids, authors, kinds, every #tag). */
export function filterValueCount(filter: NormalizedFilter): number {
  let n = (filter.ids?.length ?? 0) + (filter.authors?.length ?? 0) + (filter.kinds?.length ?? 0);
  if (filter.tags) for (const values of filter.tags.values()) n += values.length;
  return n;
}

/** Roughly the bytes a filter holds in memory (its strings and a per-value overhead). */
export function filterWeight(filter: NormalizedFilter): number {
  const OVERHEAD = 48;
  let bytes = 128;
  for (const id of filter.ids ?? []) bytes += id.length + OVERHEAD;
  for (const a of filter.authors ?? []) bytes += a.length + OVERHEAD;
  bytes += (filter.kinds?.length ?? 0) * 8;
  if (filter.tags)
    for (const values of filter.tags.values()) for (const v of values) bytes += v.length * 2 + OVERHEAD;
  return bytes;
}

function isTimestamp(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function dedupe<T>(values: T[]): T[] {
  return values.length < 2 ? values : [...new Set(values)];
}

/**
 * A filter given as JSON text (a command-line flag, an environment variable, a gRPC field):
 * `notJson` tells the caller the text was not JSON at all, so it can word that its own way.
 */
export function parseFilterText(
  text: string,
): { ok: true; filter: NormalizedFilter } | { ok: false; notJson: boolean; reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, notJson: true, reason: 'not valid JSON' };
  }
  const parsed = parseFilter(value);
  return parsed.ok ? parsed : { ok: false, notJson: false, reason: parsed.reason };
}

/**
 * Validates an untrusted filter object. `maxValues` bounds each list field (ids, authors,
 * kinds, each #tag), checked before its values are looked at.
 */
export function parseFilter(value: unknown, maxValues = Number.POSITIVE_INFINITY): FilterParse {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return invalid('filter must be a JSON object');
  }
  const out: {
    ids?: string[];
    authors?: string[];
    kinds?: number[];
    tags?: Map<string, string[]>;
    since?: number;
    until?: number;
    limit?: number;
  } = {};
  for (const [key, raw] of Object.entries(value as Record<string, unknown>)) {
    switch (key) {
      case 'ids':
      case 'authors': {
        if (!Array.isArray(raw)) return invalid(`${key} must be an array`);
        if (raw.length > maxValues) return tooMany(key, raw.length, maxValues);
        for (const v of raw)
          if (!isHex64(v)) return invalid(`${key} must contain 64-char lowercase hex values`);
        out[key] = dedupe(raw as string[]);
        break;
      }
      case 'kinds': {
        if (!Array.isArray(raw)) return invalid('kinds must be an array');
        if (raw.length > maxValues) return tooMany(key, raw.length, maxValues);
        for (const v of raw) {
          if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) {
            return invalid('kinds must contain integers between 0 and 65535');
          }
        }
        out.kinds = dedupe(raw as number[]);
        break;
      }
      case 'since':
      case 'until':
        if (!isTimestamp(raw)) return invalid(`${key} must be a non-negative integer`);
        out[key] = raw;
        break;
      case 'limit':
        if (!isTimestamp(raw)) return invalid('limit must be a non-negative integer');
        out.limit = raw;
        break;
      case 'search':
        return { ok: false, reason: Reasons.searchUnsupported };
      default: {
        if (!TAG_KEY.test(key)) {
          return { ok: false, reason: Reasons.unknownFilterField(key) };
        }
        if (!Array.isArray(raw)) return invalid(`${key} must be an array`);
        if (raw.length > maxValues) return tooMany(key, raw.length, maxValues);
        const letter = key[1]!;
        const hexOnly = HEX_TAG_LETTERS.has(letter);
        for (const v of raw) {
          if (typeof v !== 'string') return invalid(`${key} must contain strings`);
          if (hexOnly && !isHex64(v)) return invalid(`${key} must contain 64-char lowercase hex values`);
        }
        out.tags ??= new Map();
        out.tags.set(letter, dedupe(raw as string[]));
      }
    }
  }
  return { ok: true, filter: out };
}

/** True when some list in the filter is empty: such a filter matches nothing. */
export function matchesNothing(filter: NormalizedFilter): boolean {
  if (filter.ids?.length === 0 || filter.authors?.length === 0 || filter.kinds?.length === 0) return true;
  if (filter.tags) for (const values of filter.tags.values()) if (values.length === 0) return true;
  if (filter.since !== undefined && filter.until !== undefined && filter.since > filter.until) return true;
  return false;
}

/** Does the event match every condition of the filter? (`limit` is not a condition.) */
export function matchFilter(filter: NormalizedFilter, event: NostrEvent): boolean {
  if (filter.ids && !filter.ids.includes(event.id)) return false;
  if (filter.authors && !filter.authors.includes(event.pubkey)) return false;
  if (filter.kinds && !filter.kinds.includes(event.kind)) return false;
  if (filter.since !== undefined && event.created_at < filter.since) return false;
  if (filter.until !== undefined && event.created_at > filter.until) return false;
  if (filter.tags) {
    for (const [letter, values] of filter.tags) {
      let found = false;
      for (const tag of event.tags) {
        if (tag[0] === letter && tag.length > 1 && values.includes(tag[1]!)) {
          found = true;
          break;
        }
      }
      if (!found) return false;
    }
  }
  return true;
}

export function matchAny(filters: readonly NormalizedFilter[], event: NostrEvent): boolean {
  for (const f of filters) if (matchFilter(f, event)) return true;
  return false;
}

/** NIP-01 result order: created_at descending, then id ascending. */
export function compareNewestFirst(
  a: Pick<NostrEvent, 'created_at' | 'id'>,
  b: Pick<NostrEvent, 'created_at' | 'id'>,
): number {
  if (a.created_at !== b.created_at) return b.created_at - a.created_at;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Back to the wire form (used by the gRPC client and by tools). */
export function filterToJSON(filter: NormalizedFilter): Filter {
  const out: Filter = {};
  if (filter.ids) out.ids = [...filter.ids];
  if (filter.authors) out.authors = [...filter.authors];
  if (filter.kinds) out.kinds = [...filter.kinds];
  if (filter.tags) for (const [letter, values] of filter.tags) out[`#${letter}`] = [...values];
  if (filter.since !== undefined) out.since = filter.since;
  if (filter.until !== undefined) out.until = filter.until;
  if (filter.limit !== undefined) out.limit = filter.limit;
  return out;
}
