/**
 * startDistributedSyncServer: orly-sync-distributed in this process (used by its CLI and by
 * tests). Loads the relay's identity from the store (or ORLY_RELAY_SECRET_KEY), so it signs as
 * the relay that shares its orly-db and whose NIP-11 `self` its peers read; builds the ingest
 * path of replicated events (signatures on a VerifierPool, then the given access control and
 * write policy, then the store; no live delivery here: relays learn of new events from orly-db's
 * change feed); runs a DistributedSync over the store and serves it as
 * orlysync.distributed.v1.DistributedSyncService (distributed-service.ts) plus grpc.health.v1.
 * The steps the cluster service shares: ../shared/replication-server.ts.
 *
 * UpdatePeers changes whom this relay replicates with: refused (PERMISSION_DENIED) when the
 * server does not authenticate its callers (no token, no mutual TLS).
 */
import { DistributedSyncServiceService } from '../../gen/orlysync/distributed/v1/distributed.js';
import type { DistributedSyncConfig } from '../../sync/distributed/config.js';
import { DistributedSync } from '../../sync/distributed/distributed-sync.js';
import {
  type ReplicationServer,
  type ReplicationServerOptions,
  startReplicationServer,
} from '../shared/replication-server.js';
import { distributedService } from './distributed-service.js';

export interface DistributedServerOptions extends ReplicationServerOptions {
  readonly sync: DistributedSyncConfig;
}

/** Graceful stop: the peer links first, then the server. */
export type DistributedServer = ReplicationServer<DistributedSync>;

export async function startDistributedSyncServer(
  options: DistributedServerOptions,
): Promise<DistributedServer> {
  const { logger } = options;
  return startReplicationServer(options, {
    name: 'orly-sync-distributed',
    adminMethods: ['UpdatePeers'],
    create: (deps) => new DistributedSync(options.sync, deps),
    binding: (sync, isServing) => ({
      definition: DistributedSyncServiceService,
      implementation: distributedService(sync, () => isServing() && sync.lifecycle === 'running', logger),
    }),
    start: async (sync, identity) => {
      await sync.start();
      logger.info({ nodeId: identity.pubkey, peers: sync.peers.length }, 'relay identity loaded');
    },
  });
}
