/**
 * ORLY_WS_TRANSPORT: which library carries HTTP and WebSockets on the relay's port, behind
 * transport.ts so that nothing else in the relay changes with the choice. `ws` (node's http
 * server and the ws package) is the only one so far.
 */
import type { TransportHandlers, TransportLimits, TransportServer } from './transport.js';
import { WsTransport } from './ws-server.js';

export type TransportKind = 'ws';

export const TRANSPORTS: Record<string, TransportKind> = { ws: 'ws' };

export function createTransport(
  _kind: TransportKind,
  handlers: TransportHandlers,
  limits: TransportLimits,
): TransportServer {
  return new WsTransport(handlers, limits);
}
