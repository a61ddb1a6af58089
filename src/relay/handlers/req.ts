/**
 * REQ: validate the subscription id, the read gate (gates.ts) and the filters, refuse with
 * CLOSED when needed, register the live subscription first (events arriving meanwhile are held
 * back), stream stored results per filter (each with its own limit, de-duplicated across
 * filters), then EOSE and go live.
 */
import { Reasons } from '../../errors.js';
import { filterValueCount, filterWeight, type NormalizedFilter, parseFilter } from '../../protocol/filter.js';
import {
  type ClientREQ,
  closedFrame,
  eoseFrame,
  isValidSubId,
  noticeFrame,
} from '../../protocol/messages.js';
import { restrictedKindsNamed } from '../../protocol/visibility.js';
import type { Connection } from '../connection.js';
import { readGate } from '../gates.js';
import type { RelayContext } from '../relay-context.js';
import { Subscription } from '../subscription.js';

/**
 * Parses a REQ/COUNT (and NEG-OPEN) filter list, or returns the reason to refuse it: invalid
 * filters, too many values, a reader the write policy's read scope refuses, restricted kinds
 * named before AUTH.
 */
export function parseFilters(
  relay: RelayContext,
  conn: Connection,
  raw: readonly unknown[],
): { filters: NormalizedFilter[] } | { reason: string } {
  if (raw.length === 0) return { reason: Reasons.noFilters };
  const max = relay.config.limits.maxFiltersPerReq;
  if (raw.length > max) return { reason: Reasons.tooManyFilters(max) };
  const { maxFilterValues, maxReqValues } = relay.config.queries;
  const filters: NormalizedFilter[] = [];
  let values = 0;
  for (const value of raw) {
    const parsed = parseFilter(value, maxFilterValues);
    if (!parsed.ok) return { reason: parsed.reason };
    values += filterValueCount(parsed.filter);
    filters.push(parsed.filter);
  }
  if (values > maxReqValues) return { reason: Reasons.tooManyReqValues(values, maxReqValues) };
  // The write policy's read scope: a reader it lets read nothing is refused with its reason.
  const refused = relay.writePolicy?.readScope?.(conn)?.refused;
  if (refused !== undefined) return { reason: refused };
  if (!conn.isAuthenticated()) {
    const named = new Set(filters.flatMap((f) => restrictedKindsNamed(f, relay.restrictedKinds)));
    if (named.size > 0) return { reason: Reasons.restrictedKindsNeedAuth([...named].sort((a, b) => a - b)) };
  }
  return { filters };
}

export function handleReq(relay: RelayContext, conn: Connection, message: ClientREQ): void {
  const subId = message[1];
  if (!isValidSubId(subId)) {
    if (typeof subId === 'string') conn.send(closedFrame(subId.slice(0, 64), Reasons.badSubId));
    else conn.send(noticeFrame(Reasons.badSubId));
    return;
  }
  const gated = readGate(relay.config.gates, conn.authed);
  if (gated !== undefined) {
    conn.send(closedFrame(subId, gated));
    return;
  }
  if (relay.memory.overloaded) {
    conn.send(closedFrame(subId, Reasons.lowOnMemory));
    return;
  }
  const parsed = parseFilters(relay, conn, message.slice(2));
  if ('reason' in parsed) {
    conn.send(closedFrame(subId, parsed.reason));
    return;
  }
  const existing = conn.subscriptions.get(subId);
  const weight = parsed.filters.reduce((sum, f) => sum + filterWeight(f), 0);
  const { maxSubscriptionBytes } = relay.config.queries;
  if (conn.subscriptionBytes - (existing?.weight ?? 0) + weight > maxSubscriptionBytes) {
    conn.send(closedFrame(subId, Reasons.subscriptionsTooLarge(maxSubscriptionBytes)));
    return;
  }
  if (existing) relay.removeSubscription(existing);
  else if (conn.subscriptions.size >= relay.config.limits.maxSubscriptionsPerConnection) {
    conn.send(
      closedFrame(subId, Reasons.tooManySubscriptions(relay.config.limits.maxSubscriptionsPerConnection)),
    );
    return;
  }
  const sub = new Subscription(conn, subId, parsed.filters, weight);
  conn.subscriptions.set(subId, sub);
  conn.subscriptionBytes += weight;
  relay.subscriptions.add(sub);
  relay.metrics.subscriptions.set(relay.subscriptions.size);
  const started = process.hrtime.bigint();
  runInitialQuery(relay, sub)
    .finally(() => sub.settled())
    .then((outcome) => {
      if (typeof outcome === 'string') {
        if (sub.ended) return;
        relay.removeSubscription(sub);
        conn.send(closedFrame(subId, outcome));
        return;
      }
      if (!outcome) return;
      relay.metrics.queryDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
      goLive(sub);
    })
    .catch((err: Error) => {
      relay.logger.error({ err: err.message, conn: conn.id, sub: subId }, 'query failed');
      if (sub.ended) return;
      relay.removeSubscription(sub);
      conn.send(closedFrame(subId, Reasons.queryFailed(err.message)));
    });
}

/**
 * Sends stored results (through the relay's query executor) then EOSE. Resolves false when the
 * subscription was closed or replaced meanwhile, or with the reason when the executor refused. Results sent within one tick leave in one
 * write (Connection corks per tick), so a query the store answers synchronously goes out as a
 * single writev.
 */
async function runInitialQuery(relay: RelayContext, sub: Subscription): Promise<boolean | string> {
  const outcome = await relay.queries.send(sub.filters, sub.conn, sub.signal, sub);
  if ('refused' in outcome) return outcome.refused;
  if ('cancelled' in outcome || sub.ended || sub.conn.closed) return false;
  const sent = outcome.sent;
  sub.conn.send(eoseFrame(sub.id));
  // Ids sent so far de-duplicate the live events held back until EOSE.
  if (sub.pending && sub.pending.length > 0) sub.sentBeforeEose = sent;
  return true;
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
