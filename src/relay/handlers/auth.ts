/**
 * AUTH (NIP-42): every AUTH gets an OK. A valid one adds its pubkey to the connection's
 * authenticated set (several pubkeys may authenticate on one connection).
 */
import { Reasons } from '../../errors.js';
import { checkEventShape, computeEventId, type NostrEvent, nowSeconds } from '../../protocol/event.js';
import { type ClientAUTH, noticeFrame, okFrame } from '../../protocol/messages.js';
import type { Connection } from '../connection.js';
import { checkAuthEvent } from '../nip42.js';
import type { RelayContext } from '../relay-context.js';

export function handleAuth(relay: RelayContext, conn: Connection, message: ClientAUTH): void {
  const value = message[1];
  const shapeProblem = checkEventShape(value);
  if (shapeProblem !== undefined) {
    const sentId = (value as { id?: unknown } | null)?.id;
    if (typeof sentId === 'string')
      conn.send(okFrame(sentId.slice(0, 64), false, Reasons.badShape(shapeProblem)));
    else conn.send(noticeFrame(Reasons.malformed('AUTH', shapeProblem)));
    return;
  }
  const event = value as NostrEvent;
  const problem = checkAuthEvent(event, conn.challenge, conn.relayUrls, nowSeconds());
  if (problem !== undefined) return void conn.send(okFrame(event.id, false, problem));
  if (computeEventId(event) !== event.id) return void conn.send(okFrame(event.id, false, Reasons.badId));
  relay.verifier
    .verify(event.id, event.pubkey, event.sig)
    .then((valid) => {
      if (!valid) return void conn.send(okFrame(event.id, false, Reasons.badSignature));
      conn.authenticated(event.pubkey);
      relay.logger.debug({ conn: conn.id, pubkey: event.pubkey }, 'authenticated');
      conn.send(okFrame(event.id, true, ''));
    })
    .catch((err: Error) => conn.send(okFrame(event.id, false, Reasons.verifyFailed(err.message))));
}
