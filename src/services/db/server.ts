/**
 * startDatabaseServer: an orly-db server in this process, used by the `orly-db` CLI and by tests.
 * Opens the LMDB store in `dataDir` (or serves a given `store`), serves it as the
 * orlydb.v1.DatabaseService through GrpcServer (health, token guard, TLS/mTLS, TCP_NODELAY),
 * optionally runs the NIP-40 expiration sweeper, and stops gracefully: long-lived streams are
 * ended, running calls may finish within the grace period, then the store is closed (only when
 * this server opened it).
 *
 * Without a token or mutual TLS its callers are unauthenticated (only possible on loopback or
 * with ORLY_GRPC_INSECURE): their events' signatures are verified (a VerifierPool created on
 * first use) and DeleteEvent / PurgeExpired / PutState are refused with PERMISSION_DENIED.
 */
import { availableParallelism } from 'node:os';
import type { SignatureVerifier } from '../../crypto/signature-verifier.js';
import { VerifierPool } from '../../crypto/verifier-pool.js';
import { authenticatesCallers, type GrpcSecurity } from '../../grpc/security.js';
import { GrpcServer } from '../../grpc/server.js';
import type { Logger } from '../../logger.js';
import type { EventStore } from '../../store/event-store.js';
import { ExpirationSweeper } from '../../store/expiration-sweeper.js';
import { DatabaseServiceDefinition } from '../../store/grpc/frame-chunk-codec.js';
import { LmdbEventStore } from '../../store/lmdb/lmdb-store.js';
import { createDatabaseService, type DatabaseService } from './database-service.js';

export interface DatabaseServerOptions {
  /** host:port; port 0 picks a free port (see `port`). */
  readonly listen: string;
  /** Directory of the LMDB store to open (and close on stop). Either this or `store`. */
  readonly dataDir?: string;
  /** A store to serve; the caller keeps ownership (it is not closed on stop) unless `ownsStore`. */
  readonly store?: EventStore;
  /** With `store`: close it on stop (and when the server fails to start). */
  readonly ownsStore?: boolean;
  /** TLS / mutual TLS / token (default: plaintext, no token). */
  readonly security?: GrpcSecurity;
  readonly logger: Logger;
  /** With dataDir: tag index entries per event (default DEFAULT_MAX_INDEXED_TAGS). */
  readonly maxIndexedTags?: number;
  /** With dataDir: LMDB query worker threads answering QueryFrames (default none: built in the event loop). */
  readonly queryWorkers?: number;
  /** LMDB: saves on a writer thread (ORLY_LMDB_WRITER_THREAD; default true). */
  readonly writerThread?: boolean;
  /** Seconds between NIP-40 purges; 0 or unset = no sweeper. */
  readonly expirationSweepSeconds?: number;
  /** Unflushed characters one SubscribeEvents stream may accumulate (default 8 MiB). */
  readonly maxSubscriberBufferedChars?: number;
  /** Verifier used by Import (default: a VerifierPool per import). */
  readonly importVerifier?: SignatureVerifier;
  /**
   * Verifier for unauthenticated callers' events (default: a VerifierPool of up to 2 workers,
   * started on first use). Unused when the server has a token or mutual TLS.
   */
  readonly verifier?: SignatureVerifier;
}

/**
 * orly-db methods refused to unauthenticated callers: removals, and PutState (the relay's
 * access-control lists and settings live in the state space). The token check covers every method.
 */
const ADMIN_METHODS = ['DeleteEvent', 'PurgeExpired', 'PutState'];

/** A VerifierPool started on the first verify. */
function lazyVerifierPool(): SignatureVerifier {
  let pool: VerifierPool | undefined;
  return {
    verify(id, pubkey, sig) {
      pool ??= new VerifierPool({ workers: Math.min(2, availableParallelism()) });
      return pool.verify(id, pubkey, sig);
    },
    async close() {
      await pool?.close();
    },
  };
}

export interface DatabaseServer {
  /** The bound port. */
  readonly port: number;
  /** "127.0.0.1:port"-style address clients can dial (host from `listen`). */
  readonly address: string;
  readonly store: EventStore;
  readonly service: DatabaseService;
  /** Graceful stop: ends streams, lets calls finish for up to `graceMs`, closes an owned store. */
  stop(graceMs?: number): Promise<void>;
}

export async function startDatabaseServer(options: DatabaseServerOptions): Promise<DatabaseServer> {
  const { logger } = options;
  if ((options.store === undefined) === (options.dataDir === undefined)) {
    throw new Error('startDatabaseServer: give exactly one of dataDir and store');
  }
  const ownsStore = options.store === undefined || options.ownsStore === true;
  const store =
    options.store ??
    LmdbEventStore.open(options.dataDir!, {
      maxIndexedTags: options.maxIndexedTags,
      queryWorkers: options.queryWorkers,
      writerThread: options.writerThread ?? true,
      logger,
    });
  const security = options.security ?? {};
  const ownVerifier =
    authenticatesCallers(security) || options.verifier !== undefined ? undefined : lazyVerifierPool();
  const verifier = authenticatesCallers(security) ? undefined : (options.verifier ?? ownVerifier);
  const service = createDatabaseService(store, {
    logger,
    maxSubscriberBufferedChars: options.maxSubscriberBufferedChars,
    importVerifier: options.importVerifier,
    verifier,
  });
  let stopping = false;
  const grpc = new GrpcServer({
    name: 'orly-db',
    listen: options.listen,
    security,
    services: [{ definition: DatabaseServiceDefinition, implementation: service.implementation }],
    logger,
    isServing: () => !stopping && store.isOpen(),
    adminMethods: ADMIN_METHODS,
  });
  let port: number;
  try {
    port = await grpc.start();
  } catch (error) {
    await ownVerifier?.close();
    if (ownsStore) await store.close();
    throw error;
  }
  const sweeper =
    options.expirationSweepSeconds !== undefined && options.expirationSweepSeconds > 0
      ? new ExpirationSweeper(store, options.expirationSweepSeconds, logger)
      : undefined;
  sweeper?.start();

  let stopped: Promise<void> | undefined;
  return {
    port,
    address: grpc.address,
    store,
    service,
    stop(graceMs = 5000): Promise<void> {
      stopped ??= (async () => {
        stopping = true;
        sweeper?.stop();
        service.close();
        await grpc.stop(graceMs);
        await ownVerifier?.close();
        await sweeper?.idle();
        if (ownsStore) await store.close();
        logger.info({ port }, 'orly-db stopped');
      })();
      return stopped;
    },
  };
}
