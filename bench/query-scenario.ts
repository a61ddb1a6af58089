/**
 * The query scenario (and query-split, with the relay in split mode): a relay over a data
 * directory filled with the dataset (`orly import --no-verify`, else published through a
 * relay), random REQs over many connections; REQs and events per second, EOSE latency.
 */
import { rmSync } from 'node:fs';
import type { Dataset } from './dataset.js';
import type { IngestLoad } from './ingest-scenario.js';
import { runLoad } from './load-runner.js';
import { importDataset, makeDataDir, RelayProcess } from './relay-process.js';
import {
  type BenchContext,
  measuredLoad,
  round,
  type ScenarioOutcome,
  withRelay,
} from './scenario-harness.js';
import type { LatencySummary } from './stats.js';
import { runStrfry } from './strfry-process.js';

interface QueryLoad {
  loadCpuPercent?: number;
  reqs: number;
  events: number;
  closed: number;
  closedReasons: Record<string, number>;
  stuck: number;
  reqsPerSec: number;
  eventsPerSec: number;
  latencyMs: LatencySummary;
}

/** Fills a data directory with the dataset: `orly import --no-verify`, else through a relay. */
async function fillStore(dataset: Dataset, notes: string[]): Promise<{ dataDir: string; method: string }> {
  const dataDir = makeDataDir();
  try {
    return await fillStoreIn(dataDir, dataset, notes);
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

async function fillStoreIn(
  dataDir: string,
  dataset: Dataset,
  notes: string[],
): Promise<{ dataDir: string; method: string }> {
  console.log(`  importing ${dataset.meta.size} events (orly import --no-verify) ...`);
  const imported = await importDataset(dataDir, dataset.file);
  if (imported.code === 0) {
    console.log(`  imported in ${imported.seconds.toFixed(1)} s`);
    return { dataDir, method: `orly import --no-verify (${round(imported.seconds)} s)` };
  }
  notes.push(
    `orly import failed (exit ${imported.code}: ${imported.output.split('\n').slice(-2).join(' | ')}); filled via EVENTs`,
  );
  console.log(`  import failed (exit ${imported.code}); publishing the dataset through a relay instead ...`);
  const relay = await RelayProcess.start({ label: 'query-fill', dataDir });
  try {
    const fill = await runLoad<IngestLoad>({
      script: 'load-ingest',
      args: {
        url: relay.url,
        file: dataset.file,
        warmup: 0,
        count: dataset.meta.size,
        connections: 12,
        window: 256,
        timeLimitSec: 300,
        hardTimeoutSec: 400,
      },
    });
    if (fill.result.rejected > 0)
      notes.push(`${fill.result.rejected} events refused while filling the store`);
  } finally {
    await relay.stop();
  }
  return { dataDir, method: 'published through a relay (import unavailable)' };
}

/** A strfry database filled with the dataset (`strfry import --no-verify`). */
async function fillStrfry(dataset: Dataset): Promise<{ dataDir: string; method: string }> {
  const dataDir = makeDataDir();
  console.log(`  importing ${dataset.meta.size} events (strfry import --no-verify) ...`);
  const run = await runStrfry(dataDir, ['import', '--no-verify'], { stdinFile: dataset.file });
  if (run.code !== 0) {
    rmSync(dataDir, { recursive: true, force: true });
    throw new Error(`strfry import failed (exit ${run.code}): ${run.output.slice(-500)}`);
  }
  return { dataDir, method: `strfry import --no-verify (${round(run.seconds)} s)` };
}

/** A fresh PostgreSQL database filled with the dataset (`orly import --no-verify` with ORLY_DB_TYPE=postgres). */
async function fillPostgres(
  dataset: Dataset,
  env: Record<string, string>,
): Promise<{ dataDir: string; method: string }> {
  console.log(`  importing ${dataset.meta.size} events into PostgreSQL (orly import --no-verify) ...`);
  const imported = await importDataset(undefined, dataset.file, 600_000, env);
  if (imported.code !== 0)
    throw new Error(
      `orly import into PostgreSQL failed (exit ${imported.code}): ${imported.output.slice(-500)}`,
    );
  return {
    dataDir: makeDataDir(),
    method: `orly import --no-verify into PostgreSQL (${round(imported.seconds)} s)`,
  };
}

export type QueryVariant = 'local' | 'split' | 'strfry' | 'postgres';

export async function queryScenario(
  ctx: BenchContext,
  variant: QueryVariant = 'local',
): Promise<ScenarioOutcome> {
  const o = ctx.options;
  const dataset = ctx.getDataset();
  const notes: string[] = [];
  const split = variant === 'split';
  const label = variant === 'local' ? 'query' : `query-${variant}`;
  const pg = variant === 'postgres' ? await ctx.postgresStart(label) : undefined;
  const { dataDir, method } =
    variant === 'strfry'
      ? await fillStrfry(dataset)
      : pg !== undefined
        ? await fillPostgres(dataset, pg.env)
        : await fillStore(dataset, notes);
  const target = variant === 'strfry' || variant === 'postgres' ? variant : 'orly';
  return withRelay(label, { dataDir, split, target, ...pg }, async (relay, stats) => {
    const load = await measuredLoad<QueryLoad>(relay, stats, 'load-query', {
      url: relay.url,
      metaFile: dataset.metaFile,
      connections: o.queryConnections,
      warmupSec: o.queryWarmupSec,
      durationSec: o.queryDurationSec,
      limitMin: 50,
      limitMax: 500,
      seed: o.seed,
      hardTimeoutSec: o.queryWarmupSec + o.queryDurationSec + 60,
    });
    if (load.closed > 0) notes.push(`CLOSED: ${JSON.stringify(load.closedReasons)}`);
    if (load.stuck > 0) notes.push(`${load.stuck} connection(s) never got an EOSE`);
    return {
      status: 'ok',
      metrics: {
        storeEvents: dataset.meta.size,
        filledBy: method,
        connections: o.queryConnections,
        reqsPerSec: Math.round(load.reqsPerSec),
        eventsPerSec: Math.round(load.eventsPerSec),
        eoseP50Ms: load.latencyMs.p50,
        eoseP99Ms: load.latencyMs.p99,
        reqs: load.reqs,
        closed: load.closed,
        relayCpuSeconds: stats.cpuSeconds,
        relayCpuPercent: stats.cpuPercent,
        postgresCpuPercent: stats.serverCpuPercent,
        loadCpuPercent: load.loadCpuPercent,
        otherCpuPercent: stats.otherCpuPercent,
      },
      load: load as unknown as Record<string, unknown>,
      notes,
    };
  });
}
