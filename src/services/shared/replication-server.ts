/**
 * startReplicationServer: what orly-sync-distributed and orly-sync-cluster do alike in their
 * server.ts. Loads the relay's identity from the store (or ORLY_RELAY_SECRET_KEY), so the service
 * signs as the relay that shares its orly-db and whose NIP-11 `self` its peers read; builds the
 * ingest path of replicated events (signatures on a VerifierPool, then the given access control
 * and write policy, then the store; no live delivery here: relays learn of new events from
 * orly-db's change feed); has the service build its replication over them, and serves it
 * (./sync-server.ts). Stop: the replication, the server, then the verifier, the write policy, the
 * access control and (when owned) the store.
 */
import type { AccessControl } from '../../acl/access-control.js';
import type { WritePolicy } from '../../acl/policy/plugin-protocol.js';
import type { Env } from '../../config/env.js';
import { VerifierPool } from '../../crypto/verifier-pool.js';
import type { GrpcSecurity } from '../../grpc/security.js';
import type { GrpcServiceBinding } from '../../grpc/server.js';
import type { Logger } from '../../logger.js';
import type { NostrEvent } from '../../protocol/event.js';
import type { ClientStore, StateStore, StoreAdmin, SyncSource } from '../../store/event-store.js';
import type { PeerDirectory } from '../../sync/identity/peer-directory.js';
import { loadRelayIdentity, type RelayIdentity } from '../../sync/identity/relay-identity.js';
import { SyncIngest } from '../../sync/sync-ingest.js';
import { type SyncServer, serveSync } from './sync-server.js';

/** The options both replicating services take. */
export interface ReplicationServerOptions {
  /** host:port; port 0 picks a free port. */
  readonly listen: string;
  /** The relay's store (orly-db's client in the binary): events, serials, progress, identity. */
  readonly store: Pick<ClientStore, 'query' | 'save' | 'close'> &
    Pick<SyncSource, 'lastSerial' | 'eventsSince'> &
    Pick<StateStore, 'getState' | 'putState'> &
    Pick<StoreAdmin, 'isOpen'>;
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

/** What a replication is built over. */
export interface ReplicationDeps<Store> {
  readonly store: Store;
  readonly identity: RelayIdentity;
  readonly ingest: SyncIngest;
  readonly logger: Logger;
  readonly directory?: PeerDirectory;
}

interface Replication {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface ReplicationSpec<Store, S extends Replication> {
  /** The service's name in logs ("orly-sync-cluster"). */
  readonly name: string;
  readonly adminMethods: readonly string[];
  /** Told of every event the ingest path stored. */
  readonly onStored?: (event: NostrEvent, serial: number) => void;
  create(deps: ReplicationDeps<Store>): S;
  /** The gRPC binding of `sync`; `isServing`: not stopping, and the store open. */
  binding(sync: S, isServing: () => boolean): GrpcServiceBinding;
  /** Starts `sync` (and what goes with it) before the server listens. */
  start(sync: S, identity: RelayIdentity): Promise<void>;
  /** Before the replication stops (also when the server cannot listen). */
  readonly quiesce?: () => void;
  /** Before the rest is released. */
  readonly release?: () => void;
}

export interface ReplicationServer<S> extends SyncServer {
  readonly sync: S;
}

export async function startReplicationServer<O extends ReplicationServerOptions, S extends Replication>(
  options: O,
  spec: ReplicationSpec<O['store'], S>,
): Promise<ReplicationServer<S>> {
  const { logger, store } = options;
  const verifier = new VerifierPool({
    workers: options.verifyWorkers ?? 1,
    onWorkerExit: (err) => logger.error({ err: err.message }, 'signature worker died; respawning'),
  });
  const release = async (): Promise<void> => {
    spec.release?.();
    await verifier.close();
    await options.policy?.stop();
    await options.access?.close();
    if (options.ownsStore) await store.close();
  };
  let identity: RelayIdentity;
  let sync: S;
  try {
    identity = await loadRelayIdentity(store, options.env ?? process.env);
    const ingest = new SyncIngest({
      store,
      verifier,
      ...(options.access === undefined ? {} : { access: options.access }),
      ...(options.policy === undefined ? {} : { policy: options.policy }),
      ...(spec.onStored === undefined ? {} : { onStored: spec.onStored }),
    });
    sync = spec.create({
      store,
      identity,
      ingest,
      logger,
      ...(options.directory === undefined ? {} : { directory: options.directory }),
    });
  } catch (err) {
    await release();
    throw err;
  }
  const running = sync;
  const server = await serveSync({
    name: spec.name,
    listen: options.listen,
    security: options.security,
    logger,
    store,
    adminMethods: spec.adminMethods,
    binding: (isServing) => spec.binding(running, isServing),
    start: () => spec.start(running, identity),
    quiesce: async () => {
      spec.quiesce?.();
      await running.stop();
    },
    release,
  });
  return { ...server, sync };
}
