/**
 * Runs the relay in local mode: embedded LMDB store, in-process access control, signature
 * verification on worker threads. Installs SIGTERM/SIGINT handlers for a graceful stop.
 */
import { OpenAccessControl } from '../acl/access-control.js';
import type { RelayConfig } from '../config.js';
import { VerifierPool } from '../crypto/verifier-pool.js';
import { createLogger } from '../logger.js';
import { Relay } from '../relay/relay.js';
import { LmdbEventStore } from '../store/lmdb/lmdb-store.js';

export async function runRelay(config: RelayConfig): Promise<Relay> {
  const logger = createLogger(config.logLevel);
  const store = await LmdbEventStore.open(config.dataDir);
  const relay = new Relay({
    config,
    store,
    access: new OpenAccessControl(),
    verifier: new VerifierPool({
      workers: config.verifyWorkers,
      onWorkerExit: (err) => logger.error({ err: err.message }, 'signature worker died; respawning'),
    }),
    logger,
  });
  let signals = 0;
  const shutdown = (signal: string) => {
    if (++signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    logger.info({ signal }, 'shutting down');
    relay.stop().then(
      () => process.exit(0),
      (err: Error) => {
        logger.error({ err: err.message }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('unhandledRejection', (reason) =>
    logger.error({ reason: String(reason) }, 'unhandled rejection'),
  );
  await relay.start();
  return relay;
}
