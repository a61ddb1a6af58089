/**
 * Three relays on one PostgreSQL database (the scale-out shape of docs/README "Scaling out"):
 * - aggregate ingest: the dataset published over 12 connections spread over the three relays
 *   (4 each), 256 EVENTs in flight per connection; events/s accepted by all three together;
 * - cross-relay delivery: a publisher on relay A at the fan-out rate, subscribers on relay B:
 *   each delivery's latency is A's commit, PostgreSQL's NOTIFY, B's fetch by serial and B's
 *   fan-out.
 * CPU: the three relays and the PostgreSQL server together.
 */

import type { BenchRelay } from './bench-relay.js';
import { crossRelayLagArgs, type LagLoad } from './fanout-scenario.js';
import type { IngestLoad } from './ingest-scenario.js';
import { RelayProcess } from './relay-process.js';
import {
  type BenchContext,
  measuredLoad,
  type RelayStats,
  round,
  type ScenarioOutcome,
} from './scenario-harness.js';

/** The three relays as one measured whole (CPU and RSS summed; the first's URL). */
function together(relays: readonly RelayProcess[], serverCpu: () => number): BenchRelay {
  const [first] = relays as [RelayProcess];
  return {
    url: first.url,
    get running() {
      return relays.every((r) => r.running);
    },
    cpu: () => relays.reduce((sum, r) => sum + r.cpu(), serverCpu()),
    rss: () => relays.reduce((sum, r) => sum + r.rss(), 0),
    rssBreakdown: () => {
      const all = relays.map((r) => r.rssBreakdown());
      return {
        rss: all.reduce((s, b) => s + b.rss, 0),
        anon: all.reduce((s, b) => s + b.anon, 0),
        file: all.reduce((s, b) => s + b.file, 0),
      };
    },
    samplePeakRss: (ms) => {
      const stops = relays.map((r) => r.samplePeakRss(ms));
      return () => {
        const all = stops.map((stop) => stop());
        return {
          rss: all.reduce((s, b) => s + b.rss, 0),
          anon: all.reduce((s, b) => s + b.anon, 0),
          file: all.reduce((s, b) => s + b.file, 0),
        };
      };
    },
    dataDirBytes: () => 0,
    errorSummary: () => relays.map((r) => r.errorSummary()).join(' | '),
    logLines: (max) => first.logLines(max),
    shutdown: () => first.shutdown(),
  };
}

export async function postgresThreeRelaysScenario(ctx: BenchContext): Promise<ScenarioOutcome> {
  const o = ctx.options;
  const dataset = ctx.getDataset();
  const pg = await ctx.postgresStart('three-relays');
  const relays: RelayProcess[] = [];
  try {
    for (const name of ['a', 'b', 'c'])
      relays.push(await RelayProcess.start({ label: `postgres-three-relays-${name}`, env: pg.env }));
    const [a, b] = relays as [RelayProcess, RelayProcess];
    const whole = together(relays, pg.companionCpu);
    const stats: RelayStats = { logLines: 0, logSample: [] };
    const ingest = await measuredLoad<IngestLoad>(whole, stats, 'load-ingest', {
      url: a.url,
      urls: relays.map((r) => r.url),
      file: dataset.file,
      warmup: o.warmupEvents,
      count: o.events,
      connections: o.ingestConnections,
      window: o.ingestWindow,
      timeLimitSec: 300,
      hardTimeoutSec: 400,
    });
    const ingestCpu = stats.cpuSeconds;
    const lag = await measuredLoad<LagLoad>(
      whole,
      stats,
      'load-fanout',
      crossRelayLagArgs(o, a.url, b.url, 100, 400),
    );
    const notes: string[] = [];
    if (ingest.rejected > 0) notes.push(`OK false: ${JSON.stringify(ingest.rejections)}`);
    if (lag.missingDeliveries > 0)
      notes.push(`${lag.missingDeliveries} deliveries on relay B missing after the drain`);
    return {
      status: ingest.rejected === 0 && lag.missingDeliveries === 0 ? 'ok' : 'failed',
      metrics: {
        relays: relays.length,
        eventsPerSec: Math.round(ingest.acceptedPerSec),
        okP50Ms: ingest.latencyMs.p50,
        okP99Ms: ingest.latencyMs.p99,
        okFalse: ingest.rejected,
        ingestCpuSeconds: ingestCpu,
        crossRate: o.fanoutRate,
        crossP50Ms: lag.latencyMs.p50,
        crossP99Ms: lag.latencyMs.p99,
        crossMissing: lag.missingDeliveries,
        seconds: round(ingest.seconds, 2),
      },
      relay: stats,
      notes,
    };
  } finally {
    for (const relay of relays) await relay.shutdown();
  }
}
