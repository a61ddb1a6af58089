/**
 * The load generators' side of the orchestrator protocol. A load generator is started as
 * `node dist/bench/load-<name>.js '<json args>'` and talks in JSON lines on stdout:
 *   {"type":"ready",...}   set up and warmed up; then it waits for a "go" line on stdin
 *   {"type":"result",...}  the measurement, printed once, then it exits
 *   {"type":"error","message":...} on failure (exit code 1)
 * It exits on its own when its stdin closes (orchestrator gone) or its hard time limit passes.
 */
/** CPU usage and time when "go" arrived: the result reports the generator's own CPU use since. */
let timedFrom: { cpu: NodeJS.CpuUsage; at: number } | undefined;

function emit(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

/** Reports readiness and resolves when the orchestrator answers "go". */
export function ready(info: Record<string, unknown> = {}): Promise<void> {
  emit({ type: 'ready', ...info });
  return new Promise((resolve) => {
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      if (buffered.includes('go\n')) {
        process.stdin.off('data', onData);
        timedFrom = { cpu: process.cpuUsage(), at: performance.now() };
        resolve();
      }
    };
    process.stdin.on('data', onData);
  });
}

/**
 * Runs a load generator: parses its JSON argument, enforces the hard time limit, prints
 * the result line (or an error line) and exits.
 */
export function runLoadMain<A extends { hardTimeoutSec: number }>(
  main: (args: A) => Promise<Record<string, unknown>>,
): void {
  const args = JSON.parse(process.argv[2] ?? '{}') as A;
  process.stdin.on('end', () => process.exit(4));
  process.stdin.resume();
  const limit = setTimeout(() => {
    emit({ type: 'error', message: `load generator exceeded its hard limit of ${args.hardTimeoutSec} s` });
    process.exit(3);
  }, args.hardTimeoutSec * 1000);
  main(args).then(
    (result) => {
      clearTimeout(limit);
      let loadCpuPercent: number | undefined;
      if (timedFrom) {
        const used = process.cpuUsage(timedFrom.cpu);
        const wallUs = (performance.now() - timedFrom.at) * 1000;
        loadCpuPercent = Math.round(((used.user + used.system) / wallUs) * 100);
      }
      process.stdout.write(`${JSON.stringify({ type: 'result', ...result, loadCpuPercent })}\n`, () =>
        process.exit(0),
      );
    },
    (err: unknown) => {
      clearTimeout(limit);
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
      process.stdout.write(`${JSON.stringify({ type: 'error', message })}\n`, () => process.exit(1));
    },
  );
}
