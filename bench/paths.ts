/**
 * Where things live, resolved from this compiled file (dist/bench/paths.js): the project root,
 * the results directory (gitignored), the compiled load generators and the relay CLI.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/bench, where the compiled benchmark scripts are. */
export const BENCH_DIST_DIR = dirname(fileURLToPath(import.meta.url));
export const ROOT_DIR = resolve(BENCH_DIST_DIR, '..', '..');
export const RESULTS_DIR = join(ROOT_DIR, 'bench-results');
export const DATASET_DIR = join(RESULTS_DIR, 'datasets');
export const LOG_DIR = join(RESULTS_DIR, 'logs');
/** The relay entry point; ORLY_BENCH_RELAY points the benchmark at another build of it. */
export const RELAY_CLI = process.env.ORLY_BENCH_RELAY || join(ROOT_DIR, 'dist', 'src', 'cli', 'orly.js');
/** The orly-db service entry point (split-mode scenarios). */
export const DB_CLI = join(ROOT_DIR, 'dist', 'src', 'cli', 'orly-db.js');

/** The compiled path of a load generator, e.g. loadScript('load-ingest'). */
export function loadScript(name: string): string {
  return join(BENCH_DIST_DIR, `${name}.js`);
}
