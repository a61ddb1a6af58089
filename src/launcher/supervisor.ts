/**
 * Supervision of one child process: spawn, output forwarding, restart with exponential
 * backoff, crash-loop detection, and stop (SIGTERM, then SIGKILL after a timeout).
 *
 * - Children run in their own process group (`detached`), so a terminal's Ctrl-C reaches only
 *   the launcher, which then stops them in order; signals go to the whole group (a wrapper
 *   script's own children included).
 * - Restarts happen only once `supervise()` was called (the launcher calls it when the service
 *   became ready; an exit before that fails the launch instead). An unexpected exit (any exit
 *   not requested by stop(), code 0 included) is restarted after
 *   min(maxBackoff, initialBackoff * 2^(n-1)), n = restarts within the window; more than
 *   `maxRestarts` restarts within `windowMs` gives up (`onGiveUp`), and the launcher stops
 *   everything.
 * - `killNow()` is synchronous (SIGKILL to the group) for the launcher's last-resort exit paths.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Logger } from '../logger.js';
import type { RestartPolicy } from './config.js';
import { forwardLines, type LineSink } from './output.js';

export interface ProcessSpec {
  /** Service name used in logs, e.g. "orly-db". */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Spawn failure (ENOENT, EACCES, ...). */
  readonly error?: Error;
}

export function describeExit(exit: ExitInfo): string {
  if (exit.error) return `could not be started: ${exit.error.message}`;
  if (exit.signal) return `was killed by ${exit.signal}`;
  return `exited with code ${exit.code}`;
}

export interface SupervisorDeps {
  readonly logger: Logger;
  readonly sink: LineSink;
  readonly policy: RestartPolicy;
  /** Called once when the restart budget is exhausted. */
  readonly onGiveUp: (reason: string) => void;
}

type State = 'idle' | 'running' | 'backoff' | 'stopping' | 'stopped' | 'failed';

export class SupervisedProcess {
  private child: ChildProcess | undefined;
  private state: State = 'idle';
  private supervising = false;
  private restartTimes: number[] = [];
  private backoffTimer: NodeJS.Timeout | undefined;
  private exitWaiters: Array<(exit: ExitInfo) => void> = [];
  private totalRestarts = 0;
  private lastExit: ExitInfo | undefined;

  constructor(
    readonly spec: ProcessSpec,
    private readonly deps: SupervisorDeps,
  ) {}

  get name(): string {
    return this.spec.name;
  }

  /** PID of the running incarnation, if any. */
  get pid(): number | undefined {
    return this.child && this.child.exitCode === null && this.child.signalCode === null
      ? this.child.pid
      : undefined;
  }

  get restarts(): number {
    return this.totalRestarts;
  }

  get status(): State {
    return this.state;
  }

  /** Starts the first incarnation. */
  start(): void {
    if (this.state !== 'idle') throw new Error(`${this.name} already started`);
    this.spawnOnce();
  }

  /** From now on, unexpected exits are restarted (including one that just happened). */
  supervise(): void {
    this.supervising = true;
    if (this.state === 'failed' && this.lastExit) this.onExit(this.lastExit);
  }

  /** Resolves at the next exit of the current incarnation (at once if none is running). */
  nextExit(): Promise<ExitInfo> {
    if (this.pid === undefined && this.state !== 'running') {
      return Promise.resolve({ code: this.child?.exitCode ?? null, signal: this.child?.signalCode ?? null });
    }
    return new Promise((resolve) => this.exitWaiters.push(resolve));
  }

  private spawnOnce(): void {
    const { name, command, args, env } = this.spec;
    let child: ChildProcess;
    try {
      child = spawn(command, [...args], {
        env: env as NodeJS.ProcessEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
    } catch (err) {
      // Synchronous spawn failures (bad arguments): report like an exit.
      this.state = 'running';
      queueMicrotask(() => this.onExit({ code: null, signal: null, error: err as Error }));
      return;
    }
    this.child = child;
    this.state = 'running';
    forwardLines(child.stdout!, name, 'stdout', this.deps.sink);
    forwardLines(child.stderr!, name, 'stderr', this.deps.sink);
    let reported = false;
    const report = (exit: ExitInfo) => {
      if (reported) return;
      reported = true;
      if (this.child === child) this.onExit(exit);
    };
    child.once('error', (error) => {
      // 'error' without a pid: the process never ran. With a pid, 'exit' follows.
      if (child.pid === undefined) report({ code: null, signal: null, error });
    });
    child.once('exit', (code, signal) => report({ code, signal }));
    if (child.pid !== undefined) {
      this.deps.logger.info(
        { child: name, pid: child.pid, command, args, restarts: this.totalRestarts },
        'service started',
      );
    }
  }

  private onExit(exit: ExitInfo): void {
    this.lastExit = exit;
    const waiters = this.exitWaiters;
    this.exitWaiters = [];
    for (const resolve of waiters) resolve(exit);
    if (this.state === 'stopping' || this.state === 'stopped') {
      this.state = 'stopped';
      return;
    }
    if (!this.supervising) {
      // Before readiness: the launcher sees the exit through nextExit() and fails the launch.
      this.state = 'failed';
      return;
    }
    const now = Date.now();
    this.restartTimes = this.restartTimes.filter((t) => now - t < this.deps.policy.windowMs);
    const { maxRestarts, windowMs, initialBackoffMs, maxBackoffMs } = this.deps.policy;
    if (this.restartTimes.length >= maxRestarts) {
      this.state = 'failed';
      const reason = `${this.name} ${describeExit(exit)}; it was restarted ${this.restartTimes.length} times within ${Math.round(windowMs / 1000)}s (ORLY_LAUNCHER_MAX_RESTARTS=${maxRestarts}): giving up`;
      this.deps.logger.error({ child: this.name, code: exit.code, signal: exit.signal }, reason);
      this.deps.onGiveUp(reason);
      return;
    }
    this.restartTimes.push(now);
    const n = this.restartTimes.length;
    const delay = Math.min(maxBackoffMs, initialBackoffMs * 2 ** (n - 1));
    this.state = 'backoff';
    this.deps.logger.warn(
      {
        child: this.name,
        code: exit.code,
        signal: exit.signal,
        err: exit.error?.message,
        restarts: this.totalRestarts + 1,
        restartsInWindow: n,
        backoffMs: delay,
      },
      `service ${describeExit(exit)} unexpectedly; restarting`,
    );
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = undefined;
      if (this.state !== 'backoff') return;
      this.totalRestarts++;
      this.spawnOnce();
    }, delay);
  }

  private signal(sig: NodeJS.Signals): void {
    const pid = this.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, sig); // the whole process group
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
  }

  /**
   * Stops for good: cancels a pending restart, sends SIGTERM, and SIGKILL after `timeoutMs`.
   * Resolves once the process has exited; `forced` tells whether SIGKILL was needed.
   */
  async stop(timeoutMs: number): Promise<{ forced: boolean; exit?: ExitInfo }> {
    if (this.backoffTimer) clearTimeout(this.backoffTimer);
    this.backoffTimer = undefined;
    const running = this.pid !== undefined;
    if (!running) {
      this.state = 'stopped';
      return { forced: false };
    }
    this.state = 'stopping';
    const exited = this.nextExit();
    this.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const first = await Promise.race([exited, timedOut]);
    clearTimeout(timer);
    if (first !== 'timeout') return { forced: false, exit: first };
    this.deps.logger.warn(
      { child: this.name, timeoutMs },
      'service did not stop after SIGTERM within the stop timeout; sending SIGKILL',
    );
    this.signal('SIGKILL');
    return { forced: true, exit: await exited };
  }

  /** Synchronous last resort: SIGKILL now, no waiting, no restart. */
  killNow(): void {
    if (this.backoffTimer) clearTimeout(this.backoffTimer);
    this.backoffTimer = undefined;
    if (this.state !== 'stopped') this.state = 'stopping';
    this.signal('SIGKILL');
  }
}
