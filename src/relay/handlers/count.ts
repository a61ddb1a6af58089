/**
 * COUNT (NIP-45): the same filters and access rules as REQ, OR'ed into one count,
 * answered with ["COUNT", id, {"count": n}] or refused with CLOSED. Counting stops at
 * ORLY_MAX_COUNT matches (a scan of the whole store costs ~0.3 s per million events), answered
 * as {"count": max, "approximate": true}.
 */
import { Reasons } from '../../errors.js';
import { nowSeconds } from '../../protocol/event.js';
import { matchesNothing, type NormalizedFilter } from '../../protocol/filter.js';
import {
  type ClientCOUNT,
  closedFrame,
  countFrame,
  isValidSubId,
  noticeFrame,
} from '../../protocol/messages.js';
import { isVisibleTo, mayReturnRestricted } from '../../protocol/visibility.js';
import type { Connection } from '../connection.js';
import type { Relay } from '../relay.js';
import { parseFilters } from './req.js';

export function handleCount(relay: Relay, conn: Connection, message: ClientCOUNT): void {
  const queryId = message[1];
  if (!isValidSubId(queryId)) {
    if (typeof queryId === 'string') conn.send(closedFrame(queryId.slice(0, 64), Reasons.badSubId));
    else conn.send(noticeFrame(Reasons.badSubId));
    return;
  }
  const parsed = parseFilters(relay, conn, message.slice(2));
  if ('reason' in parsed) {
    conn.send(closedFrame(queryId, parsed.reason));
    return;
  }
  countVisible(relay, conn, parsed.filters)
    .then(({ count, capped }) => conn.send(countFrame(queryId, count, capped)))
    .catch((err: Error) => {
      relay.logger.error({ err: err.message, conn: conn.id }, 'count failed');
      conn.send(closedFrame(queryId, Reasons.queryFailed(err.message)));
    });
}

async function countVisible(
  relay: Relay,
  conn: Connection,
  all: NormalizedFilter[],
): Promise<{ count: number; capped: boolean }> {
  const filters = all.filter((f) => !matchesNothing(f)).map((f) => ({ ...f, limit: undefined }));
  if (filters.length === 0) return { count: 0, capped: false };
  const max = relay.config.limits.maxCount;
  const total = await relay.store.count(filters, { max });
  // At the cap the answer is the cap, whatever restricted events are among the matches.
  if (total >= max) return { count: max, capped: true };
  // Restricted kinds count only where this connection could read them: subtract the others.
  const restricted = [...relay.restrictedKinds];
  const hidden = new Set<string>();
  const now = nowSeconds();
  for (const filter of filters) {
    if (!mayReturnRestricted(filter, relay.restrictedKinds)) continue;
    const kinds = filter.kinds ? filter.kinds.filter((k) => relay.restrictedKinds.has(k)) : restricted;
    for await (const { event } of relay.store.query({ ...filter, kinds }, { now })) {
      if (!isVisibleTo(event, conn.authed)) hidden.add(event.id);
    }
  }
  return { count: total - hidden.size, capped: false };
}
