/**
 * REQ: validate the subscription id and filters, refuse with CLOSED when needed, register the
 * live subscription first (events arriving meanwhile are held back), stream stored results per
 * filter (each with its own limit, de-duplicated across filters), then EOSE and go live.
 */
import { Reasons } from '../../errors.js';
import { nowSeconds } from '../../protocol/event.js';
import { matchesNothing, type NormalizedFilter, parseFilter } from '../../protocol/filter.js';
import {
  type ClientREQ,
  closedFrame,
  eoseFrame,
  isValidSubId,
  noticeFrame,
} from '../../protocol/messages.js';
import { isVisibleTo, mayReturnRestricted, restrictedKindsNamed } from '../../protocol/visibility.js';
import type { StoredEvent } from '../../store/event-store.js';
import type { FrameChunk } from '../../store/lmdb/query-workers/protocol.js';
import type { Connection } from '../connection.js';
import type { Relay } from '../relay.js';
import { Subscription } from '../subscription.js';

/** Parses a REQ/COUNT filter list, or returns the reason to refuse it. */
export function parseFilters(
  relay: Relay,
  conn: Connection,
  raw: readonly unknown[],
): { filters: NormalizedFilter[] } | { reason: string } {
  if (raw.length === 0) return { reason: Reasons.noFilters };
  const max = relay.config.limits.maxFiltersPerReq;
  if (raw.length > max) return { reason: Reasons.tooManyFilters(max) };
  const filters: NormalizedFilter[] = [];
  for (const value of raw) {
    const parsed = parseFilter(value);
    if (!parsed.ok) return { reason: parsed.reason };
    filters.push(parsed.filter);
  }
  if (!conn.isAuthenticated()) {
    const named = new Set(filters.flatMap((f) => restrictedKindsNamed(f, relay.restrictedKinds)));
    if (named.size > 0) return { reason: Reasons.restrictedKindsNeedAuth([...named].sort((a, b) => a - b)) };
  }
  return { filters };
}

export function handleReq(relay: Relay, conn: Connection, message: ClientREQ): void {
  const subId = message[1];
  if (!isValidSubId(subId)) {
    if (typeof subId === 'string') conn.send(closedFrame(subId.slice(0, 64), Reasons.badSubId));
    else conn.send(noticeFrame(Reasons.badSubId));
    return;
  }
  const parsed = parseFilters(relay, conn, message.slice(2));
  if ('reason' in parsed) {
    conn.send(closedFrame(subId, parsed.reason));
    return;
  }
  const existing = conn.subscriptions.get(subId);
  if (existing) relay.removeSubscription(existing);
  else if (conn.subscriptions.size >= relay.config.limits.maxSubscriptionsPerConnection) {
    conn.send(
      closedFrame(subId, Reasons.tooManySubscriptions(relay.config.limits.maxSubscriptionsPerConnection)),
    );
    return;
  }
  const sub = new Subscription(conn, subId, parsed.filters);
  conn.subscriptions.set(subId, sub);
  relay.subscriptions.add(sub);
  relay.metrics.subscriptions.set(relay.subscriptions.size);
  const started = process.hrtime.bigint();
  runInitialQuery(relay, sub)
    .then((completed) => {
      if (!completed) return;
      relay.metrics.queryDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
      goLive(sub);
    })
    .catch((err: Error) => {
      relay.logger.error({ err: err.message, conn: conn.id, sub: subId }, 'query failed');
      if (sub.abort.signal.aborted) return;
      relay.removeSubscription(sub);
      conn.send(closedFrame(subId, Reasons.queryFailed(err.message)));
    });
}

/** Sends stored results then EOSE. Resolves false when the subscription was closed or replaced meanwhile. */
/**
 * Results sent within one tick leave in one write (Connection corks per tick), so a query the
 * store answers synchronously goes out as a single writev.
 */
async function runInitialQuery(relay: Relay, sub: Subscription): Promise<boolean> {
  const { signal } = sub.abort;
  const { maxLimit, defaultLimit } = relay.config.limits;
  const now = nowSeconds();
  // Ids sent so far: de-duplicates across filters and against live events held back until EOSE.
  const sent = new Set<string>();
  for (const filter of sub.filters) {
    const limit = Math.min(filter.limit ?? defaultLimit, maxLimit);
    if (limit === 0 || matchesNothing(filter)) continue;
    const checkEach = mayReturnRestricted(filter, relay.restrictedKinds);
    const chunks = relay.queryPool?.run({
      filter: { ...filter, limit: checkEach ? undefined : limit },
      limit,
      now,
      prefix: sub.wrap.prefix,
      checkRestricted: checkEach,
      restrictedKinds: [...relay.restrictedKinds],
      authed: [...sub.conn.authed],
    });
    if (chunks !== undefined) {
      if (!(await sendChunks(sub, chunks, sent))) return false;
      continue;
    }
    // No query worker (none configured, or none ready): the store, in the event loop.
    if (!(await queryStore(relay, sub, filter, limit, checkEach, now, sent))) return false;
  }
  if (signal.aborted || sub.conn.closed) return false;
  sub.conn.send(eoseFrame(sub.id));
  if (sub.pending && sub.pending.length > 0) sub.sentBeforeEose = sent;
  return true;
}

/**
 * One filter through relay.store. The store always applies a limit, so a remote store's stream
 * ends by itself (a stream reset per REQ looks like an HTTP/2 rapid-reset attack to servers).
 * When results are checked one by one (restricted kinds) and some were hidden or already sent,
 * further pages older than the last result make up for them; a page that brings no id not seen
 * before ends it (more than `limit` events at one created_at). False when the subscription ended.
 */
async function queryStore(
  relay: Relay,
  sub: Subscription,
  filter: NormalizedFilter,
  limit: number,
  checkEach: boolean,
  now: number,
  sent: Set<string>,
): Promise<boolean> {
  const { signal } = sub.abort;
  const hidden = new Set<string>();
  let count = 0;
  let page: NormalizedFilter = { ...filter, limit };
  for (;;) {
    let got = 0;
    let fresh = 0;
    let last: StoredEvent | undefined;
    for await (const stored of relay.store.query(page, { signal, now, wrap: sub.wrap })) {
      if (signal.aborted) return false;
      got++;
      last = stored;
      const id = stored.id;
      if (sent.has(id) || hidden.has(id)) continue;
      fresh++;
      if (
        checkEach &&
        relay.restrictedKinds.has(stored.kind) &&
        !isVisibleTo(stored.event, sub.conn.authed)
      ) {
        hidden.add(id);
        continue;
      }
      sent.add(id);
      if (!sub.sendStored(stored)) return false;
      if (++count >= limit) return true;
    }
    // Without checks the store's limit is the answer; else another page only if this one was full.
    if (!checkEach || got < (page.limit ?? 0) || fresh === 0 || last === undefined) return true;
    page = { ...filter, until: last.event.created_at, limit };
  }
}

/** Sends a query worker's frames, skipping ids already sent; false when the subscription ended. */
async function sendChunks(
  sub: Subscription,
  chunks: AsyncIterableIterator<FrameChunk>,
  sent: Set<string>,
): Promise<boolean> {
  const { signal } = sub.abort;
  for await (const chunk of chunks) {
    if (signal.aborted) return false;
    const data = chunk.data;
    let start = 0;
    for (let i = 0; i < chunk.ends.length; i++) {
      const end = chunk.ends[i]!;
      const id = chunk.ids.slice(i * 64, i * 64 + 64);
      if (!sent.has(id)) {
        sent.add(id);
        if (!sub.sendFrame(data.subarray(start, end))) return false;
      }
      start = end;
    }
  }
  return !signal.aborted;
}

function goLive(sub: Subscription): void {
  const pending = sub.pending ?? [];
  const sent = sub.sentBeforeEose;
  sub.pending = undefined;
  sub.sentBeforeEose = undefined;
  for (const ev of pending) {
    if (sent?.has(ev.id)) continue;
    if (!sub.sendEvent(ev.raw)) return;
  }
}
