/** NIP-77 NEG-* messages. Negentropy is not enabled in this build yet: say so clearly. */
import { type ClientMessage, noticeFrame } from '../../protocol/messages.js';
import type { Connection } from '../connection.js';
import type { Relay } from '../relay.js';

export function handleNegentropy(_relay: Relay, conn: Connection, message: ClientMessage): void {
  if (message[0] === 'NEG-CLOSE') return;
  conn.send(noticeFrame('unsupported: negentropy (NIP-77) is not enabled on this relay'));
}
