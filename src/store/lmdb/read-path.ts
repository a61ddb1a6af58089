/**
 * The LMDB store's read path: candidates in result order (merged index ranges, or point lookups
 * by id), and the checks each candidate passes (kinds from the index key, the full filter when
 * the plan needs it, NIP-40 expiry), reading the stored JSON as a view of lmdb's shared read
 * buffer and copying it at most once.
 */
import { isExpired, isHex64, type NostrEvent } from '../../protocol/event.js';
import { matchFilter, type NormalizedFilter } from '../../protocol/filter.js';
import type { EventWrap } from '../event-store.js';
import { hexToBytes, readSerial } from './codec.js';
import {
  FLAG_EXPIRES,
  orderSuffix,
  SUFFIX_FLAGS,
  SUFFIX_KIND,
  SUFFIX_LEN,
  SUFFIX_SERIAL,
} from './index-keys.js';
import { mergeRanges } from './merge.js';
import type { CandidateCheck, QueryPlan } from './query-plan.js';
import { LazyStoredEvent } from './stored-event.js';
import type { LmdbTables } from './tables.js';

/** Index keys (or, for an ids plan, synthesized key suffixes) in result order. */
export function candidates(t: LmdbTables, plan: QueryPlan): Iterable<Buffer> {
  if (plan.type === 'index') return mergeRanges(t.index, plan.ranges);
  const keys: Buffer[] = [];
  const seen = new Set<string>();
  for (const id of plan.ids) {
    if (seen.has(id) || !isHex64(id)) continue;
    seen.add(id);
    const idBytes = hexToBytes(id);
    const value = t.ids.get(idBytes);
    if (value === undefined) continue;
    const serial = readSerial(value, 0);
    const event = t.loadEvent(serial);
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
export function acceptView(
  t: LmdbTables,
  key: Buffer,
  filter: NormalizedFilter,
  check: CandidateCheck,
  now: number,
): Hit | undefined {
  const off = key.length - SUFFIX_LEN;
  const kind = readKind(key, off);
  if (check.kinds !== undefined && !check.kinds.includes(kind)) return undefined;
  const serial = readSerial(key, off + SUFFIX_SERIAL);
  const shared = t.eventBytes.getBinaryFast(serial);
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
export function accept(
  t: LmdbTables,
  key: Buffer,
  filter: NormalizedFilter,
  check: CandidateCheck,
  now: number,
  wrap?: EventWrap,
): LazyStoredEvent | undefined {
  const hit = acceptView(t, key, filter, check, now);
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
export function matches(
  t: LmdbTables,
  key: Buffer,
  filter: NormalizedFilter,
  check: CandidateCheck,
  now: number,
): boolean {
  const off = key.length - SUFFIX_LEN;
  if (!check.postFilter && check.needles === undefined && (key[off + SUFFIX_FLAGS]! & FLAG_EXPIRES) === 0) {
    return check.kinds === undefined || check.kinds.includes(readKind(key, off));
  }
  return accept(t, key, filter, check, now) !== undefined;
}

/** An ids plan reads events by id: every candidate gets the full filter. */
export const POINT_LOOKUP_CHECK: CandidateCheck = { kinds: undefined, postFilter: true, needles: undefined };

export function checkOf(plan: QueryPlan): CandidateCheck {
  return plan.type === 'index' ? plan : POINT_LOOKUP_CHECK;
}

export function readKind(key: Buffer, suffixOffset: number): number {
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
