/**
 * One graceful-stop policy for every long-running command (orly, orly-db, orly-acl): on
 * SIGTERM or SIGINT run `stop` and exit 0 (1 if it fails); a second signal exits at once.
 * Unhandled promise rejections are logged, never fatal.
 */
import type { Logger } from '../logger.js';

export function stopOnSignal(logger: Logger, stop: () => Promise<void>): void {
  let signals = 0;
  const shutdown = (signal: string): void => {
    if (++signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    logger.info({ signal }, 'shutting down');
    stop().then(
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
}
