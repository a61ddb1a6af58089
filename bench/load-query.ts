/**
 * Query load: N connections, each in a closed loop REQ -> (stored EVENTs) -> EOSE -> CLOSE ->
 * next REQ, for a fixed time, over a mix of filter shapes drawn from the dataset (authors,
 * kinds, #t, authors+kinds, #p, 20 ids) with limits in [limitMin, limitMax]. Warm-up runs
 * the same loop untimed first.
 *
 * Args: url, metaFile, connections, warmupSec, durationSec, limitMin, limitMax, seed.
 */
import { readDatasetMeta } from './dataset.js';
import { ready, runLoadMain } from './load-protocol.js';
import { Rng } from './rng.js';
import { roundSummary, Samples } from './stats.js';
import { connectMany, eoseSubId, frameField, Verb, verbOf, type WebSocket } from './ws-client.js';

interface QueryArgs {
  url: string;
  metaFile: string;
  connections: number;
  warmupSec: number;
  durationSec: number;
  limitMin: number;
  limitMax: number;
  seed: number;
  hardTimeoutSec: number;
}

const SHAPES = ['authors', 'kinds', '#t', 'authors+kinds', '#p', 'ids'] as const;
type Shape = (typeof SHAPES)[number];

interface Query {
  shape: Shape;
  json: string;
}

function buildQueries(metaFile: string, args: QueryArgs, count: number): Query[] {
  const meta = readDatasetMeta(metaFile);
  const rng = new Rng(args.seed);
  const limit = () => rng.int(args.limitMin, args.limitMax);
  const queries: Query[] = [];
  for (let i = 0; i < count; i++) {
    const shape = SHAPES[i % SHAPES.length]!;
    let filter: Record<string, unknown>;
    switch (shape) {
      case 'authors':
        filter = { authors: [rng.pick(meta.authors)], limit: limit() };
        break;
      case 'kinds':
        filter = { kinds: [1], limit: limit() };
        break;
      case '#t':
        filter = { '#t': [rng.pick(meta.hashtags)], limit: limit() };
        break;
      case 'authors+kinds':
        filter = { authors: [rng.pick(meta.authors)], kinds: [1], limit: limit() };
        break;
      case '#p':
        filter = { '#p': [rng.pick(meta.pTagged)], limit: limit() };
        break;
      case 'ids':
        filter = { ids: rng.sample(meta.sampleIds, 20) };
        break;
    }
    queries.push({ shape, json: JSON.stringify(filter) });
  }
  // Shuffle so that connections do not march through the shapes in lockstep.
  for (let i = queries.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [queries[i], queries[j]] = [queries[j]!, queries[i]!];
  }
  return queries;
}

interface ShapeStats {
  latency: Samples;
  events: number;
}

interface PhaseResult {
  reqs: number;
  events: number;
  closed: number;
  closedReasons: Record<string, number>;
  stuck: number;
  seconds: number;
  latency: Samples;
  shapes: Map<Shape, ShapeStats>;
}

let nextQuery = 0;

function runPhase(sockets: WebSocket[], queries: Query[], durationMs: number): Promise<PhaseResult> {
  const start = performance.now();
  const deadline = start + durationMs;
  const result: PhaseResult = {
    reqs: 0,
    events: 0,
    closed: 0,
    closedReasons: {},
    stuck: 0,
    seconds: 0,
    latency: new Samples(65_536),
    shapes: new Map(SHAPES.map((s) => [s, { latency: new Samples(8192), events: 0 }])),
  };
  return new Promise((resolve) => {
    let active = sockets.length;
    let lastEnd = start;
    const cleanups: (() => void)[] = [];
    const finish = () => {
      clearTimeout(overrun);
      for (const cleanup of cleanups) cleanup();
      result.seconds = (lastEnd - start) / 1000;
      resolve(result);
    };
    // A REQ that never gets its EOSE must not hold the phase forever.
    const overrun = setTimeout(() => {
      result.stuck = active;
      finish();
    }, durationMs + 15_000);
    sockets.forEach((ws, c) => {
      let n = 0;
      let subId = '';
      let sentAt = 0;
      let query: Query = queries[0]!;
      let events = 0;
      let done = false;
      const sendNext = () => {
        query = queries[nextQuery++ % queries.length]!;
        subId = `q${c}.${n++}`;
        events = 0;
        sentAt = performance.now();
        ws.send(`["REQ","${subId}",${query.json}]`);
      };
      const complete = (now: number) => {
        ws.send(`["CLOSE","${subId}"]`);
        if (now < deadline) return sendNext();
        done = true;
        lastEnd = Math.max(lastEnd, now);
        if (--active === 0) finish();
      };
      const onMessage = (data: Buffer) => {
        if (done) return;
        const verb = verbOf(data);
        if (verb === Verb.Event) {
          events++;
          return;
        }
        if (verb === Verb.Eose) {
          if (eoseSubId(data) !== subId) return;
          const now = performance.now();
          const ms = now - sentAt;
          result.reqs++;
          result.events += events;
          result.latency.push(ms);
          const shape = result.shapes.get(query.shape)!;
          shape.latency.push(ms);
          shape.events += events;
          complete(now);
        } else if (verb === Verb.Closed) {
          const reason = frameField(data, 2).slice(0, 120);
          result.closed++;
          result.closedReasons[reason] = (result.closedReasons[reason] ?? 0) + 1;
          complete(performance.now());
        }
      };
      ws.on('message', onMessage);
      cleanups.push(() => ws.off('message', onMessage));
      sendNext();
    });
  });
}

runLoadMain<QueryArgs>(async (args) => {
  const queries = buildQueries(args.metaFile, args, 20_000);
  const { sockets, errors } = await connectMany(args.url, args.connections, args.connections);
  if (sockets.length === 0) throw new Error(`no connection: ${errors[0]}`);
  const warm = await runPhase(sockets, queries, args.warmupSec * 1000);
  await ready({ connections: sockets.length, warmupReqs: warm.reqs });
  const run = await runPhase(sockets, queries, args.durationSec * 1000);
  for (const ws of sockets) ws.terminate();
  const shapes: Record<string, unknown> = {};
  for (const [shape, stats] of run.shapes) {
    const s = stats.latency.summary();
    shapes[shape] = {
      reqs: s.count,
      avgEvents: s.count > 0 ? Math.round((stats.events / s.count) * 10) / 10 : 0,
      p50: roundSummary(s).p50,
      p99: roundSummary(s).p99,
      max: roundSummary(s).max,
    };
  }
  return {
    connections: sockets.length,
    connectErrors: errors.length,
    warmupReqs: warm.reqs,
    reqs: run.reqs,
    events: run.events,
    closed: run.closed,
    closedReasons: run.closedReasons,
    stuck: run.stuck,
    seconds: run.seconds,
    reqsPerSec: run.reqs / run.seconds,
    eventsPerSec: run.events / run.seconds,
    latencyMs: roundSummary(run.latency.summary()),
    shapes,
  };
});
