/**
 * The memory scenario: the relay's RSS empty, with many idle connections (each with a REQ
 * answered) and after they close; bytes per connection.
 */

import type { BenchRelay } from './bench-relay.js';
import { runLoad } from './load-runner.js';
import {
  type BenchContext,
  type BenchTarget,
  delay,
  MB,
  round,
  type ScenarioOutcome,
  withRelay,
} from './scenario-harness.js';
import type { LatencySummary } from './stats.js';

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
async function steadyRss(relay: BenchRelay, count = 3, gapMs = 500): Promise<number> {
  const readings: number[] = [];
  for (let i = 0; i < count; i++) {
    if (i > 0) await delay(gapMs);
    readings.push(relay.rss());
  }
  return readings.sort((a, b) => a - b)[Math.floor(count / 2)]!;
}

export async function memoryScenario(
  ctx: BenchContext,
  target: BenchTarget = 'orly',
): Promise<ScenarioOutcome> {
  const o = ctx.options;
  return withRelay(target === 'strfry' ? 'memory-strfry' : 'memory', { target }, async (relay, stats) => {
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
