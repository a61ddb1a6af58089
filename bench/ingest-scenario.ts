/**
 * The ingest scenario (and ingest-split, with the relay in split mode): a fresh relay, the
 * dataset published over several connections with a window of EVENTs awaiting OK; accepted
 * events per second and OK latency.
 */
import {
  type BenchContext,
  measuredLoad,
  round,
  type ScenarioOutcome,
  withRelay,
} from './scenario-harness.js';
import type { LatencySummary } from './stats.js';

export interface IngestLoad {
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

export async function ingestScenario(ctx: BenchContext, split = false): Promise<ScenarioOutcome> {
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
