/**
 * The fan-out scenarios: many subscribers on a fresh relay and a publisher, either at a fixed
 * rate (fanout-latency: delivery latency) or as fast as the relay takes it (fanout-throughput:
 * deliveries per second).
 */
import {
  type BenchContext,
  type BenchTarget,
  measuredLoad,
  type ScenarioOutcome,
  withRelay,
} from './scenario-harness.js';
import type { LatencySummary } from './stats.js';

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

export async function fanoutScenario(
  ctx: BenchContext,
  mode: 'rate' | 'max',
  target: BenchTarget = 'orly',
): Promise<ScenarioOutcome> {
  const o = ctx.options;
  const subscribers = mode === 'rate' ? o.fanoutSubscribers : o.throughputSubscribers;
  const durationSec = mode === 'rate' ? o.fanoutDurationSec : o.throughputDurationSec;
  const label = `${mode === 'rate' ? 'fanout-latency' : 'fanout-throughput'}${target === 'orly' ? '' : `-${target}`}`;
  const pg = target === 'postgres' ? await ctx.postgresStart(label) : {};
  return withRelay(label, { target, ...pg }, async (relay, stats) => {
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

/** What load-fanout reports of a lag measurement across two relays. */
export interface LagLoad {
  published: number;
  missingDeliveries: number;
  latencyMs: LatencySummary;
}

/**
 * load-fanout's arguments for a lag measurement across two relays: a publisher on `url` at the
 * fan-out rate for the fan-out duration, `subscribers` on `subscribeUrl` (replication, shared
 * databases).
 */
export function crossRelayLagArgs(
  o: BenchContext['options'],
  url: string,
  subscribeUrl: string,
  subscribers: number,
  seedOffset: number,
): Record<string, unknown> & { hardTimeoutSec: number } {
  return {
    url,
    subscribeUrl,
    subscribers,
    mode: 'rate',
    rate: o.fanoutRate,
    durationSec: o.fanoutDurationSec,
    window: o.throughputWindow,
    maxEvents: o.throughputMaxEvents,
    warmupEvents: 50,
    connectConcurrency: Math.min(50, subscribers),
    drainSec: 15,
    seed: o.seed + seedOffset,
    hardTimeoutSec: o.fanoutDurationSec + 180,
  };
}
