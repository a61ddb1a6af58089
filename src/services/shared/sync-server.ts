/**
 * serveSync: the gRPC server of a sync service around its running replication, the lifecycle
 * orly-sync-distributed, -cluster and -relaygroup share.
 *
 * Start: the server is built (health SERVING while not stopping and the store is open; the
 * service's admin methods refused to unauthenticated callers), the replication started
 * (`start`), then the server listens. When the replication cannot start, `release` frees what
 * the service holds; when the server cannot listen, `quiesce` stops the replication first.
 *
 * Stop (once; later calls get the same promise): not serving any more, `quiesce`, the server
 * stopped (running calls get `graceMs`, default 5 s), `release`, then "<name> stopped" logged.
 */
import type { GrpcSecurity } from '../../grpc/security.js';
import { GrpcServer, type GrpcServiceBinding } from '../../grpc/server.js';
import type { Logger } from '../../logger.js';
import type { StoreAdmin } from '../../store/event-store.js';

export interface SyncServerSpec {
  /** The service's name in logs ("orly-sync-cluster"). */
  readonly name: string;
  /** host:port; port 0 picks a free port. */
  readonly listen: string;
  readonly security: GrpcSecurity | undefined;
  readonly logger: Logger;
  readonly store: Pick<StoreAdmin, 'isOpen'>;
  /** Methods refused (PERMISSION_DENIED) when the server does not authenticate its callers. */
  readonly adminMethods?: readonly string[];
  /** The service's binding; `isServing`: not stopping, and the store open. */
  binding(isServing: () => boolean): GrpcServiceBinding;
  /** Starts the replication, before the server listens. */
  start(): Promise<void>;
  /** Stops the replication: first on stop, and when the server cannot listen. */
  quiesce(): Promise<void>;
  /** Frees what the service holds: after the server stopped, or when starting failed. */
  release(): Promise<void>;
}

export interface SyncServer {
  readonly port: number;
  /** An address clients can dial (a wildcard host becomes 127.0.0.1). */
  readonly address: string;
  /** Graceful stop: the replication first, then the server (running calls get `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

export async function serveSync(spec: SyncServerSpec): Promise<SyncServer> {
  const { logger, store } = spec;
  let stopping = false;
  const isServing = () => !stopping && store.isOpen();
  let grpc: GrpcServer;
  let port: number;
  try {
    grpc = new GrpcServer({
      name: spec.name,
      listen: spec.listen,
      security: spec.security ?? {},
      services: [spec.binding(isServing)],
      logger,
      isServing,
      ...(spec.adminMethods === undefined ? {} : { adminMethods: spec.adminMethods }),
    });
    await spec.start();
    try {
      port = await grpc.start();
    } catch (err) {
      await spec.quiesce();
      throw err;
    }
  } catch (err) {
    await spec.release();
    throw err;
  }
  let stopped: Promise<void> | undefined;
  return {
    port,
    address: grpc.address,
    stop(graceMs = 5000): Promise<void> {
      stopped ??= (async () => {
        stopping = true;
        await spec.quiesce();
        await grpc.stop(graceMs);
        await spec.release();
        logger.info({ port }, `${spec.name} stopped`);
      })();
      return stopped;
    },
  };
}
