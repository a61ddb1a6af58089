/**
 * Test harness for split mode: an in-process orly-db server on 127.0.0.1 port 0 over a fresh
 * LMDB store in a temp directory, and the real `orly-db` CLI as a child process (port read from
 * its "grpc listening" log line, stopped by PID). TRUSTED (a token) makes its callers
 * authenticated, as under the launcher: without it orly-db verifies signatures and refuses
 * DeleteEvent / PurgeExpired.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InterceptingCall, type Interceptor } from '@grpc/grpc-js';
import type { GrpcSecurity } from '../../src/grpc/security.js';
import { NODE_ARGS_DEFAULT } from '../../src/launcher/plan.js';
import { createLogger } from '../../src/logger.js';
import { type DatabaseServer, startDatabaseServer } from '../../src/services/db/server.js';

export const ORLY_DB_CLI = fileURLToPath(new URL('../../src/cli/orly-db.js', import.meta.url));

export const silentLogger = createLogger('silent', 'orly-db-test');

export const TEST_TOKEN = 'orly-db-test-token-0123456789abcdef';
/** Server and client security with a token: callers are authenticated. */
export const TRUSTED: GrpcSecurity = { token: TEST_TOKEN };

/** A grpc-js client interceptor sending TEST_TOKEN, for raw generated clients. */
export const sendTestToken: Interceptor = (options, next) =>
  new InterceptingCall(next(options), {
    start(metadata, listener, start) {
      metadata.set('authorization', `Bearer ${TEST_TOKEN}`);
      start(metadata, listener);
    },
  });

export function tempDir(prefix = 'orly-db-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface InProcessDb {
  readonly server: DatabaseServer;
  readonly address: string;
  readonly dir: string;
  /** Stops the server, closes its store and removes the directory. */
  stop(): Promise<void>;
}

export async function startInProcessDb(
  options: {
    security?: GrpcSecurity;
    dir?: string;
    listen?: string;
    maxSubscriberBufferedChars?: number;
    /** LMDB query worker threads answering QueryFrames (default none). */
    queryWorkers?: number;
  } = {},
): Promise<InProcessDb> {
  const dir = options.dir ?? tempDir();
  const server = await startDatabaseServer({
    listen: options.listen ?? '127.0.0.1:0',
    dataDir: dir,
    security: options.security,
    logger: silentLogger,
    maxSubscriberBufferedChars: options.maxSubscriberBufferedChars,
    queryWorkers: options.queryWorkers,
  });
  return {
    server,
    address: server.address,
    dir,
    async stop() {
      await server.stop(1000);
      if (options.dir === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface DbProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly address: string;
  output(): string;
  /** Sends a signal by PID and waits for exit; the exit code (null when killed by the signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function spawnOrlyDb(env: Record<string, string>, timeoutMs = 15_000): Promise<DbProcess> {
  const child = spawn(process.execPath, [...NODE_ARGS_DEFAULT, ORLY_DB_CLI], {
    env: { ...process.env, ORLY_DB_LISTEN: '127.0.0.1:0', ORLY_DB_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`orly-db did not start in time:\n${out}`)), timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.includes('"msg":"grpc listening"'));
      const m = line === undefined ? null : /"port":(\d+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`orly-db exited with ${code} before listening:\n${out}`));
    });
  });
  return {
    child,
    port,
    address: `127.0.0.1:${port}`,
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

/** Polls `check` until it returns true (or throws after `timeoutMs`). */
export { waitFor as eventually } from '../helpers/wait.js';
