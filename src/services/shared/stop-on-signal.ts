/**
 * One graceful-stop policy for every long-running command (orly, orly-db, orly-acl,
 * orly-sync-negentropy): on SIGTERM or SIGINT run `stop` and exit 0 (1 if it fails); a second
 * signal exits at once. Unhandled promise rejections are logged, never fatal.
 *
 * Started by orly-launcher (ORLY_LAUNCHER_PID set): once a second the process checks that its
 * parent is still that launcher; when the launcher died without stopping it (SIGKILL, the OOM
 * killer), the same graceful stop runs, so no orphan keeps the ports and the data directory
 * from the next launch.
 */
import type { Logger } from '../../logger.js';

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
  watchLauncher(logger, shutdown);
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('unhandledRejection', (reason) =>
    logger.error({ reason: String(reason) }, 'unhandled rejection'),
  );
}

const LAUNCHER_CHECK_MS = 1000;

function watchLauncher(logger: Logger, shutdown: (reason: string) => void): void {
  const text = process.env.ORLY_LAUNCHER_PID;
  const launcherPid = text === undefined ? Number.NaN : Number(text);
  if (!Number.isSafeInteger(launcherPid) || launcherPid <= 0) return;
  const timer = setInterval(() => {
    if (process.ppid === launcherPid) return;
    clearInterval(timer);
    logger.warn({ launcherPid, ppid: process.ppid }, 'orly-launcher is gone: stopping');
    shutdown('launcher gone');
  }, LAUNCHER_CHECK_MS);
  timer.unref();
}
