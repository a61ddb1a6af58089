/**
 * startClusterSyncServer: orly-sync-cluster in this process (used by its CLI and by tests). Loads
 * the relay's identity from the store (or ORLY_RELAY_SECRET_KEY), so it signs as the relay that
 * shares its orly-db and whose NIP-11 `self` the members read; builds the ingest path of
 * replicated events (signatures on a VerifierPool, then the given access control and write
 * policy, then the store; relays learn of new events from orly-db's change feed); runs a
 * ClusterSync over the store and serves it as orlysync.cluster.v1.ClusterSyncService
 * (cluster-service.ts) plus grpc.health.v1.
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
import type { AccessControl } from '../../acl/access-control.js';
import type { WritePolicy } from '../../acl/policy/plugin-protocol.js';
import type { Env } from '../../config/env.js';
import { VerifierPool } from '../../crypto/verifier-pool.js';
import { ClusterSyncServiceService } from '../../gen/orlysync/cluster/v1/cluster.js';
import type { GrpcSecurity } from '../../grpc/security.js';
import { GrpcServer } from '../../grpc/server.js';
import type { Logger } from '../../logger.js';
import type { NostrEvent } from '../../protocol/event.js';
import type { ChangeFeed, ClientStore, StateStore, StoreAdmin, SyncSource } from '../../store/event-store.js';
import type { ClusterConfig } from '../../sync/cluster/cluster-config.js';
import { ClusterSync } from '../../sync/cluster/cluster-sync.js';
import type { PeerDirectory } from '../../sync/identity/peer-directory.js';
import { loadRelayIdentity } from '../../sync/identity/relay-identity.js';
import { SyncIngest } from '../../sync/sync-ingest.js';
import { clusterService } from './cluster-service.js';

export interface ClusterServerOptions {
  /** host:port; port 0 picks a free port. */
  readonly listen: string;
  /** The relay's store (orly-db's client in the binary): events, serials, progress, identity, change feed. */
  readonly store: Pick<ClientStore, 'query' | 'save' | 'close'> &
    Pick<SyncSource, 'lastSerial' | 'eventsSince'> &
    Pick<StateStore, 'getState' | 'putState'> &
    Pick<StoreAdmin, 'isOpen'> &
    Partial<Pick<ChangeFeed, 'watch'>>;
  readonly cluster: ClusterConfig;
  /** ORLY_AUTH_RESTRICTED_KINDS. */
  readonly restrictedKinds: readonly number[];
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
  /** NIP-11 lookups of the members (tests give short timeouts). */
  readonly directory?: PeerDirectory;
}

export interface ClusterServer {
  readonly port: number;
  /** An address clients can dial (a wildcard host becomes 127.0.0.1). */
  readonly address: string;
  readonly sync: ClusterSync;
  /** Graceful stop: the member links first, then the server (running calls get `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

export async function startClusterSyncServer(options: ClusterServerOptions): Promise<ClusterServer> {
  const { logger, store } = options;
  const verifier = new VerifierPool({
    workers: options.verifyWorkers ?? 1,
    onWorkerExit: (err) => logger.error({ err: err.message }, 'signature worker died; respawning'),
  });
  let unwatch: (() => void) | undefined;
  let refresh: NodeJS.Timeout | undefined;
  const release = async (): Promise<void> => {
    unwatch?.();
    if (refresh !== undefined) clearInterval(refresh);
    await verifier.close();
    await options.policy?.stop();
    await options.access?.close();
    if (options.ownsStore) await store.close();
  };
  let sync: ClusterSync;
  let grpc: GrpcServer;
  let port: number;
  let stopping = false;
  let running = false;
  try {
    const identity = await loadRelayIdentity(store, options.env ?? process.env);
    let notify: ((serial: number, event: NostrEvent) => void) | undefined;
    const ingest = new SyncIngest({
      store,
      verifier,
      ...(options.access === undefined ? {} : { access: options.access }),
      ...(options.policy === undefined ? {} : { policy: options.policy }),
      onStored: (event, serial) => notify?.(serial, event),
    });
    sync = new ClusterSync(options.cluster, {
      store,
      identity,
      ingest,
      logger,
      restrictedKinds: new Set(options.restrictedKinds),
      ...(options.directory === undefined ? {} : { directory: options.directory }),
    });
    const cluster = sync;
    notify = (serial, event) => cluster.notifyNewEvent(serial, event);
    grpc = new GrpcServer({
      name: 'orly-sync-cluster',
      listen: options.listen,
      security: options.security ?? {},
      services: [
        {
          definition: ClusterSyncServiceService,
          implementation: clusterService(sync, () => !stopping && running && store.isOpen(), logger),
        },
      ],
      logger,
      isServing: () => !stopping && store.isOpen(),
      adminMethods: ['UpdateMembership', 'Start', 'Stop'],
    });
    unwatch = store.watch?.((stored) => {
      if (stored.serial > 0) cluster.notifyNewEvent(stored.serial, stored.event);
    });
    await sync.start();
    running = true;
    refresh = setInterval(() => void cluster.refreshMembership(), options.cluster.intervalMs);
    refresh.unref();
    logger.info(
      { nodeId: identity.pubkey, members: sync.peerUrls.length, changeFeed: unwatch !== undefined },
      'relay identity loaded',
    );
    try {
      port = await grpc.start();
    } catch (err) {
      await cluster.stop();
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
        unwatch?.();
        await sync.stop();
        await grpc.stop(graceMs);
        await release();
        logger.info({ port }, 'orly-sync-cluster stopped');
      })();
      return stopped;
    },
  };
}
