/** Routes one client frame to its handler; frames that are not valid messages get a NOTICE. */
import { Reasons } from '../../errors.js';
import { noticeFrame, okFrame, parseClientMessage } from '../../protocol/messages.js';
import type { Connection } from '../connection.js';
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
