/**
 * What the load scenarios share: their result types, the bench context (the dataset, made or
 * read on first use), withRelay (a fresh relay process for a scenario, always shut down, its
 * exit and log merged into the result) and measuredLoad (a load generator in a separate
 * process, with the relay's CPU and RSS sampled around the timed phase).
 */

import type { BenchRelay } from './bench-relay.js';
import { type Dataset, loadOrCreateDataset } from './dataset.js';
import { runLoad } from './load-runner.js';
import type { BenchOptions, Scenario } from './options.js';
import { type BenchPostgres, startBenchPostgres } from './postgres-server.js';
import { machineBusySeconds, type RssBreakdown } from './procfs.js';
import { makeDataDir, RelayProcess } from './relay-process.js';
import { StrfryRelay } from './strfry-process.js';

export type Metrics = Record<string, number | string | boolean | undefined>;

export interface RelayStats {
  /** CPU seconds (user + system, all threads) during the timed phase. */
  cpuSeconds?: number;
  /** cpuSeconds / timed wall seconds, in % of one core. */
  cpuPercent?: number;
  /** The part of cpuPercent spent by the database server (PostgreSQL), when there is one. */
  serverCpuPercent?: number;
  peakRssMB?: number;
  /** Peak of the anonymous part of RSS (heap etc.), without mapped file pages such as LMDB's. */
  peakAnonMB?: number;
  /** Peak of the file-backed part of RSS (mostly the LMDB map). */
  peakFileMB?: number;
  /** Size of the data directory on disk when the timed phase ended. */
  dataDirMB?: number;
  /**
   * Busy CPU of the whole machine during the timed phase minus the relay's and the load
   * generator's, in % of one core: other processes competing for the cores (should be ~0).
   */
  otherCpuPercent?: number;
  exit?: { code: number | null; signal: string | null; forced: boolean };
  /** Lines the relay logged (warn level and above). */
  logLines: number;
  logSample: string[];
}

export interface ScenarioResult {
  scenario: Scenario;
  status: 'ok' | 'failed';
  error?: string;
  wallSeconds: number;
  metrics: Metrics;
  relay?: RelayStats;
  /** The load generator's full result line. */
  load?: Record<string, unknown>;
  notes: string[];
}

/** What a scenario's runner returns; runScenario adds the scenario and the wall time. */
export type ScenarioOutcome = Omit<ScenarioResult, 'scenario' | 'wallSeconds'>;

export class BenchContext {
  private dataset: Dataset | undefined;
  private postgres: Promise<BenchPostgres> | undefined;

  constructor(readonly options: BenchOptions) {}

  /** The run's PostgreSQL server (started on first use: the PostgreSQL scenarios). */
  getPostgres(): Promise<BenchPostgres> {
    this.postgres ??= startBenchPostgres();
    return this.postgres;
  }

  /** A relay's start on a fresh PostgreSQL database: its environment, and the server's CPU to count with it. */
  async postgresStart(label: string): Promise<{ env: Record<string, string>; companionCpu: () => number }> {
    const pg = await this.getPostgres();
    const url = await pg.createDatabase(label);
    return { env: { ORLY_DB_TYPE: 'postgres', ORLY_POSTGRES_URL: url }, companionCpu: () => pg.cpu() };
  }

  /** Stops what the run started (the PostgreSQL server). */
  async close(): Promise<void> {
    const pg = this.postgres;
    this.postgres = undefined;
    if (pg !== undefined) await (await pg).stop();
  }

  /** The dataset (timed events + warm-up), generated on first use or read from the cache. */
  getDataset(): Dataset {
    if (!this.dataset) {
      const size = this.options.events + this.options.warmupEvents;
      console.log(`dataset: ${size} events, seed ${this.options.seed} ...`);
      this.dataset = loadOrCreateDataset(size, this.options.seed);
      console.log(
        `dataset: ${this.dataset.generated ? 'generated and signed' : 'cached'} in ${this.dataset.seconds.toFixed(1)} s: ${this.dataset.file}`,
      );
    }
    return this.dataset;
  }
}

export const MB = 1024 * 1024;
export const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Which relay a scenario measures: ours on LMDB (local or split mode), ours on PostgreSQL (the
 * run's server, a fresh database: start options from BenchContext.postgresStart), or strfry
 * (ORLY_BENCH_STRFRY).
 */
export type BenchTarget = 'orly' | 'postgres' | 'strfry';

/** Runs `body` against a fresh relay and always shuts it down; the relay stats are merged in. */
export async function withRelay(
  label: string,
  start: {
    env?: Record<string, string>;
    dataDir?: string;
    split?: boolean;
    target?: BenchTarget;
    companionCpu?: () => number;
  },
  body: (relay: BenchRelay, stats: RelayStats) => Promise<ScenarioOutcome>,
): Promise<ScenarioOutcome> {
  const { target, ...options } = start;
  const relay: BenchRelay =
    target === 'strfry'
      ? await StrfryRelay.start(options.dataDir ?? makeDataDir(), label)
      : await RelayProcess.start({ label, ...options });
  const stats: RelayStats = { logLines: 0, logSample: [] };
  let outcome: ScenarioOutcome | undefined;
  let failure: unknown;
  try {
    outcome = await body(relay, stats);
  } catch (err) {
    failure = err;
  }
  const crashed = !relay.running;
  stats.exit = { ...(await relay.shutdown()) };
  const log = relay.logLines(15);
  stats.logLines = log.count;
  stats.logSample = log.sample;
  if (failure !== undefined) {
    const message = failure instanceof Error ? failure.message : String(failure);
    throw new ScenarioFailure(crashed ? `relay died during the run: ${message}` : message, stats);
  }
  if (crashed) {
    const exit = stats.exit.code ?? stats.exit.signal;
    return {
      ...outcome!,
      status: 'failed',
      error: `the relay exited during the run (exit ${exit}): ${relay.errorSummary()}`,
      relay: stats,
    };
  }
  return { ...outcome!, relay: stats };
}

export class ScenarioFailure extends Error {
  constructor(
    message: string,
    readonly relay: RelayStats,
  ) {
    super(message);
  }
}

/** Runs a load generator, sampling the relay's CPU and peak RSS between "ready" and its result. */
export async function measuredLoad<R>(
  relay: BenchRelay,
  stats: RelayStats,
  script: string,
  args: Record<string, unknown> & { hardTimeoutSec: number },
): Promise<R> {
  let cpu0 = 0;
  let server0 = 0;
  let machine0 = 0;
  let t0 = 0;
  let stopPeak: (() => RssBreakdown) | undefined;
  const run = await runLoad<R>({
    script,
    args,
    onReady: () => {
      cpu0 = relay.cpu();
      server0 = relay.serverCpu?.() ?? 0;
      machine0 = machineBusySeconds();
      t0 = performance.now();
      stopPeak = relay.samplePeakRss();
    },
    onResult: (result) => {
      if (!relay.running) return;
      const seconds = (performance.now() - t0) / 1000;
      const machineSeconds = machineBusySeconds() - machine0;
      stats.cpuSeconds = round(relay.cpu() - cpu0, 2);
      stats.cpuPercent = round((stats.cpuSeconds / seconds) * 100, 0);
      if (relay.serverCpu !== undefined && server0 > 0)
        stats.serverCpuPercent = round(((relay.serverCpu() - server0) / seconds) * 100, 0);
      const peak = stopPeak?.();
      if (peak) {
        stats.peakRssMB = round(peak.rss / MB);
        stats.peakAnonMB = round(peak.anon / MB);
        stats.peakFileMB = round(peak.file / MB);
      }
      try {
        stats.dataDirMB = round(relay.dataDirBytes() / MB);
      } catch {
        // not readable
      }
      const loadPercent = typeof result.loadCpuPercent === 'number' ? result.loadCpuPercent : 0;
      stats.otherCpuPercent = Math.max(
        0,
        round((machineSeconds / seconds) * 100 - stats.cpuPercent - loadPercent, 0),
      );
    },
  });
  stopPeak?.();
  return run.result;
}
