/**
 * What uWebSockets.js keeps per socket (its user data). uWS copies the own properties of the
 * object given to upgrade() into an object of its own, so this is plain data (no methods).
 */
import type { ClientSocket } from './client-socket.js';
import type { SocketHandlers } from './transport.js';
import type { UwsClientSocket } from './uws-client-socket.js';
import type { InboxSocket } from './uws-inbox.js';

export interface UwsSocketState extends InboxSocket {
  /** The relay's accept, until open() has run it. */
  open: ((socket: ClientSocket) => SocketHandlers) | undefined;
  handlers: SocketHandlers | undefined;
  socket: UwsClientSocket | undefined;
}

export function socketState(open: (socket: ClientSocket) => SocketHandlers): UwsSocketState {
  return { open, handlers: undefined, socket: undefined, waiting: undefined, waitingBytes: 0 };
}
