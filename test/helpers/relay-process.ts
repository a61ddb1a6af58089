/**
 * Runs the real `orly` CLI as a child process with the Node arguments operators' relays get
 * (NODE_ARGS_DEFAULT) (ORLY_PORT=0), learns its port from the
 * "relay listening" log line, and stops it by PID.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { NODE_ARGS_DEFAULT } from '../../src/launcher/plan.js';
import { NO_ADDRESS_LIMITS, TEST_TRANSPORT_ENV } from './relay-harness.js';

export const ORLY_CLI = fileURLToPath(new URL('../../src/cli/orly.js', import.meta.url));

export interface RelayProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly url: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Sends a signal and waits for exit; returns the exit code (null when killed by signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function spawnRelay(env: Record<string, string>, timeoutMs = 15_000): Promise<RelayProcess> {
  const child = spawn(process.execPath, [...NODE_ARGS_DEFAULT, ORLY_CLI], {
    env: {
      ...process.env,
      ORLY_LISTEN: '127.0.0.1',
      ORLY_PORT: '0',
      ORLY_LOG_LEVEL: 'info',
      ...NO_ADDRESS_LIMITS,
      ...TEST_TRANSPORT_ENV,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`relay did not start in time:\n${out}`)), timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"port":(\d+)[^\n]*"msg":"relay listening"|"msg":"relay listening"[^\n]*"port":(\d+)/.exec(
        out,
      );
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1] ?? m[2]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`relay exited with ${code} before listening:\n${out}`));
    });
  });
  return {
    child,
    port,
    url: `ws://127.0.0.1:${port}`,
    output: () => out,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = once(child, 'exit');
      process.kill(child.pid!, signal);
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
}
