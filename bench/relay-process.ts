/**
 * The relay under test as a child process: a free loopback port, a fresh temporary data
 * directory, `/health` polling until it is up, RSS and CPU read from /proc/<pid>, a stop by
 * SIGTERM to its PID (SIGKILL after a grace period), and removal of the data directory.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODE_ARGS_DEFAULT, nodeOptionsDefault } from '../src/launcher/plan.js';
import { ADDRESS_LIMITS_OFF } from '../src/relay/edge-config.js';
import {
  type BenchRelay,
  directoryBytes,
  logErrorSummary,
  logFileLines,
  rssOfPids,
  samplePeak,
} from './bench-relay.js';
import { runToCompletion, trackChild, untrackChild } from './children.js';
import { DB_CLI, LOG_DIR, RELAY_CLI } from './paths.js';
import { cpuSeconds, type RssBreakdown, rssBytes } from './procfs.js';

/** A port that was free a moment ago (bind port 0 on loopback, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Node options of the relay and orly-db children: what orly-launcher gives its children
 * (nodeOptionsDefault, NODE_ARGS_DEFAULT), or ORLY_BENCH_RELAY_NODE_ARGS (e.g. "--v8-pool-size=1 --cpu-prof
 * --cpu-prof-dir=/tmp/profiles": profiles of the relay, not of the load generators).
 */
function relayNodeArgs(): string[] {
  return (
    splitArgs(process.env.ORLY_BENCH_RELAY_NODE_ARGS) ?? [
      ...nodeOptionsDefault().split(' '),
      ...NODE_ARGS_DEFAULT,
    ]
  );
}

/** Node options of orly-db: ORLY_BENCH_DB_NODE_ARGS where set, else the relay's (relayNodeArgs). */
function dbNodeArgs(): string[] {
  return splitArgs(process.env.ORLY_BENCH_DB_NODE_ARGS) ?? relayNodeArgs();
}

function splitArgs(value: string | undefined): string[] | undefined {
  return value?.split(' ').filter((a) => a !== '');
}

export function makeDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'orly-bench-'));
}

function httpStatus(url: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const req = get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.setTimeout(timeoutMs, () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface RelayStartOptions {
  /** Label for the log file name (bench-results/logs/<label>.log). */
  label: string;
  /** Extra ORLY_* variables. */
  env?: Record<string, string>;
  /** Use this data directory (e.g. one filled by `orly import`); a fresh temp dir otherwise. */
  dataDir?: string;
  startTimeoutMs?: number;
  /** Split mode: an orly-db child owns the data directory and the relay talks to it over gRPC. */
  split?: boolean;
  /** Listen on this port (chosen beforehand, e.g. so that peers can name each other); a free one otherwise. */
  port?: number;
  /** CPU seconds of a server the relay depends on (its PostgreSQL), counted with the relay's. */
  companionCpu?: () => number;
}

/** Waits until something accepts TCP connections on 127.0.0.1:port. */
async function waitForPort(port: number, deadline: number, alive: () => boolean): Promise<boolean> {
  const { connect } = await import('node:net');
  while (Date.now() < deadline && alive()) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return true;
    await delay(100);
  }
  return false;
}

/** The orly-db companion of a split-mode relay. */
class DbProcess {
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exited: Promise<void>;

  private constructor(
    child: ChildProcess,
    readonly pid: number,
    readonly address: string,
  ) {
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        untrackChild(pid);
        resolve();
      }),
    );
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  static async start(label: string, dataDir: string, timeoutMs: number, token: string): Promise<DbProcess> {
    const port = await freePort();
    const logFd = openSync(join(LOG_DIR, `${label}-db.log`), 'w');
    const child = spawn(process.execPath, [...dbNodeArgs(), DB_CLI], {
      env: {
        ...process.env,
        ORLY_DB_LISTEN: `127.0.0.1:${port}`,
        ORLY_DATA_DIR: dataDir,
        // State writes (the relay's identity, replication progress) need an authenticated caller.
        ORLY_GRPC_TOKEN: token,
        ORLY_LOG_LEVEL: process.env.ORLY_BENCH_LOG_LEVEL || 'warn',
      },
      stdio: ['ignore', logFd, logFd],
    });
    closeSync(logFd);
    if (child.pid === undefined) throw new Error('orly-db did not start (no pid)');
    trackChild(child.pid, 'orly-db');
    const db = new DbProcess(child, child.pid, `127.0.0.1:${port}`);
    if (!(await waitForPort(port, Date.now() + timeoutMs, () => db.running))) {
      await db.stop();
      throw new Error('orly-db did not start listening');
    }
    return db;
  }

  async stop(graceMs = 15_000): Promise<void> {
    if (!this.running) return;
    try {
      process.kill(this.pid, 'SIGTERM');
    } catch {
      return;
    }
    const timer = delay(graceMs).then(() => 'timeout' as const);
    if ((await Promise.race([this.exited, timer])) === 'timeout') {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        // gone
      }
      await this.exited;
    }
  }
}

export class RelayProcess implements BenchRelay {
  private exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  private constructor(
    child: ChildProcess,
    readonly pid: number,
    readonly port: number,
    readonly dataDir: string,
    readonly logFile: string,
    private readonly db?: DbProcess,
    private readonly companionCpu?: () => number,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        untrackChild(pid);
        resolve({ code, signal });
      });
    });
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/`;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  static async start(options: RelayStartOptions): Promise<RelayProcess> {
    const port = options.port ?? (await freePort());
    const dataDir = options.dataDir ?? makeDataDir();
    mkdirSync(LOG_DIR, { recursive: true });
    const logFile = join(LOG_DIR, `${options.label}.log`);
    const token = randomBytes(24).toString('hex');
    const db = options.split
      ? await DbProcess.start(options.label, dataDir, options.startTimeoutMs ?? 30_000, token)
      : undefined;
    const splitEnv: Record<string, string> = db
      ? { ORLY_DB_TYPE: 'grpc', ORLY_GRPC_SERVER: db.address, ORLY_GRPC_TOKEN: token }
      : {};
    const logFd = openSync(logFile, 'w');
    const child = spawn(process.execPath, [...relayNodeArgs(), RELAY_CLI], {
      env: {
        ...process.env,
        ORLY_LISTEN: '127.0.0.1',
        ORLY_PORT: String(port),
        ORLY_DATA_DIR: dataDir,
        // ORLY_BENCH_LOG_LEVEL=info shows the relay's start/stop lines in bench-results/logs.
        ORLY_LOG_LEVEL: process.env.ORLY_BENCH_LOG_LEVEL || 'warn',
        // Every load generator connects from 127.0.0.1: the per-address limits would measure themselves.
        ORLY_MAX_CONNECTIONS: '0',
        ...ADDRESS_LIMITS_OFF,
        ...options.env,
        ...splitEnv,
      },
      stdio: ['ignore', logFd, logFd],
    });
    closeSync(logFd);
    if (child.pid === undefined) {
      await db?.stop();
      throw new Error('relay did not start (no pid)');
    }
    trackChild(child.pid, 'relay');
    const relay = new RelayProcess(child, child.pid, port, dataDir, logFile, db, options.companionCpu);
    const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
    while (Date.now() < deadline) {
      if (!relay.running) {
        relay.removeDataDir();
        throw new Error(
          `relay exited during start-up (exit ${relay.exitInfo?.code ?? relay.exitInfo?.signal}): ${relay.errorSummary()}`,
        );
      }
      if ((await httpStatus(`http://127.0.0.1:${port}/health`, 1000)) === 200) return relay;
      await delay(100);
    }
    const why = relay.errorSummary();
    await relay.shutdown();
    throw new Error(`relay not healthy within ${options.startTimeoutMs ?? 30_000} ms: ${why}`);
  }

  /** The relay's processes: the relay, and in split mode its orly-db. */
  private pids(): number[] {
    return this.db?.running ? [this.pid, this.db.pid] : [this.pid];
  }

  rss(): number {
    return this.pids().reduce((sum, pid) => sum + rssBytes(pid), 0);
  }

  /** CPU seconds of the relay (plus orly-db in split mode, plus its PostgreSQL server). */
  cpu(): number {
    return this.pids().reduce((sum, pid) => sum + cpuSeconds(pid), this.companionCpu?.() ?? 0);
  }

  serverCpu(): number {
    return this.companionCpu?.() ?? 0;
  }

  rssBreakdown(): RssBreakdown {
    return rssOfPids(this.pids());
  }

  /**
   * Samples RSS every `intervalMs` until the returned function is called; it returns the
   * peaks (each component's own peak).
   */
  samplePeakRss(intervalMs = 250): () => RssBreakdown {
    return samplePeak(
      () => this.rssBreakdown(),
      () => this.running,
      intervalMs,
    );
  }

  /** The first error-looking line of the relay's output (else its last line), for messages. */
  errorSummary(): string {
    return logErrorSummary(this.logFile);
  }

  /** The last `lines` lines of the relay's output. */
  logTail(lines: number): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** Lines of the relay's output (warn level and above, as configured), at most `max`. */
  logLines(max = 20): { count: number; sample: string[] } {
    return logFileLines(this.logFile, max);
  }

  /** SIGTERM by PID, wait up to `graceMs`, then SIGKILL. Resolves with how it exited. */
  async stop(
    graceMs = 15_000,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null; forced: boolean }> {
    try {
      return await this.stopRelay(graceMs);
    } finally {
      await this.db?.stop(graceMs);
    }
  }

  private async stopRelay(
    graceMs: number,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null; forced: boolean }> {
    if (!this.running) return { ...this.exitInfo!, forced: false };
    try {
      process.kill(this.pid, 'SIGTERM');
    } catch {
      // already gone; its 'exit' event is on its way
    }
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
    const outcome = await Promise.race([this.exited, timer]);
    if (outcome !== 'timeout') return { ...outcome, forced: false };
    try {
      process.kill(this.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
    return { ...(await this.exited), forced: true };
  }

  /** Bytes the data directory occupies on disk (allocated blocks, so sparse files count as written). */
  dataDirBytes(): number {
    return directoryBytes(this.dataDir);
  }

  removeDataDir(): void {
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** stop() then removeDataDir(). */
  async shutdown(): Promise<{ code: number | null; signal: NodeJS.Signals | null; forced: boolean }> {
    try {
      return await this.stop();
    } finally {
      this.removeDataDir();
    }
  }
}

/**
 * Fills a data directory with `orly import --no-verify` fed the JSONL file on stdin.
 * Resolves with the importer's exit code, duration and output tail.
 */
export async function importDataset(
  dataDir: string | undefined,
  jsonlFile: string,
  timeoutMs = 300_000,
  env?: Record<string, string>,
): Promise<{ code: number | null; seconds: number; output: string }> {
  const where = dataDir === undefined ? [] : ['--data-dir', dataDir];
  return runToCompletion(process.execPath, [RELAY_CLI, 'import', '--no-verify', ...where], {
    label: 'import',
    env: { ...process.env, ORLY_LOG_LEVEL: 'warn', ...env },
    stdinFile: jsonlFile,
    timeoutMs,
    keepChars: 4000,
  });
}
