/**
 * What the uWebSockets.js transport keeps per socket. uWS's user data (what upgrade() is given
 * and getUserData() returns) only holds it: the state lives in an object of ours, so what open()
 * records is seen by every later callback however uWS keeps its user data (it may copy the
 * object given to upgrade(), and an upgrade may complete after an asynchronous access check).
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

/** uWS's user data: a holder of the state. */
export interface UwsUserData {
  readonly state: UwsSocketState;
}

export function socketState(open: (socket: ClientSocket) => SocketHandlers): UwsSocketState {
  return { open, handlers: undefined, socket: undefined, waiting: undefined, waitingBytes: 0 };
}
