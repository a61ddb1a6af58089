/**
 * Runs the relay with the capabilities its configuration names (local by default) and
 * installs SIGTERM/SIGINT handlers for a graceful stop.
 */
import type { RelayConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { createRelay } from '../relay/create-relay.js';
import type { Relay } from '../relay/relay.js';

export async function runRelay(config: RelayConfig): Promise<Relay> {
  const logger = createLogger(config.logLevel);
  const relay = await createRelay(config, logger);
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
