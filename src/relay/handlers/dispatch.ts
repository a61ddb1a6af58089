/**
 * Routes one client frame to its handler; frames that are not valid messages get a NOTICE.
 * EVENT and AUTH take a token from the connection's (and its address's) EVENT bucket, REQ,
 * COUNT and NEG-OPEN one from the REQ bucket (connection-guard.ts); without one they are
 * answered `rate-limited:` here and never reach their handler.
 */
import { Reasons } from '../../errors.js';
import {
  type ClientMessage,
  closedFrame,
  isValidSubId,
  negErrFrame,
  noticeFrame,
  okFrame,
  parseClientMessage,
} from '../../protocol/messages.js';
import type { Connection } from '../connection.js';
import type { MessageClass, MessageRefusal } from '../connection-guard.js';
import type { RelayContext } from '../relay-context.js';
import { handleAuth } from './auth.js';
import { handleClose } from './close.js';
import { handleCount } from './count.js';
import { handleEvent } from './event.js';
import { handleNegentropy } from './negentropy.js';
import { handleReq } from './req.js';

const EVENT_ID_IN_FRAME = /"id"\s*:\s*"([0-9a-f]{64})"/;

export function dispatchMessage(
  relay: RelayContext,
  conn: Connection,
  data: Buffer,
  isBinary: boolean,
): void {
  const max = relay.config.limits.maxMessageSize;
  if (data.length > max) {
    relay.metrics.message('oversized');
    const reason = Reasons.messageTooLarge(data.length, max);
    // An oversized EVENT still gets its OK, when its id can be found cheaply.
    const head = data.subarray(0, 16).toString('latin1');
    const id = head.includes('EVENT') ? EVENT_ID_IN_FRAME.exec(data.toString('utf8'))?.[1] : undefined;
    conn.send(id ? okFrame(id, false, reason) : noticeFrame(reason));
    return;
  }
  const parsed = parseClientMessage(isBinary ? data.toString('utf8') : data.toString());
  if (!parsed.ok) {
    relay.metrics.message('invalid');
    conn.send(noticeFrame(parsed.reason));
    return;
  }
  const message = parsed.message;
  relay.metrics.message(message[0]);
  const limited = rateClass(relay, message);
  if (limited !== undefined) {
    const refusal = conn.limiter.take(limited);
    if (refusal !== undefined) {
      refuse(relay, conn, message, limited, refusal);
      return;
    }
  }
  switch (message[0]) {
    case 'EVENT':
      handleEvent(relay, conn, message);
      return;
    case 'REQ':
      handleReq(relay, conn, message);
      return;
    case 'CLOSE':
      handleClose(relay, conn, message);
      return;
    case 'COUNT':
      handleCount(relay, conn, message);
      return;
    case 'AUTH':
      handleAuth(relay, conn, message);
      return;
    case 'NEG-OPEN':
    case 'NEG-MSG':
    case 'NEG-CLOSE':
      handleNegentropy(relay, conn, message);
      return;
  }
}

/** Which bucket a message takes a token from, if any. Refusals for a bad sub id are left to the handler. */
function rateClass(relay: RelayContext, message: ClientMessage): MessageClass | undefined {
  switch (message[0]) {
    case 'EVENT':
    case 'AUTH':
      return 'event';
    case 'REQ':
    case 'COUNT':
      return isValidSubId(message[1]) ? 'req' : undefined;
    case 'NEG-OPEN':
      return relay.negentropy !== undefined && isValidSubId(message[1]) ? 'req' : undefined;
    default:
      return undefined;
  }
}

/** The `rate-limited:` answer to a message refused by a bucket, in the shape its verb expects. */
function refuse(
  relay: RelayContext,
  conn: Connection,
  message: ClientMessage,
  limited: MessageClass,
  refusal: MessageRefusal,
): void {
  relay.metrics.rateLimited.labels(refusal.scope === 'address' ? `${limited}_per_ip` : limited).inc();
  const reason = Reasons.rateLimited(limited, refusal.scope, refusal.perSecond);
  const subId = message[1] as string;
  switch (message[0]) {
    case 'EVENT':
    case 'AUTH': {
      const id = (message[1] as { id?: unknown } | null)?.id;
      conn.send(typeof id === 'string' ? okFrame(id.slice(0, 64), false, reason) : noticeFrame(reason));
      return;
    }
    case 'REQ': {
      // A REQ replaces the subscription of the same id: refused, it still ends the old one.
      const old = conn.subscriptions.get(subId);
      if (old !== undefined) relay.removeSubscription(old);
      conn.send(closedFrame(subId, reason));
      return;
    }
    case 'COUNT':
      conn.send(closedFrame(subId, reason));
      return;
    case 'NEG-OPEN':
      // Likewise a NEG-OPEN replaces the session of the same id.
      relay.negentropy?.close(conn, subId);
      conn.send(negErrFrame(subId, reason));
      return;
  }
}
