/**
 * COUNT (NIP-45): the same filters and access rules as REQ, OR'ed into one count,
 * answered with ["COUNT", id, {"count": n}] or refused with CLOSED. Counting stops at
 * ORLY_MAX_COUNT matches or ORLY_MAX_COUNT_SCAN candidates examined (a scan of the whole store
 * costs ~0.3 s per million events), answered with "approximate": true; it runs in the query
 * executor's timeslices (src/relay/query-executor.ts).
 */
import { Reasons } from '../../errors.js';
import {
  type ClientCOUNT,
  closedFrame,
  countFrame,
  isValidSubId,
  noticeFrame,
} from '../../protocol/messages.js';
import type { Connection } from '../connection.js';
import { readGate } from '../gates.js';
import type { RelayContext } from '../relay-context.js';
import { parseFilters } from './req.js';

export function handleCount(relay: RelayContext, conn: Connection, message: ClientCOUNT): void {
  const queryId = message[1];
  if (!isValidSubId(queryId)) {
    if (typeof queryId === 'string') conn.send(closedFrame(queryId.slice(0, 64), Reasons.badSubId));
    else conn.send(noticeFrame(Reasons.badSubId));
    return;
  }
  const gated = readGate(relay.config.gates, conn.authed);
  if (gated !== undefined) {
    conn.send(closedFrame(queryId, gated));
    return;
  }
  if (relay.memory.overloaded) {
    conn.send(closedFrame(queryId, Reasons.lowOnMemory));
    return;
  }
  const parsed = parseFilters(relay, conn, message.slice(2));
  if ('reason' in parsed) {
    conn.send(closedFrame(queryId, parsed.reason));
    return;
  }
  relay.queries
    .count(parsed.filters, conn, conn.gone)
    .then((outcome) => {
      if ('refused' in outcome) conn.send(closedFrame(queryId, outcome.refused));
      else if ('count' in outcome) conn.send(countFrame(queryId, outcome.count, outcome.capped));
    })
    .catch((err: Error) => {
      relay.logger.error({ err: err.message, conn: conn.id }, 'count failed');
      conn.send(closedFrame(queryId, Reasons.queryFailed(err.message)));
    });
}
