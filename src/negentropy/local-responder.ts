/**
 * LocalNegentropyResponder: the NIP-77 responder in this process, over a store's ClientStore
 * (query) and SyncSource (negentropyItems) roles (the relay's own store, or orly-db through
 * GrpcEventStore inside orly-sync-negentropy).
 *
 * Item set: every stored, unexpired event matching the filter (an explicit `limit` keeps the
 * newest `limit`, as a REQ would); more than maxRecords matches -> "blocked: too many query
 * results" with the cap. Visibility: a NEG-OPEN never reveals an id a REQ would not serve. When
 * the filter may match restricted kinds, those events are looked up separately and every one the
 * requester may not read is removed: no authed pubkey -> all of them (an ids-only lookup), else
 * those neither authored by nor p-tagging an authed pubkey. (The two lookups are not one
 * snapshot: a restricted event stored and then removed between them could keep its id in the
 * set. Storing alone cannot leak: the restricted lookup runs second.)
 *
 * Sessions: keyed by (connectionId, subId); an open() replaces the key (a slower, older open is
 * discarded: its entry is no longer current); errors close the session. With `sessionTimeoutMs`
 * and start(), idle sessions are freed silently by one sweep (the service does this; inside the
 * relay, the relay's own session table times sessions out and tells the client). With
 * `maxSessionsPerConnection`, an open() that would add a session (not replace one) to a
 * connection already holding that many (opening ones included) is refused with "blocked: too
 * many open negentropy sessions" (the service does this; the relay enforces its own cap).
 */

import { Reasons } from '../errors.js';
import type { Logger } from '../logger.js';
import { nowSeconds } from '../protocol/event.js';
import { matchesNothing, type NormalizedFilter } from '../protocol/filter.js';
import { withoutHiddenAuthors } from '../protocol/hidden-authors.js';
import { isVisibleTo, mayReturnRestricted } from '../protocol/visibility.js';
import type { ClientStore, SyncSource } from '../store/event-store.js';

/** What the responder reads: queries (restricted kinds) and negentropy item sets. */
export type NegentropyStore = ClientStore & SyncSource;

import { Responder } from './codec/reconcile.js';
import { NegentropySession } from './codec/session.js';
import { type PackedItems, SealedVector } from './codec/storage.js';
import { fromHex, NegentropyError, toHex } from './codec/types.js';
import { ItemBudget } from './item-budget.js';
import type { NegentropyResponder, NegPolicy, NegReply, NegRequester, NegSessionKey } from './responder.js';
import { type SessionEntry, SessionTable } from './session-table.js';

const ID_SIZE = 32;
export const EMPTY_ITEMS: PackedItems = {
  count: 0,
  timestamps: new Float64Array(0),
  ids: new Uint8Array(0),
};

export interface LocalNegentropyResponderOptions {
  readonly store: NegentropyStore;
  /** Used when a requester brings none. */
  readonly policy: NegPolicy;
  readonly logger: Logger;
  /** Idle sessions are freed after this long once start() ran (0/undefined = never). */
  readonly sessionTimeoutMs?: number;
  /** Open (or opening) sessions allowed per connectionId (undefined = no cap). */
  readonly maxSessionsPerConnection?: number;
  /** Items the item sets of all open sessions may hold together (default 2,000,000). */
  readonly maxItemsTotal?: number;
  /** Items the sessions of one client address may hold together (default 1,000,000). */
  readonly maxItemsPerIp?: number;
}

export const DEFAULT_MAX_ITEMS_TOTAL = 2_000_000;
export const DEFAULT_MAX_ITEMS_PER_IP = 1_000_000;

export class LocalNegentropyResponder implements NegentropyResponder {
  private readonly sessions: SessionTable<string, NegentropySession | undefined>;
  private readonly budget: ItemBudget;
  /** What each built session took from the budget. */
  private readonly holdings = new Map<
    SessionEntry<NegentropySession | undefined>,
    { ip: string; items: number }
  >();

  constructor(private readonly options: LocalNegentropyResponderOptions) {
    this.budget = new ItemBudget(
      options.maxItemsTotal ?? DEFAULT_MAX_ITEMS_TOTAL,
      options.maxItemsPerIp ?? DEFAULT_MAX_ITEMS_PER_IP,
    );
    this.sessions = new SessionTable({
      idleTimeoutMs: options.sessionTimeoutMs ?? 0,
      maxPerConnection: options.maxSessionsPerConnection,
      onRemove: (entry) => {
        const held = this.holdings.get(entry);
        if (held === undefined) return;
        this.holdings.delete(entry);
        this.budget.give(held.ip, held.items);
      },
    });
  }

  /** Items held by the item sets of open sessions. */
  get heldItems(): number {
    return this.budget.total;
  }

  /** Starts the idle sweep (with a sessionTimeoutMs). */
  start(): void {
    this.sessions.start();
  }

  /** Open (or opening) sessions of all connections. */
  get total(): number {
    return this.sessions.total;
  }

  async open(
    key: NegSessionKey,
    filter: NormalizedFilter,
    initialHex: string,
    requester: NegRequester,
  ): Promise<NegReply> {
    this.close(key);
    const policy = requester.policy ?? this.options.policy;
    let initial: Uint8Array;
    try {
      initial = fromHex(initialHex);
      // Parse the whole message once (against nothing) so garbage never costs a query.
      new Responder(SealedVector.fromSorted(EMPTY_ITEMS)).reconcile(initial);
    } catch (err) {
      return { error: Reasons.negBadMessage(errorText(err)) };
    }
    // The key's previous session is closed above, so a replacement never counts against the cap.
    if (this.sessions.isFull(key.connectionId))
      return { error: Reasons.negTooManySessions(this.options.maxSessionsPerConnection!) };
    const entry = this.sessions.reserve(key.connectionId, key.subId, undefined);
    const started = Date.now();
    let items: PackedItems | undefined;
    try {
      items = await buildItems(
        this.options.store,
        policy.restrictedKinds,
        requester.authed,
        filter,
        policy.maxRecords,
        requester.hiddenAuthors,
      );
    } catch (err) {
      this.options.logger.error(
        { err: errorText(err), conn: key.connectionId, sub: key.subId },
        'negentropy query failed',
      );
      this.sessions.drop(key.connectionId, key.subId, entry);
      return { error: Reasons.queryFailed(errorText(err)) };
    }
    if (!this.sessions.isCurrent(key.connectionId, key.subId, entry))
      return { error: Reasons.negUnknownSession };
    if (items === undefined) {
      this.sessions.drop(key.connectionId, key.subId, entry);
      return { error: Reasons.negTooManyRecords, maxRecords: policy.maxRecords };
    }
    if (!this.budget.take(requester.ip, items.count)) {
      this.sessions.drop(key.connectionId, key.subId, entry);
      return { error: Reasons.negBudgetExhausted };
    }
    this.holdings.set(entry, { ip: requester.ip, items: items.count });
    const now = Date.now();
    const session = new NegentropySession(
      key.subId,
      SealedVector.fromSorted(items),
      { frameSizeLimit: policy.frameSizeLimit },
      now,
    );
    let reply: Uint8Array;
    try {
      reply = session.handle(initial, now);
    } catch (err) {
      this.sessions.drop(key.connectionId, key.subId, entry);
      return { error: this.reasonFor(key, err) };
    }
    entry.state = session;
    entry.ready = true;
    entry.touch(now);
    this.options.logger.debug(
      { conn: key.connectionId, sub: key.subId, ip: requester.ip, items: items.count, ms: now - started },
      'negentropy session opened',
    );
    return { message: toHex(reply) };
  }

  async message(key: NegSessionKey, hex: string): Promise<NegReply> {
    const entry = this.sessions.get(key.connectionId, key.subId);
    if (entry === undefined) return { error: Reasons.negUnknownSession };
    const session = entry.state;
    if (session === undefined) {
      this.sessions.drop(key.connectionId, key.subId, entry);
      return { error: Reasons.negNotReady };
    }
    try {
      const now = Date.now();
      entry.touch(now);
      return { message: toHex(session.handle(fromHex(hex), now)) };
    } catch (err) {
      this.sessions.drop(key.connectionId, key.subId, entry);
      return { error: this.reasonFor(key, err) };
    }
  }

  close(key: NegSessionKey): void {
    this.sessions.close(key.connectionId, key.subId);
  }

  closeConnection(connectionId: string): void {
    this.sessions.closeConnection(connectionId);
  }

  /** Frees sessions idle for the timeout or longer (silently). */
  sweep(now: number): void {
    this.sessions.sweep(now);
  }

  async shutdown(): Promise<void> {
    this.sessions.stop();
  }

  /** NegentropyError -> invalid: (the peer's fault); anything else is ours -> error:, logged. */
  private reasonFor(key: NegSessionKey, err: unknown): string {
    if (err instanceof NegentropyError) return Reasons.negBadMessage(err.message);
    this.options.logger.error({ err: errorText(err), conn: key.connectionId }, 'negentropy reconcile failed');
    return Reasons.negFailed(errorText(err));
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The (created_at, id) items of the events matching `filter` that the requester may read,
 * sorted; undefined when more than `max` match. `hiddenAuthors` (an access-control mode's bans
 * for this requester) are left out like restricted events: pruned from a filter naming
 * authors, else their items subtracted.
 */
export async function buildItems(
  store: NegentropyStore,
  restrictedKinds: ReadonlySet<number>,
  authed: ReadonlySet<string>,
  asked: NormalizedFilter,
  max: number,
  hiddenAuthors?: ReadonlySet<string>,
): Promise<PackedItems | undefined> {
  const { filter, checkEach: subtractHidden } = withoutHiddenAuthors(asked, hiddenAuthors);
  if (matchesNothing(filter) || filter.limit === 0) return EMPTY_ITEMS;
  const all = await store.negentropyItems({ ...filter, limit: undefined }, max);
  if (all === undefined) {
    // Too many in all; an explicit limit <= max still picks the newest, through an ordinary query.
    if (filter.limit !== undefined && filter.limit <= max)
      return newestByQuery(store, restrictedKinds, authed, filter, filter.limit, hiddenAuthors);
    return undefined;
  }
  let items: PackedItems = all;
  if (mayReturnRestricted(filter, restrictedKinds)) {
    const hidden = await hiddenItems(store, restrictedKinds, authed, filter, max);
    if (hidden === undefined) return undefined;
    items = subtractSorted(items, hidden);
  }
  if (subtractHidden) {
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

/** The newest `limit` visible events by an ordinary query (REQ order and visibility rules). */
async function newestByQuery(
  store: NegentropyStore,
  restrictedKinds: ReadonlySet<number>,
  authed: ReadonlySet<string>,
  filter: NormalizedFilter,
  limit: number,
  hiddenAuthors: ReadonlySet<string> | undefined,
): Promise<PackedItems> {
  const checkEach = mayReturnRestricted(filter, restrictedKinds) || (hiddenAuthors?.size ?? 0) > 0;
  const rows: { timestamp: number; id: string }[] = [];
  const query = store.query({ ...filter, limit: checkEach ? undefined : limit }, { now: nowSeconds() });
  for await (const stored of query) {
    const event = stored.event;
    if (checkEach && restrictedKinds.has(event.kind) && !isVisibleTo(event, authed)) continue;
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
