/**
 * NIP-77 NEG-OPEN / NEG-MSG / NEG-CLOSE. With ORLY_NEGENTROPY_ENABLED unset the relay answers
 * NEG-OPEN/NEG-MSG with a NOTICE (`unsupported: ...`) and ignores NEG-CLOSE, as before.
 *
 * NEG-OPEN [id, filter, hex]: the filter (an object, or an array holding exactly one) goes
 * through the same checks as a REQ (invalid:/unsupported:/auth-required: reasons, as NEG-ERR).
 * The initial message is parsed before the store is asked. The item set is every stored,
 * unexpired event matching the filter (an explicit `limit` keeps the newest `limit`, as a REQ
 * would); more than ORLY_NEGENTROPY_MAX_RECORDS matches -> ["NEG-ERR", id, "blocked: too many
 * query results", max] (strfry's frame).
 *
 * Visibility: a NEG-OPEN never reveals an id a REQ would not serve. When the filter may match
 * restricted kinds (NIP-42, default 4 and 1059), those events are looked up separately and
 * every one this connection may not read is removed from the set: unauthenticated connections
 * lose all of them (an ids-only lookup), authenticated ones keep those they authored or are
 * p-tagged in. Filters naming restricted kinds are refused before AUTH, as REQ does. (The two
 * lookups are not one snapshot: a restricted event stored and then removed between them could
 * keep its id in the set. Storing alone cannot leak: the restricted lookup runs second.)
 *
 * Sessions: a NEG-OPEN on an open id replaces it; at most ORLY_NEGENTROPY_MAX_SESSIONS per
 * connection (NEG-ERR blocked:); NEG-MSG on an unknown id -> NEG-ERR "closed: ..."; malformed
 * hex or messages -> NEG-ERR "invalid: ..."; every NEG-ERR closes its session. NEG-CLOSE frees
 * quietly. Idle sessions expire (NEG-ERR closed:), all close on disconnect.
 */
import { Reasons } from '../../errors.js';
import { Responder } from '../../negentropy/reconcile.js';
import { NegentropySession } from '../../negentropy/session.js';
import { type PackedItems, SealedVector } from '../../negentropy/storage.js';
import { fromHex, NegentropyError, PROTOCOL_VERSION, toHex } from '../../negentropy/types.js';
import { nowSeconds } from '../../protocol/event.js';
import { matchesNothing, type NormalizedFilter } from '../../protocol/filter.js';
import { type ClientMessage, isValidSubId, noticeFrame } from '../../protocol/messages.js';
import type { Connection } from '../connection.js';
import type { NegentropySessions } from '../negentropy-sessions.js';
import type { Relay } from '../relay.js';
import { isVisibleTo, mayReturnRestricted } from '../visibility.js';
import { parseFilters } from './req.js';

const ID_SIZE = 32;
const EMPTY_ITEMS: PackedItems = { count: 0, timestamps: new Float64Array(0), ids: new Uint8Array(0) };

export function negMsgFrame(subId: string, hex: string): string {
  return JSON.stringify(['NEG-MSG', subId, hex]);
}

export function negErrFrame(subId: string, reason: string, ...extra: unknown[]): string {
  return JSON.stringify(['NEG-ERR', subId, reason, ...extra]);
}

export function handleNegentropy(relay: Relay, conn: Connection, message: ClientMessage): void {
  const sessions = relay.negentropy;
  if (sessions === undefined) {
    if (message[0] !== 'NEG-CLOSE') conn.send(noticeFrame(Reasons.negDisabled));
    return;
  }
  const subId = message[1];
  if (!isValidSubId(subId)) {
    if (message[0] === 'NEG-CLOSE') return;
    if (typeof subId === 'string') conn.send(negErrFrame(subId.slice(0, 64), Reasons.badSubId));
    else conn.send(noticeFrame(Reasons.badSubId));
    return;
  }
  switch (message[0]) {
    case 'NEG-OPEN':
      open(relay, conn, sessions, subId, message[2], message[3]);
      return;
    case 'NEG-MSG':
      next(relay, conn, sessions, subId, message[2]);
      return;
    case 'NEG-CLOSE':
      sessions.close(conn, subId);
      return;
  }
}

function open(
  relay: Relay,
  conn: Connection,
  sessions: NegentropySessions,
  subId: string,
  rawFilter: unknown,
  hex: unknown,
): void {
  const fail = (reason: string, ...extra: unknown[]) => conn.send(negErrFrame(subId, reason, ...extra));
  // A NEG-OPEN on an open id closes the old session first, whatever becomes of this one.
  sessions.close(conn, subId);

  // One filter object; NDK sends it wrapped in an array, which is accepted when it holds exactly one.
  let filterValue = rawFilter;
  if (Array.isArray(rawFilter)) filterValue = rawFilter.length === 1 ? rawFilter[0] : undefined;
  if (filterValue === null || typeof filterValue !== 'object' || Array.isArray(filterValue)) {
    fail(Reasons.negBadFilter);
    return;
  }
  const parsed = parseFilters(relay, conn, [filterValue]);
  if ('reason' in parsed) {
    fail(parsed.reason);
    return;
  }
  const filter = parsed.filters[0]!;
  if (typeof hex !== 'string' || hex.length === 0) {
    fail(Reasons.negMissingMessage);
    return;
  }
  let initial: Uint8Array;
  try {
    initial = fromHex(hex);
    // Parse the whole message once (against nothing) so garbage never costs a query.
    const dryRun = new Responder(SealedVector.fromSorted(EMPTY_ITEMS)).reconcile(initial);
    if (initial[0] !== PROTOCOL_VERSION) {
      // Another protocol version: answer with ours (the single byte 0x61) and keep no session.
      conn.send(negMsgFrame(subId, toHex(dryRun)));
      return;
    }
  } catch (err) {
    fail(Reasons.negBadMessage(errorText(err)));
    return;
  }
  const { maxSessions, maxRecords, frameSizeLimit } = relay.config.negentropy;
  if (sessions.count(conn) >= maxSessions) {
    fail(Reasons.negTooManySessions(maxSessions));
    return;
  }

  const slot = sessions.reserve(conn, subId);
  const started = Date.now();
  buildItems(relay, conn, filter, maxRecords)
    .then((items) => {
      if (conn.closed || !sessions.isCurrent(conn, subId, slot)) return;
      if (items === undefined) {
        sessions.close(conn, subId);
        fail(Reasons.negTooManyRecords, maxRecords);
        return;
      }
      const now = Date.now();
      const session = new NegentropySession(subId, SealedVector.fromSorted(items), { frameSizeLimit }, now);
      let reply: Uint8Array;
      try {
        reply = session.handle(initial, now);
      } catch (err) {
        sessions.close(conn, subId);
        fail(reasonFor(relay, conn, err));
        return;
      }
      slot.session = session;
      relay.logger.debug(
        { conn: conn.id, sub: subId, items: items.count, ms: now - started, bytesOut: reply.length },
        'negentropy session opened',
      );
      conn.send(negMsgFrame(subId, toHex(reply)));
    })
    .catch((err: Error) => {
      relay.logger.error({ err: err.message, conn: conn.id, sub: subId }, 'negentropy query failed');
      if (conn.closed || !sessions.isCurrent(conn, subId, slot)) return;
      sessions.close(conn, subId);
      fail(Reasons.queryFailed(err.message));
    });
}

function next(
  relay: Relay,
  conn: Connection,
  sessions: NegentropySessions,
  subId: string,
  hex: unknown,
): void {
  const slot = sessions.get(conn, subId);
  if (slot === undefined) {
    conn.send(negErrFrame(subId, Reasons.negUnknownSession));
    return;
  }
  const fail = (reason: string) => {
    sessions.close(conn, subId);
    conn.send(negErrFrame(subId, reason));
  };
  const session = slot.session;
  if (session === undefined) {
    fail(Reasons.negNotReady);
    return;
  }
  if (typeof hex !== 'string') {
    fail(Reasons.negBadMessage('NEG-MSG needs a hex string'));
    return;
  }
  let reply: Uint8Array;
  try {
    reply = session.handle(fromHex(hex), Date.now());
  } catch (err) {
    fail(reasonFor(relay, conn, err));
    return;
  }
  conn.send(negMsgFrame(subId, toHex(reply)));
}

/** NegentropyError -> invalid: (the peer's fault); anything else is ours -> error:, logged. */
function reasonFor(relay: Relay, conn: Connection, err: unknown): string {
  if (err instanceof NegentropyError) return Reasons.negBadMessage(err.message);
  relay.logger.error({ err: errorText(err), conn: conn.id }, 'negentropy reconcile failed');
  return `error: negentropy failed: ${errorText(err)}`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The (created_at, id) items of the events matching `filter` that this connection may read,
 * sorted; undefined when more than `max` match.
 */
async function buildItems(
  relay: Relay,
  conn: Connection,
  filter: NormalizedFilter,
  max: number,
): Promise<PackedItems | undefined> {
  if (matchesNothing(filter) || filter.limit === 0) return EMPTY_ITEMS;
  const all = await relay.store.negentropyItems({ ...filter, limit: undefined }, max);
  if (all === undefined) {
    // Too many in all; an explicit limit <= max still picks the newest, through an ordinary query.
    if (filter.limit !== undefined && filter.limit <= max)
      return newestByQuery(relay, conn, filter, filter.limit);
    return undefined;
  }
  let items: PackedItems = all;
  if (mayReturnRestricted(filter, relay.restrictedKinds)) {
    const hidden = await hiddenItems(relay, conn, filter, max);
    if (hidden === undefined) return undefined;
    items = subtractSorted(items, hidden);
  }
  return filter.limit === undefined ? items : newest(items, filter.limit);
}

/** Restricted-kind events matching the filter that this connection may not read, sorted. */
async function hiddenItems(
  relay: Relay,
  conn: Connection,
  filter: NormalizedFilter,
  max: number,
): Promise<PackedItems | undefined> {
  const restricted = relay.restrictedKinds;
  const kinds = filter.kinds ? filter.kinds.filter((k) => restricted.has(k)) : [...restricted];
  const restrictedFilter: NormalizedFilter = { ...filter, kinds, limit: undefined };
  // Unauthenticated: none of them is visible, and ids are all that is needed.
  if (!conn.isAuthenticated()) return relay.store.negentropyItems(restrictedFilter, max);
  const rows: { timestamp: number; id: string }[] = [];
  for await (const { event } of relay.store.query(restrictedFilter, { now: nowSeconds() })) {
    if (!isVisibleTo(event, conn.authed)) rows.push({ timestamp: event.created_at, id: event.id });
  }
  return packSorted(rows);
}

/** The newest `limit` visible events by an ordinary query (REQ order and visibility rules). */
async function newestByQuery(
  relay: Relay,
  conn: Connection,
  filter: NormalizedFilter,
  limit: number,
): Promise<PackedItems> {
  const checkEach = mayReturnRestricted(filter, relay.restrictedKinds);
  const rows: { timestamp: number; id: string }[] = [];
  const query = relay.store.query({ ...filter, limit: checkEach ? undefined : limit }, { now: nowSeconds() });
  for await (const stored of query) {
    const event = stored.event;
    if (checkEach && relay.restrictedKinds.has(event.kind) && !isVisibleTo(event, conn.authed)) continue;
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
