/**
 * A strfry relay as a benchmark peer (never part of `npm test`): the binary comes from
 * ORLY_BENCH_STRFRY (built by the operator next to this project, never committed). Each
 * instance gets its own database directory, a minimal config file written here, a free
 * loopback port, CPU and RSS from /proc, and a stop by SIGTERM to its PID.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import {
  type BenchRelay,
  directoryBytes,
  type ExitInfo,
  logErrorSummary,
  logFileLines,
  rssOfPids,
  samplePeak,
} from './bench-relay.js';
import { type CompletedRun, runToCompletion, trackChild, untrackChild } from './children.js';
import { LOG_DIR } from './paths.js';
import { cpuSeconds, type RssBreakdown, rssBytes } from './procfs.js';
import { freePort } from './relay-process.js';

export const STRFRY_BIN = process.env.ORLY_BENCH_STRFRY;

/** Settings every instance gets (command-line --set overrides of strfry's defaults). */
const SETTINGS = [
  'relay.bind=127.0.0.1',
  // strfry raises its file limit to 524,288 by default; machines with a lower hard limit abort.
  'relay.nofiles=0',
  'relay.negentropy.maxSyncEvents=10000000',
];

function configFile(dir: string): string {
  mkdirSync(join(dir, 'db'), { recursive: true });
  const file = join(dir, 'strfry.conf');
  writeFileSync(file, `db = "${join(dir, 'db')}/"\n`);
  return file;
}

function strfryArgs(dir: string, command: string[]): string[] {
  const args = [`--config=${configFile(dir)}`];
  for (const s of SETTINGS) args.push(`--set=${s}`);
  return [...args, ...command];
}

/** Runs a strfry command to completion (import, sync, export ...), stdin from a file if given. */
export function runStrfry(
  dir: string,
  command: string[],
  options: { stdinFile?: string; timeoutMs?: number } = {},
): Promise<CompletedRun> {
  if (!STRFRY_BIN) throw new Error('ORLY_BENCH_STRFRY is not set');
  return runToCompletion(STRFRY_BIN, strfryArgs(dir, command), {
    label: `strfry ${command[0]}`,
    timeoutMs: options.timeoutMs ?? 600_000,
    keepChars: 20_000,
    ...(options.stdinFile ? { stdinFile: options.stdinFile } : {}),
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export class StrfryRelay implements BenchRelay {
  private exited = false;
  private exitInfo: ExitInfo | undefined;
  private readonly done: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly pid: number,
    readonly port: number,
    readonly dir: string,
    private readonly logFile: string,
  ) {
    this.done = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exited = true;
        this.exitInfo = { code, signal, forced: false };
        untrackChild(pid);
        resolve();
      }),
    );
  }

  get running(): boolean {
    return !this.exited;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/`;
  }

  /** Starts `strfry relay` over the database in `dir` and waits for its port. */
  static async start(dir: string, label: string): Promise<StrfryRelay> {
    if (!STRFRY_BIN) throw new Error('ORLY_BENCH_STRFRY is not set');
    const port = await freePort();
    mkdirSync(LOG_DIR, { recursive: true });
    const logFile = join(LOG_DIR, `${label}.log`);
    const log = openSync(logFile, 'w');
    const child = spawn(STRFRY_BIN, strfryArgs(dir, [`--set=relay.port=${port}`, 'relay']), {
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    if (child.pid === undefined) throw new Error('strfry did not start');
    trackChild(child.pid, 'strfry relay');
    const relay = new StrfryRelay(child, child.pid, port, dir, logFile);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && !relay.exited) {
      if (await portOpen(port)) return relay;
      await new Promise((r) => setTimeout(r, 100));
    }
    await relay.stop();
    throw new Error(`strfry relay did not open port ${port} (log: bench-results/logs/${label}.log)`);
  }

  cpu(): number {
    return cpuSeconds(this.pid);
  }

  rss(): number {
    return rssBytes(this.pid);
  }

  rssBreakdown(): RssBreakdown {
    return rssOfPids([this.pid]);
  }

  samplePeakRss(intervalMs = 250): () => RssBreakdown {
    return samplePeak(
      () => this.rssBreakdown(),
      () => this.running,
      intervalMs,
    );
  }

  dataDirBytes(): number {
    return directoryBytes(join(this.dir, 'db'));
  }

  errorSummary(): string {
    return logErrorSummary(this.logFile);
  }

  /** strfry logs every connection at INFO: only its warnings and errors count here. */
  logLines(max = 20): { count: number; sample: string[] } {
    const all = logFileLines(this.logFile, 100_000).sample.filter((l) => /\b(WARN|ERR|FATAL)\b/.test(l));
    return { count: all.length, sample: all.slice(0, max) };
  }

  async stop(): Promise<ExitInfo> {
    if (this.exited) return this.exitInfo ?? { code: null, signal: null, forced: false };
    this.child.kill('SIGTERM');
    let forced = false;
    const timer = setTimeout(() => {
      forced = true;
      this.child.kill('SIGKILL');
    }, 10_000);
    await this.done;
    clearTimeout(timer);
    return { ...(this.exitInfo ?? { code: null, signal: null }), forced };
  }

  /** stop(), then the data directory removed. */
  async shutdown(): Promise<ExitInfo> {
    try {
      return await this.stop();
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

/**
 * `strfry router` over the database in `dir` (the relay B serving it runs beside it, as strfry
 * deployments do): one stream `dir = "down"` from `upstream`, live only (strfry's router asks
 * with `limit: 0` and does not fill gaps; `strfry sync` does that).
 */
export class StrfryRouter {
  private exited = false;
  private readonly done: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly pid: number,
  ) {
    this.done = new Promise((resolve) =>
      child.once('exit', () => {
        this.exited = true;
        untrackChild(pid);
        resolve();
      }),
    );
  }

  static start(dir: string, upstream: string, label: string): StrfryRouter {
    if (!STRFRY_BIN) throw new Error('ORLY_BENCH_STRFRY is not set');
    const routerConfig = join(dir, 'router.conf');
    writeFileSync(
      routerConfig,
      `connectionTimeout = 20\nstreams {\n  replica {\n    dir = "down"\n    urls = [ "${upstream}" ]\n  }\n}\n`,
    );
    mkdirSync(LOG_DIR, { recursive: true });
    const log = openSync(join(LOG_DIR, `${label}.log`), 'w');
    const child = spawn(STRFRY_BIN, strfryArgs(dir, ['router', routerConfig]), {
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    if (child.pid === undefined) throw new Error('strfry router did not start');
    trackChild(child.pid, 'strfry router');
    return new StrfryRouter(child, child.pid);
  }

  cpu(): number {
    return cpuSeconds(this.pid);
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.done;
    clearTimeout(timer);
  }
}
