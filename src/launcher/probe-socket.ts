/**
 * The TCP connections of the launcher's readiness probes, made so that they can never take a
 * port a service is about to listen on.
 *
 * The services' default ports (50051-50064) lie in Linux's ephemeral range. A plain connect()
 * to a port nobody listens on yet may be given that very port as its source port and connect to
 * itself (TCP simultaneous open); the socket then holds the port (and, closed normally, keeps
 * it in TIME_WAIT for a minute), and the service's listen fails with EADDRINUSE. Any probe
 * connection may also be given the port of a service started later. So every probe socket:
 * - is bound explicitly before it connects (local port 0: the kernel picks one), which makes
 *   libuv set SO_REUSEADDR on it: neither the open socket nor its TIME_WAIT then conflicts with
 *   a listener's bind (services listen with SO_REUSEADDR);
 * - is checked once connected: a connection to itself (same local and remote address and port)
 *   is reset at once (RST, no TIME_WAIT) and counts as "nothing listens yet".
 */
import { lookup } from 'node:dns/promises';
import { connect, isIP, type Socket } from 'node:net';

/** True for a connection to itself (TCP simultaneous open on an unbound port). */
export function isSelfConnection(socket: Socket): boolean {
  return (
    socket.localPort !== undefined &&
    socket.localPort === socket.remotePort &&
    socket.localAddress === socket.remoteAddress
  );
}

/**
 * A connected probe socket to host:port (IPv6 hosts with or without brackets; names are
 * resolved). Rejects when nothing listens (ECONNREFUSED, a connection to itself) or after
 * `timeoutMs`. `localPort` is for tests (forcing a connection to itself).
 */
export async function connectProbeSocket(
  host: string,
  port: number,
  timeoutMs: number,
  localPort = 0,
): Promise<Socket> {
  const bare = host.replace(/^\[|\]$/g, '');
  const resolved = isIP(bare) !== 0 ? { address: bare, family: isIP(bare) } : await lookup(bare);
  return new Promise<Socket>((resolve, reject) => {
    const socket = connect({
      host: resolved.address,
      port,
      // An explicit bind (any address of the family, port 0 = any): SO_REUSEADDR, see above.
      localAddress: resolved.family === 6 ? '::' : '0.0.0.0',
      localPort,
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no connection within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      if (isSelfConnection(socket)) {
        socket.resetAndDestroy();
        reject(new Error(`nothing listens on port ${port} yet (the probe connected to itself; reset)`));
        return;
      }
      resolve(socket);
    });
  });
}
