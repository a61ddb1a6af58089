/**
 * The replication scenario: two relays in distributed sync (each naming the other in
 * ORLY_SYNC_DISTRIBUTED_PEERS, on ports chosen beforehand). Two phases:
 * - lag: a publisher on relay A at a steady rate, subscribers on relay B; each delivery's latency
 *   is replication (A's live delivery to B's link, B's checks and save) plus B's fan-out;
 * - catch-up: B stopped, the dataset published to A, B started again on its data; the time until
 *   B holds as many events as A (COUNT {} on both), the events per second it took them in, and
 *   the loopback bytes per event meanwhile (both directions, framing included).
 */

import { crossRelayLagArgs, type LagLoad } from './fanout-scenario.js';
import { loopbackBytes } from './procfs.js';
import { freePort, RelayProcess } from './relay-process.js';
import {
  type BenchContext,
  delay,
  MB,
  type Metrics,
  measuredLoad,
  type RelayStats,
  round,
  type ScenarioOutcome,
} from './scenario-harness.js';
import { connect, WebSocket } from './ws-client.js';

interface IngestLoad {
  accepted: number;
  acceptedPerSec: number;
  seconds: number;
}

/** NIP-45 COUNT of every event on a relay. */
export async function countAll(url: string): Promise<number> {
  const ws = await connect(url);
  try {
    return await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('COUNT timed out')), 60_000);
      ws.on('message', (data: Buffer) => {
        const frame = JSON.parse(data.toString()) as unknown[];
        if (frame[0] === 'COUNT' && frame[1] === 'n') {
          clearTimeout(timer);
          resolve((frame[2] as { count: number }).count);
        } else if (frame[0] === 'CLOSED' && frame[1] === 'n') {
          clearTimeout(timer);
          reject(new Error(`COUNT refused: ${String(frame[2])}`));
        }
      });
      ws.send('["COUNT","n",{}]');
    });
  } finally {
    if (ws.readyState === WebSocket.OPEN) ws.close();
  }
}

const stats = (): RelayStats => ({ logLines: 0, logSample: [] });

/** A catch-up's figures: events published meanwhile, the count to reach, the count reached, seconds, loopback bytes. */
/** load-ingest's arguments for the backlog a catch-up measurement starts from: the whole dataset into `url`. */
export function backlogIngestArgs(
  o: BenchContext['options'],
  url: string,
  file: string,
): Record<string, unknown> & { hardTimeoutSec: number } {
  return {
    url,
    file,
    warmup: 0,
    count: o.events,
    connections: o.ingestConnections,
    window: o.ingestWindow,
    timeLimitSec: 180,
    hardTimeoutSec: 300,
  };
}

export interface CatchUp {
  events: number;
  target: number;
  have: number;
  seconds: number;
  loopback: number;
}

/**
 * The outcome of a replication scenario (ours or strfry's, one shape for the report): lag and
 * catch-up metrics plus `extra`; `missed` says why the catch-up is incomplete (then: failed).
 */
export function replicationOutcome(
  o: BenchContext['options'],
  lag: LagLoad,
  catchUp: CatchUp,
  missed: string | undefined,
  extra: Metrics,
): ScenarioOutcome {
  const notes: string[] = [];
  if (lag.missingDeliveries > 0)
    notes.push(`${lag.missingDeliveries} deliveries on the replica missing after the drain`);
  if (missed !== undefined) notes.push(missed);
  const { events, target, have, seconds, loopback } = catchUp;
  return {
    status: missed === undefined ? 'ok' : 'failed',
    ...(missed === undefined ? {} : { error: `catch-up incomplete: ${have} of ${target}` }),
    metrics: {
      lagRate: o.fanoutRate,
      lagPublished: lag.published,
      lagP50Ms: lag.latencyMs.p50,
      lagP99Ms: lag.latencyMs.p99,
      lagMaxMs: lag.latencyMs.max,
      lagMissing: lag.missingDeliveries,
      catchUpEvents: events,
      catchUpTarget: target,
      catchUpSeconds: round(seconds, 2),
      catchUpEventsPerSec: Math.round(events / seconds),
      catchUpBytesPerEvent: Math.round(loopback / Math.max(1, events)),
      ...extra,
    },
    notes,
  };
}

/** `split`: each relay on its own orly-db (replication in the relay, events through gRPC). */
export async function replicationScenario(ctx: BenchContext, split = false): Promise<ScenarioOutcome> {
  const o = ctx.options;
  const dataset = ctx.getDataset();
  const [portA, portB] = [await freePort(), await freePort()];
  const envOf = (self: number, peer: number) => ({
    ORLY_RELAY_URL: `ws://127.0.0.1:${self}`,
    ORLY_SYNC_DISTRIBUTED_PEERS: `http://127.0.0.1:${peer}`,
    ORLY_SYNC_DISTRIBUTED_INTERVAL: '5s',
  });
  const label = split ? 'replication-split' : 'replication';
  const a = await RelayProcess.start({ label: `${label}-a`, port: portA, split, env: envOf(portA, portB) });
  let b: RelayProcess | undefined;
  try {
    b = await RelayProcess.start({ label: `${label}-b`, port: portB, split, env: envOf(portB, portA) });
    // B's live link to A is up once an event published on A arrives there.
    await delay(2000);
    const statsA = stats();
    const lag = await measuredLoad<LagLoad>(
      a,
      statsA,
      'load-fanout',
      crossRelayLagArgs(o, a.url, b.url, 10, 300),
    );

    const dataDirB = b.dataDir;
    await b.stop();
    const ingest = await measuredLoad<IngestLoad>(
      a,
      stats(),
      'load-ingest',
      backlogIngestArgs(o, a.url, dataset.file),
    );
    const target = await countAll(a.url);
    // Everything on loopback from here to the end of the catch-up is the replication (plus a COUNT
    // every 250 ms): bytes per replicated event, both directions, HTTP and WebSocket framing included.
    const lo0 = loopbackBytes();
    const started = performance.now();
    b = await RelayProcess.start({
      label: `${label}-b-restart`,
      port: portB,
      split,
      dataDir: dataDirB,
      env: envOf(portB, portA),
    });
    const cpu0 = b.cpu();
    let have = 0;
    const deadline = started + 600_000;
    while (performance.now() < deadline) {
      have = await countAll(b.url);
      if (have >= target) break;
      await delay(250);
    }
    const catchUpSeconds = (performance.now() - started) / 1000;
    const loopback = loopbackBytes() - lo0;
    const caughtUp = have >= target;
    const bCpu = b.cpu() - cpu0;
    const rssB = b.rss() / MB;
    const extra = { replicaCpuSeconds: round(bCpu, 2), replicaRssMB: round(rssB) };
    const catchUp = { events: ingest.accepted, target, have, seconds: catchUpSeconds, loopback };
    const missed = `the replica held ${have} of ${target} events after 600 s`;
    return replicationOutcome(o, lag, catchUp, caughtUp ? undefined : missed, extra);
  } finally {
    await b?.shutdown();
    await a.shutdown();
  }
}
