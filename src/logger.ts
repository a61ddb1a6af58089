/** Structured JSON logs (pino) on stdout, one logger per process, children per component. */
import { type Logger, pino } from 'pino';
import type { LogLevel } from './config/env.js';

export type { Logger };

let stdoutGuarded = false;

/**
 * Logs go to process.stdout directly rather than to pino's sonic-boom destination: when the
 * reader of a pipe goes away (a supervisor killed with SIGKILL), sonic-boom's flush at exit
 * retries forever and the process never exits. Here write errors (EPIPE) are dropped instead.
 */
function stdoutDestination(): NodeJS.WriteStream {
  if (!stdoutGuarded) {
    stdoutGuarded = true;
    process.stdout.on('error', () => {});
  }
  return process.stdout;
}

export function createLogger(level: LogLevel, service = 'orly'): Logger {
  return pino(
    {
      level,
      base: { service, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    stdoutDestination(),
  );
}
