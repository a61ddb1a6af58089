/**
 * startClusterSyncServer: orly-sync-cluster in this process (used by its CLI and by tests). Loads
 * the relay's identity from the store (or ORLY_RELAY_SECRET_KEY), so it signs as the relay that
 * shares its orly-db and whose NIP-11 `self` the members read; builds the ingest path of
 * replicated events (signatures on a VerifierPool, then the given access control and write
 * policy, then the store; relays learn of new events from orly-db's change feed); runs a
 * ClusterSync over the store and serves it as orlysync.cluster.v1.ClusterSyncService
 * (cluster-service.ts) plus grpc.health.v1. The steps the distributed service shares:
 * ../shared/replication-server.ts.
 *
 * Membership: the service follows orly-db's change feed (`watch`) and hands every event stored by
 * another writer (the relays, another service) to ClusterSync.notifyNewEvent, as it does with the
 * events it replicates itself: a kind 39108 from an admin, stored anywhere on that orly-db,
 * re-reads the membership at once. It is also re-read every poll interval (a safety net under
 * the change feed).
 *
 * UpdateMembership, Start and Stop change whom (and whether) this relay replicates with: refused
 * (PERMISSION_DENIED) when the server does not authenticate its callers (no token, no mutual TLS).
 */
import { ClusterSyncServiceService } from '../../gen/orlysync/cluster/v1/cluster.js';
import type { ChangeFeed } from '../../store/event-store.js';
import type { ClusterConfig } from '../../sync/cluster/cluster-config.js';
import { ClusterSync } from '../../sync/cluster/cluster-sync.js';
import {
  type ReplicationServer,
  type ReplicationServerOptions,
  startReplicationServer,
} from '../shared/replication-server.js';
import { clusterService } from './cluster-service.js';

export interface ClusterServerOptions extends ReplicationServerOptions {
  /** The relay's store, with its change feed when it has one. */
  readonly store: ReplicationServerOptions['store'] & Partial<Pick<ChangeFeed, 'watch'>>;
  readonly cluster: ClusterConfig;
  /** ORLY_AUTH_RESTRICTED_KINDS. */
  readonly restrictedKinds: readonly number[];
}

/** Graceful stop: the member links first, then the server. */
export type ClusterServer = ReplicationServer<ClusterSync>;

export async function startClusterSyncServer(options: ClusterServerOptions): Promise<ClusterServer> {
  const { logger, store } = options;
  let unwatch: (() => void) | undefined;
  let refresh: NodeJS.Timeout | undefined;
  let running = false;
  let cluster: ClusterSync | undefined;
  return startReplicationServer(options, {
    name: 'orly-sync-cluster',
    adminMethods: ['UpdateMembership', 'Start', 'Stop'],
    onStored: (event, serial) => cluster?.notifyNewEvent(serial, event),
    create: (deps) => {
      cluster = new ClusterSync(options.cluster, {
        ...deps,
        restrictedKinds: new Set(options.restrictedKinds),
      });
      return cluster;
    },
    binding: (sync, isServing) => ({
      definition: ClusterSyncServiceService,
      implementation: clusterService(sync, () => isServing() && running, logger),
    }),
    start: async (sync, identity) => {
      unwatch = store.watch?.((stored) => {
        if (stored.serial > 0) sync.notifyNewEvent(stored.serial, stored.event);
      });
      await sync.start();
      running = true;
      refresh = setInterval(() => void sync.refreshMembership(), options.cluster.intervalMs);
      refresh.unref();
      logger.info(
        { nodeId: identity.pubkey, members: sync.peerUrls.length, changeFeed: unwatch !== undefined },
        'relay identity loaded',
      );
    },
    quiesce: () => unwatch?.(),
    release: () => {
      unwatch?.();
      if (refresh !== undefined) clearInterval(refresh);
    },
  });
}
