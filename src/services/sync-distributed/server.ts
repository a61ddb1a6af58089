/**
 * startDistributedSyncServer: orly-sync-distributed in this process (used by its CLI and by
 * tests). Loads the relay's identity from the store (or ORLY_RELAY_SECRET_KEY), so it signs as
 * the relay that shares its orly-db and whose NIP-11 `self` its peers read; builds the ingest
 * path of replicated events (signatures on a VerifierPool, then the given access control and
 * write policy, then the store; no live delivery here: relays learn of new events from orly-db's
 * change feed); runs a DistributedSync over the store and serves it as
 * orlysync.distributed.v1.DistributedSyncService (distributed-service.ts) plus grpc.health.v1.
 *
 * UpdatePeers changes whom this relay replicates with: refused (PERMISSION_DENIED) when the
 * server does not authenticate its callers (no token, no mutual TLS).
 */
import type { AccessControl } from '../../acl/access-control.js';
import type { WritePolicy } from '../../acl/policy/plugin-protocol.js';
import type { Env } from '../../config/env.js';
import { VerifierPool } from '../../crypto/verifier-pool.js';
import { DistributedSyncServiceService } from '../../gen/orlysync/distributed/v1/distributed.js';
import type { GrpcSecurity } from '../../grpc/security.js';
import { GrpcServer } from '../../grpc/server.js';
import type { Logger } from '../../logger.js';
import type { ClientStore, StateStore, StoreAdmin, SyncSource } from '../../store/event-store.js';
import type { DistributedSyncConfig } from '../../sync/distributed/config.js';
import { DistributedSync } from '../../sync/distributed/distributed-sync.js';
import type { PeerDirectory } from '../../sync/identity/peer-directory.js';
import { loadRelayIdentity } from '../../sync/identity/relay-identity.js';
import { SyncIngest } from '../../sync/sync-ingest.js';
import { distributedService } from './distributed-service.js';

export interface DistributedServerOptions {
  /** host:port; port 0 picks a free port. */
  readonly listen: string;
  /** The relay's store (orly-db's client in the binary): events, serials, progress, identity. */
  readonly store: Pick<ClientStore, 'query' | 'save' | 'close'> &
    Pick<SyncSource, 'lastSerial' | 'eventsSince'> &
    Pick<StateStore, 'getState' | 'putState'> &
    Pick<StoreAdmin, 'isOpen'>;
  readonly sync: DistributedSyncConfig;
  readonly logger: Logger;
  readonly security?: GrpcSecurity;
  /** Closed on stop (the CLI's GrpcEventStore); tests keep ownership by default. */
  readonly ownsStore?: boolean;
  /** Where ORLY_RELAY_SECRET_KEY is read (default process.env). */
  readonly env?: Env;
  /** orly-acl's access control, asked about every replicated event; closed on stop. */
  readonly access?: AccessControl;
  /** orly-acl's write policy (sourceType "Sync"); stopped on stop. */
  readonly policy?: WritePolicy;
  /** Signature-verification threads (default 1; 0 = the main thread). */
  readonly verifyWorkers?: number;
  /** NIP-11 lookups of the peers (tests give short timeouts). */
  readonly directory?: PeerDirectory;
}

export interface DistributedServer {
  readonly port: number;
  /** An address clients can dial (a wildcard host becomes 127.0.0.1). */
  readonly address: string;
  readonly sync: DistributedSync;
  /** Graceful stop: the peer links first, then the server (running calls get `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

export async function startDistributedSyncServer(
  options: DistributedServerOptions,
): Promise<DistributedServer> {
  const { logger, store } = options;
  const verifier = new VerifierPool({
    workers: options.verifyWorkers ?? 1,
    onWorkerExit: (err) => logger.error({ err: err.message }, 'signature worker died; respawning'),
  });
  const release = async (): Promise<void> => {
    await verifier.close();
    await options.policy?.stop();
    await options.access?.close();
    if (options.ownsStore) await store.close();
  };
  let sync: DistributedSync;
  let grpc: GrpcServer;
  let port: number;
  let stopping = false;
  try {
    const identity = await loadRelayIdentity(store, options.env ?? process.env);
    const ingest = new SyncIngest({
      store,
      verifier,
      ...(options.access === undefined ? {} : { access: options.access }),
      ...(options.policy === undefined ? {} : { policy: options.policy }),
    });
    sync = new DistributedSync(options.sync, {
      store,
      identity,
      ingest,
      logger,
      ...(options.directory === undefined ? {} : { directory: options.directory }),
    });
    const running = sync;
    const isReady = () => !stopping && store.isOpen() && running.lifecycle === 'running';
    grpc = new GrpcServer({
      name: 'orly-sync-distributed',
      listen: options.listen,
      security: options.security ?? {},
      services: [
        {
          definition: DistributedSyncServiceService,
          implementation: distributedService(sync, isReady, logger),
        },
      ],
      logger,
      isServing: () => !stopping && store.isOpen(),
      adminMethods: ['UpdatePeers'],
    });
    await sync.start();
    logger.info({ nodeId: identity.pubkey, peers: sync.peers.length }, 'relay identity loaded');
    try {
      port = await grpc.start();
    } catch (err) {
      await running.stop();
      throw err;
    }
  } catch (err) {
    await release();
    throw err;
  }
  let stopped: Promise<void> | undefined;
  return {
    port,
    address: grpc.address,
    sync,
    stop(graceMs = 5000): Promise<void> {
      stopped ??= (async () => {
        stopping = true;
        await sync.stop();
        await grpc.stop(graceMs);
        await release();
        logger.info({ port }, 'orly-sync-distributed stopped');
      })();
      return stopped;
    },
  };
}
