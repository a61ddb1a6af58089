/**
 * Listens with a node http server on host:port and resolves once bound (rejects on the first
 * listen error: a port in use, an address not on this machine).
 */
import type { Server } from 'node:http';

export function listenHttp(server: Server, host: string, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
