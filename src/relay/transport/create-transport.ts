/**
 * ORLY_WS_TRANSPORT: which library carries HTTP and WebSockets on the relay's port, behind
 * transport.ts so that nothing else in the relay changes with the choice: `ws` (node's http
 * server and the ws package, the default), `uws` (uWebSockets.js, see uws-native.ts), or `auto`
 * (uws where its native binary loads on this platform and Node version, else ws). An explicit
 * `uws` whose binary does not load stops start-up.
 */
import { ConfigError } from '../../config/env.js';
import type { TransportHandlers, TransportLimits, TransportServer } from './transport.js';
import { loadUws } from './uws-native.js';
import { UwsTransport } from './uws-server.js';
import { WsTransport } from './ws-server.js';

export type TransportKind = 'auto' | 'ws' | 'uws';

export const TRANSPORTS: Record<string, TransportKind> = { auto: 'auto', ws: 'ws', uws: 'uws' };

/**
 * The library `kind` runs on here, and why `auto` fell back to ws (for the log). Throws
 * ConfigError (ORLY_WS_TRANSPORT) for an explicit `uws` that cannot run; call before opening anything.
 */
export function resolveTransport(kind: TransportKind): { kind: 'ws' | 'uws'; fallback?: string } {
  if (kind === 'ws') return { kind };
  const load = loadUws();
  if (load.ok) return { kind: 'uws' };
  const why = `the uWebSockets.js binary ${load.binary} did not load (${load.error})`;
  if (kind === 'auto') return { kind: 'ws', fallback: why };
  throw new ConfigError('ORLY_WS_TRANSPORT', `uws: ${why}; set ORLY_WS_TRANSPORT=ws`);
}

export function createTransport(
  kind: TransportKind,
  handlers: TransportHandlers,
  limits: TransportLimits,
): TransportServer {
  if (resolveTransport(kind).kind === 'ws') return new WsTransport(handlers, limits);
  const load = loadUws();
  if (!load.ok) throw new Error('unreachable: resolveTransport chose uws');
  return new UwsTransport(load.uws, load.binary, handlers, limits);
}
