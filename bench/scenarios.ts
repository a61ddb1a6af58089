/**
 * The scenarios, orchestrated: runScenario runs one by name and turns a failure into a failed
 * result (with the relay's stats when it got that far). The load scenarios (ingest, query,
 * fan-out, memory, each in its *-scenario.ts) start their own relay process on a fresh temp
 * data dir, run one load generator in a separate process and sample the relay's CPU and RSS
 * around the timed phase (scenario-harness.ts); sync, sync-1m and strfry have their own modules.
 */
import { fanoutScenario } from './fanout-scenario.js';
import { ingestScenario } from './ingest-scenario.js';
import { memoryScenario } from './memory-scenario.js';
import type { Scenario } from './options.js';
import { postgresThreeRelaysScenario } from './postgres-relays-scenario.js';
import { queryScenario } from './query-scenario.js';
import { replicationScenario } from './replication-scenario.js';
import {
  type BenchContext,
  type Metrics,
  ScenarioFailure,
  type ScenarioOutcome,
  type ScenarioResult,
} from './scenario-harness.js';
import { strfryReplicationScenario } from './strfry-replication-scenario.js';
import { strfryScenario } from './strfry-scenario.js';
import { sync1mScenario } from './sync-1m-scenario.js';
import { syncScenario } from './sync-scenario.js';

export { BenchContext, type Metrics, type ScenarioResult } from './scenario-harness.js';

const RUNNERS: Record<Scenario, (ctx: BenchContext) => Promise<ScenarioOutcome>> = {
  ingest: (ctx) => ingestScenario(ctx),
  'ingest-strfry': (ctx) => ingestScenario(ctx, 'strfry'),
  'ingest-postgres': (ctx) => ingestScenario(ctx, 'postgres'),
  query: (ctx) => queryScenario(ctx),
  'query-strfry': (ctx) => queryScenario(ctx, 'strfry'),
  'query-postgres': (ctx) => queryScenario(ctx, 'postgres'),
  'fanout-latency': (ctx) => fanoutScenario(ctx, 'rate'),
  'fanout-latency-strfry': (ctx) => fanoutScenario(ctx, 'rate', 'strfry'),
  'fanout-latency-postgres': (ctx) => fanoutScenario(ctx, 'rate', 'postgres'),
  'fanout-throughput': (ctx) => fanoutScenario(ctx, 'max'),
  'fanout-throughput-strfry': (ctx) => fanoutScenario(ctx, 'max', 'strfry'),
  'fanout-throughput-postgres': (ctx) => fanoutScenario(ctx, 'max', 'postgres'),
  'postgres-three-relays': postgresThreeRelaysScenario,
  memory: (ctx) => memoryScenario(ctx),
  'memory-strfry': (ctx) => memoryScenario(ctx, 'strfry'),
  'ingest-split': (ctx) => ingestScenario(ctx, 'split'),
  'ingest-plugin': (ctx) => ingestScenario(ctx, 'plugin'),
  replication: replicationScenario,
  'replication-split': (ctx) => replicationScenario(ctx, true),
  'replication-strfry': strfryReplicationScenario,
  'ingest-policy': (ctx) => ingestScenario(ctx, 'policy'),
  'query-split': (ctx) => queryScenario(ctx, 'split'),
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
