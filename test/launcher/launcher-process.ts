/**
 * The real `orly-launcher` as a child process for tests: started with the given environment,
 * its output captured (stdout + stderr, JSON lines), ready once it logs "all services ready".
 * Every service pid it reports is remembered, so `cleanup()` can kill whatever is left even
 * when a test fails half-way. For the end-to-end files: a data directory and a launcher cleaned
 * up after the file (launcherForFile), and the check of a clean stop (assertCleanStop).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isAlive, waitFor } from './fake-service.js';

const LAUNCHER = fileURLToPath(new URL('../../src/cli/orly-launcher.js', import.meta.url));

export interface StartedService {
  readonly child: string;
  readonly pid: number;
}

export class LauncherProcess {
  private out = '';
  private readonly exited: Promise<unknown[]>;
  private readonly seenPids = new Set<number>();

  private constructor(readonly child: ChildProcess) {
    const keep = (d: Buffer): void => {
      this.out += d.toString();
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.exited = once(child, 'exit');
  }

  /** Starts the launcher and waits until every service is ready (asserts it got there). */
  static async start(env: Record<string, string>, readyTimeoutMs = 60_000): Promise<LauncherProcess> {
    const child = spawn(process.execPath, [LAUNCHER], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const launcher = new LauncherProcess(child);
    await waitFor(
      () => launcher.out.includes('"msg":"all services ready"') || child.exitCode !== null,
      readyTimeoutMs,
      'all services ready',
    );
    assert.ok(
      launcher.out.includes('"msg":"all services ready"'),
      `launcher failed:\n${launcher.out.slice(-4000)}`,
    );
    return launcher;
  }

  /** Everything the launcher printed so far. */
  get output(): string {
    return this.out;
  }

  /** Every "service started" line so far, in order (restarts included). */
  started(): StartedService[] {
    const services: StartedService[] = [];
    for (const line of this.out.split('\n')) {
      if (!line.includes('"msg":"service started"')) continue;
      const entry = JSON.parse(line) as StartedService;
      this.seenPids.add(entry.pid);
      services.push({ child: entry.child, pid: entry.pid });
    }
    return services;
  }

  /** The pids the named service was started with so far. */
  pidsOf(name: string): number[] {
    return this.started()
      .filter((s) => s.child === name)
      .map((s) => s.pid);
  }

  /** SIGTERM, and the exit code (SIGKILL after 20 s). */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
      await this.exited;
      clearTimeout(timer);
    }
    return this.child.exitCode;
  }

  /** For after(): stops the launcher if it still runs, then kills any service left behind. */
  async cleanup(): Promise<void> {
    this.started();
    await this.stop();
    for (const pid of this.seenPids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
}

/**
 * A data directory for the file's launcher (ORLY_DATA_DIR) and `start`, which runs the launcher
 * in it; after the file's tests the launcher is cleaned up and the directory removed.
 */
export function launcherForFile(dirPrefix: string): {
  readonly dataDir: string;
  start(env: Record<string, string>): Promise<LauncherProcess>;
} {
  const dataDir = mkdtempSync(join(tmpdir(), dirPrefix));
  let launcher: LauncherProcess | undefined;
  after(async () => {
    await launcher?.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return {
    dataDir,
    async start(env) {
      launcher = await LauncherProcess.start({ ORLY_DATA_DIR: dataDir, ...env });
      return launcher;
    },
  };
}

/** Each service the launcher started so far, by name: its (last) pid. */
export function startedPids(launcher: LauncherProcess): Record<string, number> {
  return Object.fromEntries(launcher.started().map((e) => [e.child, e.pid]));
}

/**
 * SIGTERM: the launcher exits 0, none of `pids` is alive, and the services stopped in `order`
 * (the reverse of their start: the relay first, orly-db last).
 */
export async function assertCleanStop(
  launcher: LauncherProcess,
  pids: Record<string, number>,
  order: readonly string[],
): Promise<void> {
  const code = await launcher.stop();
  const out = launcher.output;
  assert.equal(code, 0, `launcher exit code; output tail:\n${out.slice(-3000)}`);
  for (const [name, pid] of Object.entries(pids))
    assert.equal(isAlive(pid), false, `${name} (${pid}) is gone`);
  const stopped = out
    .split('\n')
    .filter((l) => l.includes('"msg":"service stopped"'))
    .map((l) => (JSON.parse(l) as { child: string }).child);
  assert.deepEqual(stopped, order);
}
