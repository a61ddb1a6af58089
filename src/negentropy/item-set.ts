/**
 * A NEG-OPEN's item set: the sorted (created_at, id) items of the stored events matching its
 * filter that the requester may read, i.e. the ids a REQ with that filter would serve. Filters
 * are narrowed first where that costs nothing (hidden authors, hidden kinds), then what the
 * requester may not read is subtracted: restricted-kind events it is not involved in (see
 * hiddenItems), hidden authors' and hidden kinds' events of a filter that names none. When the
 * read scope wants involvement for every kind, the set is built from the requester's own
 * events and those p-tagging it instead (two index lookups, no event read).
 */
import { nowSeconds } from '../protocol/event.js';
import { matchesNothing, type NormalizedFilter } from '../protocol/filter.js';
import { withoutHiddenAuthors } from '../protocol/hidden-authors.js';
import { type ReadScope, readRules, withoutHiddenKinds } from '../protocol/read-scope.js';
import { isVisibleTo, mayReturnRestricted } from '../protocol/visibility.js';
import type { ClientStore, SyncSource } from '../store/event-store.js';
import type { PackedItems } from './codec/storage.js';

/** What the responder reads: queries (restricted kinds) and negentropy item sets. */
export type NegentropyStore = ClientStore & SyncSource;

const ID_SIZE = 32;
const NO_KINDS: ReadonlySet<number> = new Set();

export const EMPTY_ITEMS: PackedItems = {
  count: 0,
  timestamps: new Float64Array(0),
  ids: new Uint8Array(0),
};

/** Who the item set is built for. */
export interface ItemsReader {
  /** ORLY_AUTH_RESTRICTED_KINDS of the relay. */
  readonly restrictedKinds: ReadonlySet<number>;
  /** The connection's NIP-42 pubkeys. */
  readonly authed: ReadonlySet<string>;
  /** An access-control mode's bans for this reader. */
  readonly hiddenAuthors?: ReadonlySet<string> | undefined;
  /** The write policy's read scope for this reader (its refusal is answered before: here, nothing is served). */
  readonly readScope?: ReadScope | undefined;
}

/** The per-event rules of a reader, for the paths that read events one by one. */
interface EventRules {
  readonly hiddenKinds: ReadonlySet<number>;
  readonly involvedKinds: ReadonlySet<number>;
  readonly allInvolved: boolean;
}

/**
 * The (created_at, id) items of the events matching `filter` that the reader may read, sorted;
 * undefined when more than `max` match. `hiddenAuthors` (an access-control mode's bans for this
 * reader) and the read scope's hidden kinds are pruned from a filter naming them, else their
 * items subtracted; restricted kinds and the scope's involved kinds only keep the events the
 * reader is involved in.
 */
export async function buildItems(
  store: NegentropyStore,
  asked: NormalizedFilter,
  max: number,
  reader: ItemsReader,
): Promise<PackedItems | undefined> {
  const { authed, hiddenAuthors } = reader;
  const scoped = readRules(reader.readScope, reader.restrictedKinds, authed);
  if (scoped?.nothing) return EMPTY_ITEMS;
  const rules: EventRules = scoped ?? {
    hiddenKinds: NO_KINDS,
    involvedKinds: reader.restrictedKinds,
    allInvolved: false,
  };
  const byAuthor = withoutHiddenAuthors(asked, hiddenAuthors);
  const { filter, checkEach: subtractKinds } = withoutHiddenKinds(byAuthor.filter, rules.hiddenKinds);
  if (matchesNothing(filter) || filter.limit === 0) return EMPTY_ITEMS;
  const all = rules.allInvolved
    ? await involvedItems(store, authed, filter, max)
    : await store.negentropyItems({ ...filter, limit: undefined }, max);
  if (all === undefined) {
    // Too many in all; an explicit limit <= max still picks the newest, through an ordinary query.
    if (filter.limit !== undefined && filter.limit <= max)
      return newestByQuery(store, rules, authed, filter, filter.limit, hiddenAuthors);
    return undefined;
  }
  let items: PackedItems = all;
  if (!rules.allInvolved && mayReturnRestricted(filter, rules.involvedKinds)) {
    const hidden = await hiddenItems(store, rules.involvedKinds, authed, filter, max);
    if (hidden === undefined) return undefined;
    items = subtractSorted(items, hidden);
  }
  if (subtractKinds) {
    const kinds = [...rules.hiddenKinds];
    const hidden = await store.negentropyItems({ ...filter, kinds, limit: undefined }, max);
    if (hidden === undefined) return undefined;
    items = subtractSorted(items, hidden);
  }
  if (byAuthor.checkEach) {
    const banned = await store.negentropyItems(
      { ...filter, authors: [...hiddenAuthors!], limit: undefined },
      max,
    );
    if (banned === undefined) return undefined;
    items = subtractSorted(items, banned);
  }
  return filter.limit === undefined ? items : newest(items, filter.limit);
}

/** Restricted-kind events matching the filter that the requester may not read, sorted. */
async function hiddenItems(
  store: NegentropyStore,
  restricted: ReadonlySet<number>,
  authed: ReadonlySet<string>,
  filter: NormalizedFilter,
  max: number,
): Promise<PackedItems | undefined> {
  const kinds = filter.kinds ? filter.kinds.filter((k) => restricted.has(k)) : [...restricted];
  const restrictedFilter: NormalizedFilter = { ...filter, kinds, limit: undefined };
  // Unauthenticated: none of them is visible, and ids are all that is needed.
  if (authed.size === 0) return store.negentropyItems(restrictedFilter, max);
  const rows: { timestamp: number; id: string }[] = [];
  for await (const { event } of store.query(restrictedFilter, { now: nowSeconds() })) {
    if (!isVisibleTo(event, authed)) rows.push({ timestamp: event.created_at, id: event.id });
  }
  return packSorted(rows);
}

/**
 * Every kind needs involvement: the filter's events authored by an authed pubkey, and those
 * p-tagging one, as one sorted set; undefined when more than `max`.
 */
async function involvedItems(
  store: NegentropyStore,
  authed: ReadonlySet<string>,
  filter: NormalizedFilter,
  max: number,
): Promise<PackedItems | undefined> {
  let items = EMPTY_ITEMS;
  const authors = filter.authors ? filter.authors.filter((a) => authed.has(a)) : [...authed];
  if (authors.length > 0) {
    const own = await store.negentropyItems({ ...filter, authors, limit: undefined }, max);
    if (own === undefined) return undefined;
    items = own;
  }
  const pTags = filter.tags?.get('p');
  const recipients = pTags ? pTags.filter((p) => authed.has(p)) : [...authed];
  if (recipients.length > 0) {
    const tags = new Map(filter.tags ?? []);
    tags.set('p', recipients);
    const tagged = await store.negentropyItems({ ...filter, tags, limit: undefined }, max);
    if (tagged === undefined) return undefined;
    items = unionSorted(items, tagged);
  }
  return items.count > max ? undefined : items;
}

/** The newest `limit` visible events by an ordinary query (REQ order and visibility rules). */
async function newestByQuery(
  store: NegentropyStore,
  rules: EventRules,
  authed: ReadonlySet<string>,
  filter: NormalizedFilter,
  limit: number,
  hiddenAuthors: ReadonlySet<string> | undefined,
): Promise<PackedItems> {
  const checkEach =
    rules.allInvolved ||
    rules.hiddenKinds.size > 0 ||
    mayReturnRestricted(filter, rules.involvedKinds) ||
    (hiddenAuthors?.size ?? 0) > 0;
  const rows: { timestamp: number; id: string }[] = [];
  const query = store.query({ ...filter, limit: checkEach ? undefined : limit }, { now: nowSeconds() });
  for await (const stored of query) {
    const event = stored.event;
    if (rules.hiddenKinds.has(event.kind)) continue;
    if ((rules.allInvolved || rules.involvedKinds.has(event.kind)) && !isVisibleTo(event, authed)) continue;
    if (hiddenAuthors?.has(event.pubkey)) continue;
    rows.push({ timestamp: event.created_at, id: stored.id });
    if (rows.length >= limit) break;
  }
  return packSorted(rows);
}

function packSorted(rows: { timestamp: number; id: string }[]): PackedItems {
  rows.sort((a, b) => a.timestamp - b.timestamp || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const timestamps = new Float64Array(rows.length);
  const ids = new Uint8Array(rows.length * ID_SIZE);
  rows.forEach((row, i) => {
    timestamps[i] = row.timestamp;
    ids.set(Buffer.from(row.id, 'hex'), i * ID_SIZE);
  });
  return { count: rows.length, timestamps, ids };
}

/** Compares item i of a with item j of b in (timestamp, id) order. */
function compareItems(a: PackedItems, i: number, b: PackedItems, j: number): number {
  const ta = a.timestamps[i]!;
  const tb = b.timestamps[j]!;
  if (ta !== tb) return ta < tb ? -1 : 1;
  for (let k = 0; k < ID_SIZE; k++) {
    const x = a.ids[i * ID_SIZE + k]!;
    const y = b.ids[j * ID_SIZE + k]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Items of `a` and of `b` (both sorted), each once: one merge pass. */
export function unionSorted(a: PackedItems, b: PackedItems): PackedItems {
  if (a.count === 0) return b;
  if (b.count === 0) return a;
  const timestamps = new Float64Array(a.count + b.count);
  const ids = new Uint8Array((a.count + b.count) * ID_SIZE);
  let out = 0;
  let i = 0;
  let j = 0;
  const take = (from: PackedItems, k: number) => {
    timestamps[out] = from.timestamps[k]!;
    ids.set(from.ids.subarray(k * ID_SIZE, (k + 1) * ID_SIZE), out * ID_SIZE);
    out++;
  };
  while (i < a.count || j < b.count) {
    const order = i >= a.count ? 1 : j >= b.count ? -1 : compareItems(a, i, b, j);
    if (order <= 0) take(a, i++);
    else take(b, j++);
    if (order === 0) j++;
  }
  return { count: out, timestamps: timestamps.subarray(0, out), ids: ids.subarray(0, out * ID_SIZE) };
}

/** Items of `all` not in `hidden` (both sorted): one merge pass, no per-id strings. */
export function subtractSorted(all: PackedItems, hidden: PackedItems): PackedItems {
  if (hidden.count === 0) return all;
  const timestamps = new Float64Array(all.count);
  const ids = new Uint8Array(all.count * ID_SIZE);
  let out = 0;
  let j = 0;
  for (let i = 0; i < all.count; i++) {
    while (j < hidden.count && compareItems(hidden, j, all, i) < 0) j++;
    if (j < hidden.count && compareItems(hidden, j, all, i) === 0) continue;
    timestamps[out] = all.timestamps[i]!;
    ids.set(all.ids.subarray(i * ID_SIZE, (i + 1) * ID_SIZE), out * ID_SIZE);
    out++;
  }
  return { count: out, timestamps: timestamps.subarray(0, out), ids: ids.subarray(0, out * ID_SIZE) };
}

/**
 * The `limit` items a REQ with that limit would return (newest first, equal created_at: lowest
 * id first), still in ascending order: all items newer than the boundary timestamp plus the
 * lowest ids at it.
 */
export function newest(items: PackedItems, limit: number): PackedItems {
  const n = items.count;
  if (limit >= n) return items;
  if (limit <= 0) return EMPTY_ITEMS;
  const boundary = items.timestamps[n - limit]!;
  let groupStart = n - limit;
  while (groupStart > 0 && items.timestamps[groupStart - 1] === boundary) groupStart--;
  let groupEnd = n - limit;
  while (groupEnd < n && items.timestamps[groupEnd] === boundary) groupEnd++;
  const take = limit - (n - groupEnd);
  const count = take + (n - groupEnd);
  const timestamps = new Float64Array(count);
  const ids = new Uint8Array(count * ID_SIZE);
  timestamps.set(items.timestamps.subarray(groupStart, groupStart + take), 0);
  timestamps.set(items.timestamps.subarray(groupEnd, n), take);
  ids.set(items.ids.subarray(groupStart * ID_SIZE, (groupStart + take) * ID_SIZE), 0);
  ids.set(items.ids.subarray(groupEnd * ID_SIZE, n * ID_SIZE), take * ID_SIZE);
  return { count, timestamps, ids };
}
