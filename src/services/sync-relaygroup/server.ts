/**
 * startRelayGroupServer: orly-sync-relaygroup in this process (used by its CLI and by tests).
 * Runs a RelayGroupSync over the store (orly-db's client in the binary): the authoritative
 * kind-39105 configuration of the admins, read at start, re-read whenever orly-db's change feed
 * brings an admin's 39105 or deletion (stored through any relay or service sharing that orly-db)
 * and every `resyncMs` (a safety net for changes the feed missed during an outage). Serves it as
 * orlysync.relaygroup.v1.RelayGroupService (relaygroup-service.ts) plus grpc.health.v1.
 *
 * With `distributedServer` (ORLY_SYNC_RELAYGROUP_DISTRIBUTED_SERVER), every new configuration in
 * force is pushed to orly-sync-distributed as the relay group's part of its peer list
 * (GrpcDistributedSync.setGroupPeers: UpdatePeers with keep_configured, so its own
 * ORLY_SYNC_DISTRIBUTED_PEERS stay), retried while it fails (peer-push.ts), and pushed again every
 * `resyncMs` (orly-sync-distributed keeps it in memory only: after a restart of that service the
 * group's relays come back within one period). UpdatePeers needs an authenticated caller: the
 * push carries this service's ORLY_GRPC_TOKEN (or client certificate).
 */
import { RelayGroupServiceService } from '../../gen/orlysync/relaygroup/v1/relaygroup.js';
import type { GrpcSecurity } from '../../grpc/security.js';
import type { Logger } from '../../logger.js';
import type { ChangeFeed, ClientStore, StoreAdmin, SyncSource } from '../../store/event-store.js';
import { GrpcDistributedSync } from '../../sync/distributed/grpc-distributed-sync.js';
import { RELAY_GROUP_KIND } from '../../sync/relaygroup/relay-group.js';
import { RelayGroupSync } from '../../sync/relaygroup/relay-group-sync.js';
import { type SyncServer, serveSync } from '../shared/sync-server.js';
import { GroupPeerPush } from './peer-push.js';
import { relayGroupService } from './relaygroup-service.js';

const DELETION_KIND = 5;

export interface RelayGroupServerOptions {
  /** host:port; port 0 picks a free port. */
  readonly listen: string;
  /** The relays' store: the admins' 39105 events, and its change feed when it has one. */
  readonly store: Pick<ClientStore, 'query' | 'close'> &
    Pick<SyncSource, 'lastSerial'> &
    Pick<StoreAdmin, 'isOpen'> &
    Partial<Pick<ChangeFeed, 'watch'>>;
  /** ORLY_RELAY_GROUP_ADMINS, lowercase hex. */
  readonly admins: readonly string[];
  readonly logger: Logger;
  readonly security?: GrpcSecurity;
  /** Closed on stop (the CLI's GrpcEventStore); tests keep ownership by default. */
  readonly ownsStore?: boolean;
  /** orly-sync-distributed's address: configurations are pushed there. */
  readonly distributedServer?: string;
  /** Period of the re-read and of the re-push (default 30 s). */
  readonly resyncMs?: number;
  /** The push's retry backoff (defaults 500 ms doubling to 30 s). */
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
}

/** Graceful stop: the feed and the push first, then the server (../shared/sync-server.ts). */
export interface RelayGroupServer extends SyncServer {
  readonly sync: RelayGroupSync;
  /** The relays last pushed to orly-sync-distributed (undefined: none yet, or no push configured). */
  readonly pushed: () => readonly string[] | undefined;
}

export async function startRelayGroupServer(options: RelayGroupServerOptions): Promise<RelayGroupServer> {
  const { logger, store } = options;
  const distributed =
    options.distributedServer === undefined
      ? undefined
      : new GrpcDistributedSync({
          address: options.distributedServer,
          security: options.security ?? {},
          logger: logger.child({ component: 'distributed-client' }),
        });
  const push =
    distributed === undefined
      ? undefined
      : new GroupPeerPush({
          target: distributed,
          logger,
          ...(options.retryInitialMs === undefined ? {} : { retryInitialMs: options.retryInitialMs }),
          ...(options.retryMaxMs === undefined ? {} : { retryMaxMs: options.retryMaxMs }),
        });
  const sync = new RelayGroupSync(options.admins, {
    store,
    logger,
    apply: async (relays) => push?.set(relays),
  });
  if (options.admins.length === 0)
    logger.warn('no ORLY_RELAY_GROUP_ADMINS: no relay-group configuration can be in force');
  let started = false;
  // Subscribed before the first read, so a configuration stored meanwhile is not missed.
  const unwatch = store.watch?.((stored) => {
    if (stored.kind === RELAY_GROUP_KIND || stored.kind === DELETION_KIND)
      sync.notifyNewEvent(stored.serial, stored.event);
  });
  const quiesce = async (): Promise<void> => {
    unwatch?.();
    await sync.stop();
    await push?.stop();
    await distributed?.stop();
  };
  const server = await serveSync({
    name: 'orly-sync-relaygroup',
    listen: options.listen,
    security: options.security,
    logger,
    store,
    binding: (isServing) => ({
      definition: RelayGroupServiceService,
      implementation: relayGroupService(sync, () => started && isServing(), logger),
    }),
    start: async () => {
      try {
        await sync.start();
      } catch (err) {
        await quiesce();
        throw err;
      }
      started = true;
    },
    quiesce,
    release: async () => {
      if (options.ownsStore) await store.close();
    },
  });
  const current = await sync.authoritative();
  logger.info(
    {
      admins: options.admins.length,
      relays: current?.relays ?? [],
      event: current?.sourceEventId ?? null,
      distributed: options.distributedServer ?? null,
    },
    'relay group loaded',
  );
  const resync = setInterval(() => {
    sync
      .refresh()
      .then(() => push?.resync())
      .catch((err: Error) => logger.warn({ err: err.message }, 'relay group re-read failed'));
  }, options.resyncMs ?? 30_000);
  resync.unref();
  return {
    port: server.port,
    address: server.address,
    sync,
    pushed: () => push?.pushed,
    stop(graceMs?: number): Promise<void> {
      clearInterval(resync);
      return server.stop(graceMs);
    },
  };
}
