/**
 * Every child process the orchestrator starts (relays, importers, load generators) is
 * registered here by PID, so that an error, Ctrl-C or an early exit still stops each one.
 */
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
