/**
 * The five scenarios, orchestrated: each starts its own relay process (fresh temp data dir),
 * runs one load generator in a separate process, samples the relay's CPU and RSS around the
 * timed phase, and always stops the relay and removes its data directory, even on failure.
 */
import { rmSync } from 'node:fs';
import { type Dataset, loadOrCreateDataset } from './dataset.js';
import { runLoad } from './load-runner.js';
import type { BenchOptions, Scenario } from './options.js';
import { machineBusySeconds, type RssBreakdown } from './procfs.js';
import { importDataset, makeDataDir, RelayProcess } from './relay-process.js';
import type { LatencySummary } from './stats.js';
import { strfryScenario } from './strfry-scenario.js';
import { sync1mScenario } from './sync-1m-scenario.js';
import { syncScenario } from './sync-scenario.js';

export type Metrics = Record<string, number | string | boolean | undefined>;

export interface RelayStats {
  /** CPU seconds (user + system, all threads) during the timed phase. */
  cpuSeconds?: number;
  /** cpuSeconds / timed wall seconds, in % of one core. */
  cpuPercent?: number;
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

export class BenchContext {
  private dataset: Dataset | undefined;

  constructor(readonly options: BenchOptions) {}

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

const MB = 1024 * 1024;
const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs `body` against a fresh relay and always shuts it down; the relay stats are merged in. */
async function withRelay(
  label: string,
  start: { env?: Record<string, string>; dataDir?: string; split?: boolean },
  body: (relay: RelayProcess, stats: RelayStats) => Promise<Omit<ScenarioResult, 'scenario' | 'wallSeconds'>>,
): Promise<Omit<ScenarioResult, 'scenario' | 'wallSeconds'>> {
  const relay = await RelayProcess.start({ label, ...start });
  const stats: RelayStats = { logLines: 0, logSample: [] };
  let outcome: Omit<ScenarioResult, 'scenario' | 'wallSeconds'> | undefined;
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

class ScenarioFailure extends Error {
  constructor(
    message: string,
    readonly relay: RelayStats,
  ) {
    super(message);
  }
}

/** Runs a load generator, sampling the relay's CPU and peak RSS between "ready" and its result. */
async function measuredLoad<R>(
  relay: RelayProcess,
  stats: RelayStats,
  script: string,
  args: Record<string, unknown> & { hardTimeoutSec: number },
): Promise<R> {
  let cpu0 = 0;
  let machine0 = 0;
  let t0 = 0;
  let stopPeak: (() => RssBreakdown) | undefined;
  const run = await runLoad<R>({
    script,
    args,
    onReady: () => {
      cpu0 = relay.cpu();
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

interface IngestLoad {
  loadCpuPercent?: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  rejections: Record<string, number>;
  timedOut: boolean;
  closedConnections: number;
  seconds: number;
  acceptedPerSec: number;
  minSecondRate?: number;
  latencyMs: LatencySummary;
  warmup: { acked: number; rejected: number; timedOut: boolean };
}

async function ingest(
  ctx: BenchContext,
  split = false,
): Promise<Omit<ScenarioResult, 'scenario' | 'wallSeconds'>> {
  const o = ctx.options;
  const dataset = ctx.getDataset();
  return withRelay(split ? 'ingest-split' : 'ingest', { split }, async (relay, stats) => {
    const load = await measuredLoad<IngestLoad>(relay, stats, 'load-ingest', {
      url: relay.url,
      file: dataset.file,
      warmup: o.warmupEvents,
      count: o.events,
      connections: o.ingestConnections,
      window: o.ingestWindow,
      timeLimitSec: 180,
      hardTimeoutSec: 300,
    });
    const notes: string[] = [];
    if (load.timedOut) notes.push('the timed phase hit its time limit before every OK arrived');
    if (load.rejected > 0) notes.push(`OK false: ${JSON.stringify(load.rejections)}`);
    if (load.closedConnections > 0)
      notes.push(`${load.closedConnections} publisher connection(s) closed by the relay`);
    return {
      status: 'ok',
      metrics: {
        events: o.events,
        connections: o.ingestConnections,
        window: o.ingestWindow,
        eventsPerSec: Math.round(load.acceptedPerSec),
        minSecondRate: load.minSecondRate,
        okP50Ms: load.latencyMs.p50,
        okP99Ms: load.latencyMs.p99,
        okFalse: load.rejected,
        duplicates: load.duplicates,
        seconds: round(load.seconds, 2),
        relayCpuSeconds: stats.cpuSeconds,
        relayCpuPercent: stats.cpuPercent,
        loadCpuPercent: load.loadCpuPercent,
        otherCpuPercent: stats.otherCpuPercent,
      },
      load: load as unknown as Record<string, unknown>,
      notes,
    };
  });
}

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

async function query(
  ctx: BenchContext,
  split = false,
): Promise<Omit<ScenarioResult, 'scenario' | 'wallSeconds'>> {
  const o = ctx.options;
  const dataset = ctx.getDataset();
  const notes: string[] = [];
  const { dataDir, method } = await fillStore(dataset, notes);
  return withRelay(split ? 'query-split' : 'query', { dataDir, split }, async (relay, stats) => {
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
        loadCpuPercent: load.loadCpuPercent,
        otherCpuPercent: stats.otherCpuPercent,
      },
      load: load as unknown as Record<string, unknown>,
      notes,
    };
  });
}

interface FanoutLoad {
  loadCpuPercent?: number;
  subscribers: number;
  connectErrors: number;
  connectErrorSample: string[];
  published: number;
  accepted: number;
  exhausted: boolean;
  publishedPerSec: number;
  deliveries: number;
  missingDeliveries: number;
  closedSubscribers: number;
  notices: number;
  deliveriesPerSec: number;
  latencyMs: LatencySummary;
  okLatencyMs: LatencySummary;
}

async function fanout(
  ctx: BenchContext,
  mode: 'rate' | 'max',
): Promise<Omit<ScenarioResult, 'scenario' | 'wallSeconds'>> {
  const o = ctx.options;
  const subscribers = mode === 'rate' ? o.fanoutSubscribers : o.throughputSubscribers;
  const durationSec = mode === 'rate' ? o.fanoutDurationSec : o.throughputDurationSec;
  return withRelay(mode === 'rate' ? 'fanout-latency' : 'fanout-throughput', {}, async (relay, stats) => {
    const load = await measuredLoad<FanoutLoad>(relay, stats, 'load-fanout', {
      url: relay.url,
      subscribers,
      mode,
      rate: o.fanoutRate,
      durationSec,
      window: o.throughputWindow,
      maxEvents: o.throughputMaxEvents,
      warmupEvents: 50,
      connectConcurrency: 50,
      drainSec: 10,
      seed: o.seed + (mode === 'rate' ? 100 : 200),
      hardTimeoutSec: durationSec + 180,
    });
    const notes: string[] = [];
    if (load.connectErrors > 0)
      notes.push(`${load.connectErrors} subscribers failed: ${load.connectErrorSample.join('; ')}`);
    if (load.missingDeliveries > 0)
      notes.push(`${load.missingDeliveries} deliveries missing after the drain`);
    if (load.closedSubscribers > 0) notes.push(`${load.closedSubscribers} subscribers closed by the relay`);
    if (load.exhausted) notes.push('the publisher used every pre-signed event before the time was up');
    return {
      status: 'ok',
      metrics: {
        subscribers: load.subscribers,
        published: load.published,
        publishedPerSec: Math.round(load.publishedPerSec),
        deliveriesPerSec: Math.round(load.deliveriesPerSec),
        p50Ms: load.latencyMs.p50,
        p99Ms: load.latencyMs.p99,
        okP50Ms: load.okLatencyMs.p50,
        missing: load.missingDeliveries,
        relayCpuSeconds: stats.cpuSeconds,
        relayCpuPercent: stats.cpuPercent,
        loadCpuPercent: load.loadCpuPercent,
        otherCpuPercent: stats.otherCpuPercent,
      },
      load: load as unknown as Record<string, unknown>,
      notes,
    };
  });
}

interface ConnectionsLoad {
  connected: number;
  failed: number;
  errors: Record<string, number>;
  refused: number;
  closedWhileIdle: number;
  openSeconds: number;
  reqLatencyMs: LatencySummary;
}

/** Median of `count` RSS readings `gapMs` apart. */
async function steadyRss(relay: RelayProcess, count = 3, gapMs = 500): Promise<number> {
  const readings: number[] = [];
  for (let i = 0; i < count; i++) {
    if (i > 0) await delay(gapMs);
    readings.push(relay.rss());
  }
  return readings.sort((a, b) => a - b)[Math.floor(count / 2)]!;
}

async function memory(ctx: BenchContext): Promise<Omit<ScenarioResult, 'scenario' | 'wallSeconds'>> {
  const o = ctx.options;
  return withRelay('memory', {}, async (relay, stats) => {
    await delay(2000);
    const empty = await steadyRss(relay);
    const emptyAnon = relay.rssBreakdown().anon;
    let loaded = 0;
    let loadedAnon = 0;
    let connected = 0;
    const run = await runLoad<ConnectionsLoad>({
      script: 'load-connections',
      args: {
        url: relay.url,
        connections: o.idleConnections,
        concurrency: 200,
        seed: o.seed,
        hardTimeoutSec: 300,
      },
      onReady: async (info) => {
        connected = Number(info.connected);
        console.log(`  ${connected} connections open and idle; settling 3 s before reading RSS ...`);
        await delay(3000);
        loaded = await steadyRss(relay);
        loadedAnon = relay.rssBreakdown().anon;
      },
    });
    await delay(3000);
    const afterClose = relay.running ? await steadyRss(relay) : Number.NaN;
    stats.peakRssMB = round(loaded / MB);
    const load = run.result;
    const notes: string[] = [];
    if (load.failed > 0) notes.push(`${load.failed} connections failed: ${JSON.stringify(load.errors)}`);
    if (load.refused > 0) notes.push(`${load.refused} REQs refused with CLOSED`);
    if (load.closedWhileIdle > 0) notes.push(`${load.closedWhileIdle} idle connections closed by the relay`);
    return {
      status: 'ok',
      metrics: {
        connections: connected,
        failed: load.failed,
        rssEmptyMB: round(empty / MB),
        rssLoadedMB: round(loaded / MB),
        rssDeltaMB: round((loaded - empty) / MB),
        bytesPerConnection: connected > 0 ? Math.round((loaded - empty) / connected) : undefined,
        anonDeltaMB: round((loadedAnon - emptyAnon) / MB),
        rssAfterCloseMB: round(afterClose / MB),
        openSeconds: round(load.openSeconds, 2),
        reqEoseP50Ms: load.reqLatencyMs.p50,
      },
      load: load as unknown as Record<string, unknown>,
      notes,
    };
  });
}

const RUNNERS: Record<
  Scenario,
  (ctx: BenchContext) => Promise<Omit<ScenarioResult, 'scenario' | 'wallSeconds'>>
> = {
  ingest,
  query,
  'fanout-latency': (ctx) => fanout(ctx, 'rate'),
  'fanout-throughput': (ctx) => fanout(ctx, 'max'),
  memory,
  'ingest-split': (ctx) => ingest(ctx, true),
  'query-split': (ctx) => query(ctx, true),
  sync: async (ctx) => {
    const metrics = await syncScenario(ctx.getDataset());
    return { status: 'ok', metrics: metrics as unknown as Metrics, notes: [] };
  },
  'sync-1m': async () => {
    const metrics = await sync1mScenario();
    return { status: 'ok', metrics: metrics as unknown as Metrics, notes: [] };
  },
  strfry: async (ctx) => {
    const result = await strfryScenario(ctx.getDataset());
    if (result === undefined) throw new Error('ORLY_BENCH_STRFRY is not set (the path of a strfry binary)');
    const { runs, ...interop } = result;
    const metrics: Metrics = { ...interop };
    // Keys: <relay><All|Kind1><100k|1M>[_2 for the repeat]_<number>, e.g. orlyAll1M_relayCpuSeconds.
    const seen = new Set<string>();
    for (const r of runs) {
      let key = `${r.relay}${r.filter === '{}' ? 'All' : 'Kind1'}${r.events >= 1_000_000 ? '1M' : '100k'}`;
      if (seen.has(key)) key += '_2';
      seen.add(key);
      for (const [name, value] of Object.entries(r)) {
        if (typeof value === 'number') metrics[`${key}_${name}`] = value;
      }
    }
    return { status: 'ok', metrics, notes: [] };
  },
};

export async function runScenario(ctx: BenchContext, scenario: Scenario): Promise<ScenarioResult> {
  const started = performance.now();
  try {
    const outcome = await RUNNERS[scenario](ctx);
    return { scenario, wallSeconds: (performance.now() - started) / 1000, ...outcome };
  } catch (err) {
    return {
      scenario,
      status: 'failed',
      error: err instanceof Error ? err.message : String(err),
      wallSeconds: (performance.now() - started) / 1000,
      metrics: {},
      relay: err instanceof ScenarioFailure ? err.relay : undefined,
      notes: [],
    };
  }
}
