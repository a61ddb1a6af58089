/**
 * `npm run bench`: the benchmark orchestrator. Parses the flags, prepares the dataset, runs
 * each selected scenario (each with its own relay and load-generator processes), then prints
 * and writes the report. See docs/benchmarks.md.
 */
import { existsSync } from 'node:fs';
import { installChildCleanup } from './children.js';
import { machineInfo } from './machine.js';
import { parseOptions, USAGE, UsageError } from './options.js';
import { RELAY_CLI } from './paths.js';
import { printReport, writeReport } from './report.js';
import { BenchContext, runScenario, type ScenarioResult } from './scenarios.js';

async function main(argv: string[]): Promise<number> {
  let options: ReturnType<typeof parseOptions>;
  try {
    options = parseOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`bench: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (!options) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!existsSync(RELAY_CLI)) {
    process.stderr.write(`bench: ${RELAY_CLI} not found; run npm run build first\n`);
    return 1;
  }
  installChildCleanup();
  const machine = machineInfo(argv);
  const started = performance.now();
  console.log(`bench: ${options.only.join(', ')}${options.quick ? ' (quick)' : ''} on ${machine.cpuModel}`);
  const ctx = new BenchContext(options);
  const results: ScenarioResult[] = [];
  for (const scenario of options.only) {
    console.log(`\n--- ${scenario} ---`);
    const result = await runScenario(ctx, scenario);
    results.push(result);
    if (result.status === 'failed') console.log(`  FAILED: ${result.error}`);
    else console.log(`  ${JSON.stringify(result.metrics)}`);
    console.log(`  (${result.wallSeconds.toFixed(1)} s)`);
  }
  await ctx.close();
  const run = { machine, options, wallSeconds: (performance.now() - started) / 1000, results };
  printReport(run);
  const files = writeReport(run);
  console.log(`\nwrote ${files.json}\nwrote ${files.md}`);
  return results.some((r) => r.status === 'failed') ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
