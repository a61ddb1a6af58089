/**
 * Composition: builds a Relay from its configuration, choosing each capability's
 * implementation — the embedded LMDB store, PostgreSQL or orly-db over gRPC (ORLY_DB_TYPE), in-process
 * access control or orly-acl over gRPC (ORLY_ACL_TYPE), the NIP-77 responder in process or
 * orly-sync-negentropy over gRPC (ORLY_SYNC_TYPE=grpc and ORLY_GRPC_SYNC_NEGENTROPY set; with
 * ORLY_SYNC_TYPE=grpc but no address, NIP-77 stays in process), distributed sync in process
 * (ORLY_SYNC_TYPE=local and peers named) or orly-sync-distributed over gRPC (ORLY_SYNC_TYPE=grpc
 * and ORLY_GRPC_SYNC_DISTRIBUTED set), cluster replication likewise (ORLY_GRPC_SYNC_CLUSTER:
 * orly-sync-cluster), relay groups in process (ORLY_RELAY_GROUP_ADMINS) or in orly-sync-relaygroup
 * (ORLY_GRPC_SYNC_RELAYGROUP: the relay only checks it is there). The relay never knows which.
 */

import type { AccessControl } from '../acl/access-control.js';
import { createAccessControl, parseAclMode } from '../acl/factory.js';
import { loadFollowsSettings } from '../acl/follows-config.js';
import { GrpcAccessControl } from '../acl/grpc-access-control.js';
import { GrpcWritePolicy } from '../acl/policy/grpc-write-policy.js';
import type { WritePolicy } from '../acl/policy/plugin-protocol.js';
import { startEventPolicy } from '../acl/policy/write-policy-config.js';
import { parsePubkeyList } from '../acl/pubkeys.js';
import { ConfigError, type Env } from '../config/env.js';
import { VerifierPool } from '../crypto/verifier-pool.js';
import { loadGrpcSecurity } from '../grpc/security.js';
import type { Logger } from '../logger.js';
import { NegentropyGateway } from '../negentropy/gateway.js';
import { GrpcNegentropyResponder } from '../negentropy/grpc-responder.js';
import { LocalNegentropyResponder } from '../negentropy/local-responder.js';
import type { NegentropyResponder } from '../negentropy/responder.js';
import { serializeEvent } from '../protocol/event.js';
import type { EventStore } from '../store/event-store.js';
import { ExpirationSweeper } from '../store/expiration-sweeper.js';
import { GrpcEventStore } from '../store/grpc/grpc-event-store.js';
import { loadLmdbStoreConfig } from '../store/lmdb/config.js';
import { LmdbEventStore } from '../store/lmdb/lmdb-store.js';
import { PostgresEventStore } from '../store/postgres/postgres-store.js';
import { ClusterSync } from '../sync/cluster/cluster-sync.js';
import { GrpcClusterSync } from '../sync/cluster/grpc-cluster-sync.js';
import { DistributedSync, type DistributedSyncDeps } from '../sync/distributed/distributed-sync.js';
import { GrpcDistributedSync } from '../sync/distributed/grpc-distributed-sync.js';
import { loadRelayIdentity, type RelayIdentity, temporaryIdentity } from '../sync/identity/relay-identity.js';
import { GrpcRelayGroupSync } from '../sync/relaygroup/grpc-relay-group-sync.js';
import { loadRelayGroupAdmins, RelayGroupSync } from '../sync/relaygroup/relay-group-sync.js';
import type { Replication } from '../sync/replication.js';
import { SyncIngest } from '../sync/sync-ingest.js';
import type { RelayConfig } from './config.js';
import type { GaugeSpec } from './metrics.js';
import { Relay } from './relay.js';
import { resolveTransport } from './transport/create-transport.js';

/** The store, and the gauges it brings to /metrics. */
async function createStore(
  config: RelayConfig,
  env: Env,
  logger: Logger,
): Promise<{ store: EventStore; gauges: GaugeSpec[] }> {
  const { backend } = config;
  if (backend.dbType === 'local') {
    const store = LmdbEventStore.open(config.dataDir, {
      queryWorkers: config.queryWorkers,
      logger,
      ...loadLmdbStoreConfig(env),
    });
    await store.workersReady();
    const gauges: GaugeSpec[] = [];
    if (store.queryPool !== undefined)
      gauges.push({
        name: 'orly_query_workers_ready',
        help: 'Query worker threads ready',
        read: () => store.queryPool?.readyWorkers ?? 0,
      });
    return { store, gauges };
  }
  if (backend.dbType === 'postgres') {
    const settings = backend.postgres!;
    logger.info({ server: postgresServer(settings.url) }, 'opening the PostgreSQL store');
    return { store: await PostgresEventStore.open(settings, { logger }), gauges: [] };
  }
  logger.info({ server: backend.grpcDbServer }, 'connecting to orly-db');
  const store = await GrpcEventStore.connect(backend.grpcDbServer, {
    security: loadGrpcSecurity(env),
    logger,
    connectTimeoutMs: backend.grpcConnectTimeoutSeconds * 1000,
  });
  return { store, gauges: [] };
}

/** host:port/database of a PostgreSQL URL, for the log (never its user or password). */
function postgresServer(url: string): string {
  const parsed = new URL(url);
  return `${parsed.host}${parsed.pathname}`;
}

async function createAccess(
  config: RelayConfig,
  env: Env,
  store: EventStore,
  logger: Logger,
): Promise<AccessControl> {
  const { backend } = config;
  if (backend.aclType === 'grpc') {
    logger.info({ server: backend.grpcAclServer }, 'connecting to orly-acl');
    return GrpcAccessControl.connect(backend.grpcAclServer, {
      security: loadGrpcSecurity(env),
      logger,
      connectTimeoutMs: backend.grpcConnectTimeoutSeconds * 1000,
      refreshMs: backend.grpcAclRefreshSeconds * 1000,
    });
  }
  return createAccessControl(parseAclMode(backend.aclMode, 'ORLY_ACL_MODE'), {
    store,
    owners: parsePubkeyList(env.ORLY_OWNERS, 'ORLY_OWNERS'),
    admins: parsePubkeyList(env.ORLY_ADMINS, 'ORLY_ADMINS'),
    logger,
    follows: loadFollowsSettings(env),
  });
}

/** NIP-77 (when enabled): sessions in the relay, answered in process or by orly-sync-negentropy. */
function createNegentropy(
  config: RelayConfig,
  env: Env,
  store: EventStore,
  access: AccessControl,
  writePolicy: WritePolicy | undefined,
  logger: Logger,
): NegentropyGateway | undefined {
  const { backend, negentropy } = config;
  if (!negentropy.enabled) return undefined;
  const policy = {
    restrictedKinds: new Set(config.authRestrictedKinds),
    maxRecords: negentropy.maxRecords,
    frameSizeLimit: negentropy.frameSizeLimit,
  };
  let responder: NegentropyResponder;
  if (backend.syncType === 'grpc' && backend.grpcSyncNegentropy !== undefined) {
    logger.info({ server: backend.grpcSyncNegentropy }, 'NIP-77 routed to orly-sync-negentropy');
    responder = new GrpcNegentropyResponder({
      address: backend.grpcSyncNegentropy,
      policy,
      security: loadGrpcSecurity(env),
      logger,
      deadlineMs: backend.grpcSyncTimeoutMs,
    });
  } else {
    responder = new LocalNegentropyResponder({
      store,
      policy,
      logger,
      maxItemsTotal: negentropy.maxItemsTotal,
      maxItemsPerIp: negentropy.maxItemsPerIp,
    });
  }
  return new NegentropyGateway({
    responder,
    maxSessions: negentropy.maxSessions,
    sessionTimeoutMs: negentropy.sessionTimeoutMs,
    ...(access.hiddenAuthors === undefined
      ? {}
      : { hiddenAuthors: (client) => access.hiddenAuthors?.(client) }),
    ...(writePolicy?.readScope === undefined
      ? {}
      : { readScope: (client) => writePolicy.readScope?.(client) }),
  });
}

/**
 * The write policy: in process (ORLY's policy file, the strfry plugin), or in split mode the one
 * orly-acl runs beside it. A relay configured with a policy of its own whose orly-acl runs none
 * refuses to start (fail closed: the policy would silently not apply).
 */
async function createWritePolicy(
  config: RelayConfig,
  env: Env,
  store: EventStore,
  logger: Logger,
): Promise<WritePolicy | undefined> {
  const { backend, writePolicy } = config;
  if (backend.aclType !== 'grpc') {
    const started = await startEventPolicy(writePolicy, logger, {
      store,
      owners: parsePubkeyList(env.ORLY_OWNERS, 'ORLY_OWNERS'),
    });
    return started?.policy;
  }
  const remote = await GrpcWritePolicy.connect(backend.grpcAclServer, {
    security: loadGrpcSecurity(env),
    logger,
    connectTimeoutMs: backend.grpcConnectTimeoutSeconds * 1000,
    refreshMs: backend.grpcAclRefreshSeconds * 1000,
    deadlineMs: writePolicy.timeoutMs + 5000,
  });
  if (remote === undefined && (writePolicy.plugin !== undefined || writePolicy.policyFile !== undefined)) {
    throw new ConfigError(
      writePolicy.plugin !== undefined ? 'ORLY_WRITE_POLICY_PLUGIN' : 'ORLY_POLICY_ENABLED',
      `with ORLY_ACL_TYPE=grpc the write policy runs in orly-acl (${backend.grpcAclServer}), which has none configured`,
    );
  }
  return remote;
}

/**
 * The relay's identity (NIP-11 `self`). When it cannot be kept in the store (orly-db refuses state
 * writes from unauthenticated callers) and no replication needs it, a key for this run only, with
 * a warning; a relay that replicates must have a lasting one (ORLY_RELAY_SECRET_KEY, or
 * ORLY_GRPC_TOKEN so it can be stored).
 */
async function relayIdentity(
  config: RelayConfig,
  store: EventStore,
  env: Env,
  logger: Logger,
): Promise<RelayIdentity> {
  try {
    return await loadRelayIdentity(store, env);
  } catch (err) {
    if (err instanceof ConfigError || replicates(config, env)) throw err;
    logger.warn(
      { err: (err as Error).message },
      'the relay identity could not be kept in the store: using a key for this run only (set ORLY_RELAY_SECRET_KEY to keep one)',
    );
    return temporaryIdentity();
  }
}

function replicates(config: RelayConfig, env: Env): boolean {
  return (
    config.distributed.peers.length > 0 ||
    config.cluster.enabled ||
    loadRelayGroupAdmins(env).length > 0 ||
    config.backend.grpcSyncDistributed !== undefined ||
    config.backend.grpcSyncCluster !== undefined
  );
}

/** Capabilities given instead of built from the configuration (tests). */
export interface RelayOverrides {
  /** Used instead of ORLY_WRITE_POLICY_PLUGIN; stopped with the relay. */
  readonly writePolicy?: WritePolicy;
}

export async function createRelay(
  config: RelayConfig,
  logger: Logger,
  env: Env = process.env,
  overrides: RelayOverrides = {},
): Promise<Relay> {
  // ORLY_WS_TRANSPORT=uws that cannot serve here: refuse before anything is opened.
  const transport = resolveTransport(config.transport, config.backend.aclType === 'grpc');
  if (transport.fallback !== undefined) logger.warn(`${transport.fallback}: serving WebSockets with ws`);
  const { store, gauges } = await createStore(config, env, logger);
  let access: AccessControl;
  let writePolicy: WritePolicy | undefined;
  let identity: RelayIdentity;
  try {
    identity = await relayIdentity(config, store, env, logger);
    access = await createAccess(config, env, store, logger);
  } catch (err) {
    await store.close();
    throw err;
  }
  try {
    writePolicy = overrides.writePolicy ?? (await createWritePolicy(config, env, store, logger));
  } catch (err) {
    await access.close();
    await store.close();
    throw err;
  }
  const verifier = new VerifierPool({
    workers: config.verifyWorkers,
    onWorkerExit: (err) => logger.error({ err: err.message }, 'signature worker died; respawning'),
  });
  // Replicated events reach this relay's live subscriptions like published ones.
  let built: Relay | undefined;
  // One ingest path shared by every replication service (built only when one runs).
  let syncDeps: DistributedSyncDeps | undefined;
  const replications = createReplications(
    config,
    env,
    logger,
    () =>
      (syncDeps ??= {
        store,
        identity,
        logger,
        ingest: new SyncIngest({
          store,
          verifier,
          access,
          ...(writePolicy === undefined ? {} : { policy: writePolicy }),
          onStored: (event, serial) => {
            built?.broadcast(event, serializeEvent(event));
            built?.access.eventStored?.(event);
            built?.replication.notifyStored(serial, event);
          },
        }),
      }),
  );
  built = new Relay({
    config,
    transport: transport.kind,
    store,
    access,
    verifier,
    logger,
    replications,
    // A shared orly-db purges for its relays; every relay on PostgreSQL purges (idempotent).
    ...(config.backend.dbType !== 'grpc'
      ? { expirationSweeper: new ExpirationSweeper(store, config.expirationSweepSeconds, logger) }
      : {}),
    negentropy: createNegentropy(config, env, store, access, writePolicy, logger),
    gauges,
    identity,
    ...(writePolicy === undefined ? {} : { writePolicy }),
  });
  return built;
}

/** The relay's view of orly-sync-relaygroup (lifecycle and status; the service does the work). */
function grpcRelayGroup(config: RelayConfig, env: Env, logger: Logger, deps: DistributedSyncDeps) {
  return new GrpcRelayGroupSync({
    address: config.backend.grpcSyncRelayGroup ?? '',
    security: loadGrpcSecurity(env),
    logger,
    identity: deps.identity,
    store: deps.store,
    deadlineMs: config.backend.grpcSyncTimeoutMs,
    connectTimeoutMs: config.backend.grpcConnectTimeoutSeconds * 1000,
  });
}

/**
 * The replication services: in this process (ORLY_SYNC_TYPE=local), or the clients of the sync
 * services (ORLY_SYNC_TYPE=grpc, one per address given).
 */
function createReplications(
  config: RelayConfig,
  env: Env,
  logger: Logger,
  deps: () => DistributedSyncDeps,
): Replication[] {
  const { backend } = config;
  const services: Replication[] = [];
  if (backend.syncType === 'grpc') {
    if (backend.grpcSyncDistributed !== undefined)
      services.push(
        new GrpcDistributedSync({
          address: backend.grpcSyncDistributed,
          security: loadGrpcSecurity(env),
          logger,
          deadlineMs: backend.grpcSyncTimeoutMs,
          connectTimeoutMs: backend.grpcConnectTimeoutSeconds * 1000,
        }),
      );
    else if (config.distributed.peers.length > 0)
      logger.warn(
        'ORLY_SYNC_DISTRIBUTED_PEERS is set, but ORLY_SYNC_TYPE=grpc without ORLY_GRPC_SYNC_DISTRIBUTED: distributed sync does not run',
      );
    if (backend.grpcSyncCluster !== undefined)
      services.push(
        new GrpcClusterSync({
          address: backend.grpcSyncCluster,
          security: loadGrpcSecurity(env),
          logger,
          deadlineMs: backend.grpcSyncTimeoutMs,
          connectTimeoutMs: backend.grpcConnectTimeoutSeconds * 1000,
        }),
      );
    else if (config.cluster.enabled)
      logger.warn(
        'the cluster is enabled, but ORLY_SYNC_TYPE=grpc without ORLY_GRPC_SYNC_CLUSTER: cluster replication does not run',
      );
    if (backend.grpcSyncRelayGroup !== undefined) services.push(grpcRelayGroup(config, env, logger, deps()));
    else if (loadRelayGroupAdmins(env).length > 0)
      logger.warn(
        'ORLY_RELAY_GROUP_ADMINS is set, but ORLY_SYNC_TYPE=grpc without ORLY_GRPC_SYNC_RELAYGROUP: relay groups run only in orly-sync-relaygroup',
      );
    return services;
  }
  const groupAdmins = loadRelayGroupAdmins(env);
  if (config.distributed.peers.length > 0 || groupAdmins.length > 0) {
    const distributed = new DistributedSync(config.distributed, deps());
    services.push(distributed);
    // The relay group's relays join the configured peers, and follow its configuration at once.
    if (groupAdmins.length > 0)
      services.push(
        new RelayGroupSync(groupAdmins, {
          ...deps(),
          apply: async (relays) => {
            await distributed.setGroupPeers(relays);
          },
        }),
      );
  }
  if (config.cluster.enabled && config.cluster.admins.length > 0)
    services.push(
      new ClusterSync(config.cluster, { ...deps(), restrictedKinds: new Set(config.authRestrictedKinds) }),
    );
  return services;
}
