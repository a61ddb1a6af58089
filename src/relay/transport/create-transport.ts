/**
 * ORLY_WS_TRANSPORT: which library carries HTTP and WebSockets on the relay's port, behind
 * transport.ts so that nothing else in the relay changes with the choice: `ws` (node's http
 * server and the ws package, the default), `uws` (uWebSockets.js, see uws-native.ts), or `auto`
 * (uws where its native binary loads on this platform and Node version, else ws). An explicit
 * `uws` whose binary does not load stops start-up.
 *
 * uws needs every upgrade answered inside uWS's upgrade callback: when the relay's access check
 * is asynchronous (ORLY_ACL_TYPE=grpc: orly-acl answers over gRPC), the upgrade completes later,
 * inside res.cork(), and the uWS build in use (20.30) then closes about one connection in
 * twenty right after its 101 (code 1006; measured in the split-mode relay suites; the same
 * upgrade without cork works but uWS prints a warning for each). So `auto` takes ws there, and
 * an explicit `uws` stops start-up.
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
export function resolveTransport(
  kind: TransportKind,
  asyncAccess = false,
): { kind: 'ws' | 'uws'; fallback?: string } {
  if (kind === 'ws') return { kind };
  if (asyncAccess) {
    const why = 'uws cannot complete upgrades after an asynchronous access check (ORLY_ACL_TYPE=grpc)';
    if (kind === 'auto') return { kind: 'ws', fallback: why };
    throw new ConfigError('ORLY_WS_TRANSPORT', `${why}; set ORLY_WS_TRANSPORT=ws`);
  }
  const load = loadUws();
  if (load.ok) return { kind: 'uws' };
  const why = `the uWebSockets.js binary ${load.binary} did not load (${load.error})`;
  if (kind === 'auto') return { kind: 'ws', fallback: why };
  throw new ConfigError('ORLY_WS_TRANSPORT', `uws: ${why}; set ORLY_WS_TRANSPORT=ws`);
}

/** The transport for `kind` as resolveTransport() resolved it (call that first: it explains refusals). */
export function createTransport(
  kind: 'ws' | 'uws',
  handlers: TransportHandlers,
  limits: TransportLimits,
): TransportServer {
  if (kind === 'ws') return new WsTransport(handlers, limits);
  const load = loadUws();
  if (!load.ok) throw new Error(`uws: the uWebSockets.js binary ${load.binary} did not load (${load.error})`);
  return new UwsTransport(load.uws, load.binary, handlers, limits);
}
