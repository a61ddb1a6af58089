/** CLOSE: ends a subscription. Unknown ids are ignored quietly (NIP-01 requires no reply). */
import { Reasons } from '../../errors.js';
import { type ClientCLOSE, isValidSubId, noticeFrame } from '../../protocol/messages.js';
import type { Connection } from '../connection.js';
import type { RelayContext } from '../relay-context.js';

export function handleClose(relay: RelayContext, conn: Connection, message: ClientCLOSE): void {
  const subId = message[1];
  if (!isValidSubId(subId)) {
    conn.send(noticeFrame(Reasons.badSubId));
    return;
  }
  const sub = conn.subscriptions.get(subId);
  if (sub) relay.removeSubscription(sub);
}
