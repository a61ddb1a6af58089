/**
 * The ingest scenario: a fresh relay, the dataset published over several connections with a
 * window of EVENTs awaiting OK; accepted events per second and OK latency. Variants: ingest-split
 * (the relay in split mode), ingest-plugin (a pass-through strfry write-policy plugin, a few lines
 * of Node, asked about every event), ingest-policy (ORLY's policy file with a few write rules),
 * ingest-strfry (the same load against strfry, ORLY_BENCH_STRFRY), ingest-postgres (the relay on
 * PostgreSQL; the server's CPU counted with the relay's).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

export type IngestVariant = 'plain' | 'split' | 'plugin' | 'policy' | 'strfry' | 'postgres';

/** strfry's docs' simplest plugin: accept everything (one JSON parse and one line per event). */
const PASS_THROUGH = `#!/usr/bin/env node
require('readline').createInterface({ input: process.stdin, terminal: false }).on('line', (line) => {
  const req = JSON.parse(line);
  process.stdout.write(JSON.stringify({ id: req.event.id, action: 'accept' }) + '\\n');
});
`;

/** A policy file whose rules every dataset event passes (the cost of checking, not of refusing). */
const POLICY = {
  default_policy: 'allow',
  global: { size_limit: 200_000, max_age_event_in_future: 3600 },
  rules: {
    '1': { content_limit: 100_000, tag_validation: { t: '^[^\\s]{1,64}$' } },
    '7': { content_limit: 1000 },
    '30023': { identifier_regex: '^.{0,128}$' },
  },
};

function variantEnv(variant: IngestVariant, dir: string): Record<string, string> {
  if (variant === 'plugin') {
    const path = join(dir, 'pass-through.js');
    writeFileSync(path, PASS_THROUGH, { mode: 0o755 });
    return { ORLY_WRITE_POLICY_PLUGIN: path };
  }
  if (variant === 'policy') {
    const path = join(dir, 'policy.json');
    writeFileSync(path, JSON.stringify(POLICY));
    return { ORLY_POLICY_ENABLED: 'true', ORLY_POLICY_PATH: path };
  }
  return {};
}

export async function ingestScenario(
  ctx: BenchContext,
  variant: IngestVariant = 'plain',
): Promise<ScenarioOutcome> {
  const dir = mkdtempSync(join(tmpdir(), 'orly-bench-policy-'));
  try {
    return await runIngest(ctx, variant, variantEnv(variant, dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runIngest(
  ctx: BenchContext,
  variant: IngestVariant,
  env: Record<string, string>,
): Promise<ScenarioOutcome> {
  const o = ctx.options;
  const dataset = ctx.getDataset();
  const split = variant === 'split';
  const label = variant === 'plain' ? 'ingest' : `ingest-${variant}`;
  const target = variant === 'strfry' || variant === 'postgres' ? variant : 'orly';
  const pg = variant === 'postgres' ? await ctx.postgresStart(label) : undefined;
  const start = pg === undefined ? { env } : { env: { ...env, ...pg.env }, companionCpu: pg.companionCpu };
  return withRelay(label, { split, target, ...start }, async (relay, stats) => {
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
        postgresCpuPercent: stats.serverCpuPercent,
        loadCpuPercent: load.loadCpuPercent,
        otherCpuPercent: stats.otherCpuPercent,
      },
      load: load as unknown as Record<string, unknown>,
      notes,
    };
  });
}
