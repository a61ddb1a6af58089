/**
 * Every child process the orchestrator starts (relays, importers, load generators) is
 * registered here by PID, so that an error, Ctrl-C or an early exit still stops each one.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

const live = new Map<number, string>();
let installed = false;

export function trackChild(pid: number | undefined, label: string): void {
  if (pid !== undefined) live.set(pid, label);
}

export function untrackChild(pid: number | undefined): void {
  if (pid !== undefined) live.delete(pid);
}

/** Sends `signal` to each tracked child by its PID. */
export function killTrackedChildren(signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const pid of live.keys()) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
  live.clear();
}

/** Kills the tracked children when the orchestrator exits or is interrupted. */
export function installChildCleanup(): void {
  if (installed) return;
  installed = true;
  process.on('exit', () => killTrackedChildren());
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping ${live.size} child process(es)\n`);
      killTrackedChildren();
      process.exit(130);
    });
  }
}

export interface CompletedRun {
  code: number | null;
  /** The tail of stdout + stderr (of stderr only with `stdoutIgnored`), trimmed. */
  output: string;
  seconds: number;
}

/**
 * Runs a command to completion as a tracked child: stdin from a file (or nothing), the tail of
 * its output kept, SIGKILL after `timeoutMs`.
 */
export function runToCompletion(
  command: string,
  args: readonly string[],
  options: {
    label: string;
    env?: NodeJS.ProcessEnv;
    stdinFile?: string;
    timeoutMs?: number;
    /** Keep only stderr (for commands whose stdout is large and not wanted). */
    stdoutIgnored?: boolean;
    keepChars?: number;
  },
): Promise<CompletedRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const input = options.stdinFile ? openSync(options.stdinFile, 'r') : 'ignore';
    const child = spawn(command, [...args], {
      env: options.env ?? process.env,
      stdio: [input, options.stdoutIgnored ? 'ignore' : 'pipe', 'pipe'],
    });
    if (typeof input === 'number') closeSync(input);
    trackChild(child.pid, options.label);
    const keepChars = options.keepChars ?? 8000;
    let output = '';
    const keep = (d: Buffer): void => {
      output = (output + d.toString()).slice(-keepChars);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      untrackChild(child.pid);
      reject(err);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      untrackChild(child.pid);
      resolve({ code, output: output.trim(), seconds: (performance.now() - started) / 1000 });
    });
  });
}
