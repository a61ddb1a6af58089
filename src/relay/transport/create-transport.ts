/**
 * ORLY_WS_TRANSPORT: which library carries HTTP and WebSockets on the relay's port. `ws` (node's
 * http server and the ws package, the default) or `uws` (uWebSockets.js, see uws-native.ts); both
 * behind transport.ts, so nothing else in the relay changes with the choice. With `uws` and a
 * native binary that does not load on this platform or Node version, the relay refuses to start.
 */
import { ConfigError } from '../../config/env.js';
import type { TransportHandlers, TransportLimits, TransportServer } from './transport.js';
import { loadUws } from './uws-native.js';
import { UwsTransport } from './uws-server.js';
import { WsTransport } from './ws-server.js';

export type TransportKind = 'ws' | 'uws';

export const TRANSPORTS: Record<string, TransportKind> = { ws: 'ws', uws: 'uws' };

/** Throws ConfigError (ORLY_WS_TRANSPORT) when `kind` cannot run here; call before opening anything. */
export function checkTransport(kind: TransportKind): void {
  if (kind !== 'uws') return;
  const load = loadUws();
  if (!load.ok)
    throw new ConfigError(
      'ORLY_WS_TRANSPORT',
      `uws: the uWebSockets.js binary ${load.binary} did not load (${load.error}); set ORLY_WS_TRANSPORT=ws`,
    );
}

export function createTransport(
  kind: TransportKind,
  handlers: TransportHandlers,
  limits: TransportLimits,
): TransportServer {
  if (kind === 'ws') return new WsTransport(handlers, limits);
  checkTransport(kind);
  const load = loadUws();
  if (!load.ok) throw new Error('unreachable: checkTransport passed');
  return new UwsTransport(load.uws, load.binary, handlers, limits);
}
