#!/usr/bin/env node
import { type CommandLine, parseCommandLine } from '../config/args.js';
/**
 * `orly-launcher`: runs ORLY in split mode as a supervised set of processes — orly-db, then
 * orly-acl (ORLY_LAUNCHER_ACL_ENABLED=true), then any enabled sync services, then the relay —
 * each started only after the previous stage is ready, restarted with backoff when it dies,
 * and stopped in reverse order on SIGTERM / SIGINT / SIGHUP (exit 0).
 *
 * Exit codes: 0 after a requested stop; 1 when the launch fails (a service not ready in time,
 * or exiting before it is ready) or a service keeps crashing; 2 for invalid configuration
 * (the message names the variable) and for usage errors (an unknown option or argument; -h /
 * --help prints the usage and exits 0). Variables: src/launcher/config.ts and plan.ts.
 *
 * Orphans: every exit path of this process stops or kills the children — signals (ordered
 * stop), a second signal (immediate SIGKILL), uncaught errors and process exit (synchronous
 * SIGKILL). Only SIGKILL of the launcher itself cannot be intercepted; run it under a
 * supervisor that kills the whole cgroup (systemd's default KillMode=control-group).
 */
import { ConfigError } from '../config/env.js';
import { UsageError } from '../errors.js';
import { loadGrpcSecurity } from '../grpc/security.js';
import { loadLauncherConfig } from '../launcher/config.js';
import { LaunchAborted, Launcher } from '../launcher/launcher.js';
import { buildLaunchPlan, childBaseEnv } from '../launcher/plan.js';
import { createLogger } from '../logger.js';
import { VERSION } from '../version.js';

const USAGE = `orly-launcher ${VERSION} — runs orly-db, orly-acl (optional) and the relay as supervised processes

Usage:
  orly-launcher            start everything (configured by ORLY_LAUNCHER_* and ORLY_* variables)
  orly-launcher --help | --version
`;

const OPTIONS = { version: { type: 'boolean' } } as const;

async function main(argv: string[]): Promise<number> {
  let line: CommandLine<typeof OPTIONS>;
  try {
    line = parseCommandLine(argv, OPTIONS);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`orly-launcher: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (line.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (line.values.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }

  const config = loadLauncherConfig(process.env);
  const { env, tokenGenerated } = childBaseEnv(config, process.env);
  const security = loadGrpcSecurity(env);
  const plan = buildLaunchPlan(config, env, security);
  // Registered before the logger exists: pino flushes in its own 'exit' listener, which can
  // block on a broken stdout; children must be killed before that.
  let launcher: Launcher | undefined;
  process.on('exit', () => launcher?.killAll());
  const logger = createLogger(config.logLevel, 'orly-launcher');
  if (tokenGenerated) {
    logger.info('ORLY_GRPC_TOKEN not set: generated a random token for this launch (given to every child)');
  }
  logger.info(
    {
      services: plan.stages.flat().map((s) => ({ name: s.name, command: s.command, args: s.args })),
      restart: config.restart,
      stopTimeoutMs: config.stopTimeoutMs,
    },
    'launch plan',
  );

  const supervisor = new Launcher(plan, { logger });
  launcher = supervisor;

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      supervisor.killAll();
      logger.warn({ signal }, 'second signal: every service killed');
      process.exit(1);
    }
    logger.info({ signal }, 'signal received');
    void supervisor.shutdown(0, `${signal} received`);
  };
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, onSignal);
  // Last-resort paths: never leave children behind.
  // Kill first, then log: logging itself may be what fails (a broken stdout).
  process.on('uncaughtException', (err) => {
    supervisor.killAll();
    process.stderr.write(`orly-launcher: crashed, every service killed: ${err.stack ?? err.message}\n`);
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    supervisor.killAll();
    process.stderr.write(
      `orly-launcher: crashed (unhandled rejection), every service killed: ${String(reason)}\n`,
    );
    process.exit(1);
  });
  // A closed stdout/stderr (e.g. piped into a pager that quit) must not crash the launcher.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);

  try {
    await supervisor.start();
  } catch (err) {
    if (!(err instanceof LaunchAborted)) {
      process.stderr.write(`orly-launcher: ${(err as Error).message}\n`);
    }
  }
  const outcome = await supervisor.finished;
  logger.info({ code: outcome.code, reason: outcome.reason }, 'launcher exiting');
  return outcome.code;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Logs are flushed on exit; nothing else should keep the loop alive, but be sure.
    setTimeout(() => process.exit(code), 1000).unref();
  },
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`orly-launcher: invalid configuration: ${err.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(
        `orly-launcher: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exitCode = 1;
    }
  },
);
