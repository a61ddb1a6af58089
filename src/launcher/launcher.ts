/**
 * Executes a LaunchPlan: starts the stages in order, waits for each service's readiness,
 * supervises them (restart with backoff, crash-loop give-up), and stops everything in reverse
 * order.
 *
 * - start(): stage by stage; the services of a stage start together and must all be ready
 *   within their timeouts. A service that is not ready in time, or exits before it is ready,
 *   fails the launch: everything started so far is stopped (reverse order) and start() rejects
 *   with a LaunchError naming the service. A shutdown requested meanwhile (a signal) makes
 *   start() reject with LaunchAborted.
 * - After a service is ready, an unexpected exit is restarted by its SupervisedProcess; when
 *   one gives up (too many restarts), the launcher shuts everything down with code 1.
 * - shutdown(code): idempotent; reverse stage order (relay, sync, acl, db), each service SIGTERM
 *   then SIGKILL after the stop timeout, services of one stage in parallel; `finished` resolves
 *   with the first requested code once all are gone.
 * - killAll(): synchronous SIGKILL of every child, for exit paths that cannot wait.
 */
import { OrlyError } from '../errors.js';
import type { Logger } from '../logger.js';
import { type LineSink, processSink } from './output.js';
import type { LaunchPlan, ServicePlan } from './plan.js';
import { NotReadyError, waitUntilReady } from './readiness.js';
import { describeExit, SupervisedProcess } from './supervisor.js';

export class LaunchError extends OrlyError {
  readonly code: string = 'ORLY_LAUNCH';
  constructor(
    readonly service: string,
    message: string,
  ) {
    super(message);
    this.name = 'LaunchError';
  }
}

export class LaunchAborted extends Error {
  constructor() {
    super('launch aborted by a shutdown request');
    this.name = 'LaunchAborted';
  }
}

export interface LauncherOptions {
  readonly logger: Logger;
  /** Where children's tagged output lines go (default: the launcher's stdout/stderr). */
  readonly sink?: LineSink;
}

export interface LaunchOutcome {
  readonly code: number;
  readonly reason: string;
}

interface Running {
  readonly plan: ServicePlan;
  readonly proc: SupervisedProcess;
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

export class Launcher {
  private readonly stages: Running[][] = [];
  private readonly abort = new AbortController();
  private outcome: LaunchOutcome | undefined;
  private stopping: Promise<void> | undefined;
  private resolveFinished!: (outcome: LaunchOutcome) => void;
  /** Resolves when the launcher has stopped everything: after a shutdown or a give-up. */
  readonly finished: Promise<LaunchOutcome>;

  constructor(
    private readonly plan: LaunchPlan,
    private readonly options: LauncherOptions,
  ) {
    this.finished = new Promise((resolve) => {
      this.resolveFinished = resolve;
    });
  }

  /** PIDs of the running children by service name. */
  pids(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const stage of this.stages)
      for (const { proc } of stage) if (proc.pid !== undefined) out[proc.name] = proc.pid;
    return out;
  }

  processes(): SupervisedProcess[] {
    return this.stages.flat().map((r) => r.proc);
  }

  get isShuttingDown(): boolean {
    return this.stopping !== undefined;
  }

  async start(): Promise<void> {
    const { logger } = this.options;
    try {
      for (const stage of this.plan.stages) {
        if (this.abort.signal.aborted) throw new LaunchAborted();
        const running = stage.map(
          (plan): Running => ({
            plan,
            proc: new SupervisedProcess(plan, {
              logger,
              sink: this.options.sink ?? processSink,
              policy: this.plan.restart,
              onGiveUp: (reason) => void this.shutdown(1, reason),
            }),
          }),
        );
        this.stages.push(running);
        for (const { proc } of running) proc.start();
        const stageAbort = new AbortController();
        const onAbort = () => stageAbort.abort();
        this.abort.signal.addEventListener('abort', onAbort, { once: true });
        try {
          await Promise.all(running.map((r) => this.waitReady(r, stageAbort)));
        } finally {
          this.abort.signal.removeEventListener('abort', onAbort);
          stageAbort.abort();
        }
      }
      logger.info({ services: this.pids() }, 'all services ready');
    } catch (err) {
      if (this.stopping) {
        await this.finished;
        throw err instanceof LaunchError ? err : new LaunchAborted();
      }
      const message = (err as Error).message;
      logger.error({ service: (err as LaunchError).service, err: message }, 'launch failed');
      await this.shutdown(1, message);
      throw err;
    }
  }

  private async waitReady({ plan, proc }: Running, stageAbort: AbortController): Promise<void> {
    const started = Date.now();
    const exited = proc.nextExit().then((exit) => {
      if (stageAbort.signal.aborted) return;
      throw new LaunchError(plan.name, `${plan.name} ${describeExit(exit)} before it was ready`);
    });
    const ready = waitUntilReady(plan.probe(), plan.readyTimeoutMs, stageAbort.signal).catch((err) => {
      if (err instanceof NotReadyError) {
        throw new LaunchError(
          plan.name,
          `${plan.name} was not ready within ${seconds(plan.readyTimeoutMs)} (${plan.readyTimeoutVariable}); last probe: ${err.message}`,
        );
      }
      if (this.abort.signal.aborted) throw new LaunchAborted();
      throw err;
    });
    // The loser of the race may still reject later: keep that from being unhandled.
    exited.catch(() => undefined);
    ready.catch(() => undefined);
    await Promise.race([ready, exited]);
    if (this.abort.signal.aborted) throw new LaunchAborted();
    proc.supervise();
    this.options.logger.info(
      { child: plan.name, pid: proc.pid, readyMs: Date.now() - started },
      'service ready',
    );
  }

  /** Stops everything in reverse order (once); `code` becomes the launcher's exit code. */
  shutdown(code: number, reason: string): Promise<void> {
    if (this.stopping) return this.stopping;
    this.outcome = { code, reason };
    this.abort.abort();
    const { logger } = this.options;
    logger.info({ code, reason }, 'stopping services in reverse order');
    this.stopping = (async () => {
      for (const stage of [...this.stages].reverse()) {
        await Promise.all(
          stage.map(async ({ proc }) => {
            const began = Date.now();
            const pid = proc.pid;
            const { forced, exit } = await proc.stop(this.plan.stopTimeoutMs);
            if (pid !== undefined) {
              logger.info(
                {
                  child: proc.name,
                  pid,
                  forced,
                  code: exit?.code,
                  signal: exit?.signal,
                  stopMs: Date.now() - began,
                },
                'service stopped',
              );
            }
          }),
        );
      }
      this.resolveFinished(this.outcome!);
    })();
    return this.stopping;
  }

  /** Synchronous SIGKILL of every child (last resort on the launcher's own fatal exit). */
  killAll(): void {
    for (const stage of this.stages) for (const { proc } of stage) proc.killNow();
  }
}
