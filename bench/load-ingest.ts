/**
 * Ingest load: publishes pre-signed events from the dataset over several connections, each
 * keeping a window of EVENTs awaiting their OK. Frames are built before timing starts; OK
 * frames are read by slicing (id, true/false), never parsed unless they are rejections.
 *
 * Args: url (or urls: the connections spread over several relays, round-robin), file (dataset
 * JSONL), warmup (first N lines, published untimed), count (next lines, timed), connections,
 * window, timeLimitSec.
 */
import { idOfLine, readDatasetLines } from './dataset.js';
import { ready, runLoadMain } from './load-protocol.js';
import { RateBuckets, roundSummary, Samples } from './stats.js';
import { connectMany, frameField, okAccepted, okId, Verb, verbOf, type WebSocket } from './ws-client.js';

interface IngestArgs {
  url: string;
  urls?: string[];
  file: string;
  warmup: number;
  count: number;
  connections: number;
  window: number;
  timeLimitSec: number;
  hardTimeoutSec: number;
}

interface PhaseResult {
  sent: number;
  acked: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  rejections: Record<string, number>;
  startMs: number;
  endMs: number;
  timedOut: boolean;
  closedConnections: number;
  /** OKs per complete second. */
  perSecond: number[];
}

/** Publishes frames[from..to) round-robin over the sockets with a per-socket window. */
function publish(
  sockets: WebSocket[],
  frames: string[],
  indexOf: Map<string, number>,
  from: number,
  to: number,
  window: number,
  timeLimitMs: number,
  latency: Samples | undefined,
): Promise<PhaseResult> {
  const sentAt = new Float64Array(frames.length);
  const result: PhaseResult = {
    sent: 0,
    acked: 0,
    accepted: 0,
    duplicates: 0,
    rejected: 0,
    rejections: {},
    startMs: performance.now(),
    endMs: 0,
    timedOut: false,
    closedConnections: 0,
    perSecond: [],
  };
  const total = to - from;
  const buckets = new RateBuckets(result.startMs);
  return new Promise((resolve) => {
    let finished = false;
    const finish = (timedOut: boolean) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      result.endMs = performance.now();
      result.timedOut = timedOut;
      result.perSecond = buckets.completeSeconds();
      for (const ws of sockets) {
        ws.off('message', handlers.get(ws)!);
        ws.off('close', onClose);
      }
      resolve(result);
    };
    const timer = setTimeout(() => finish(true), timeLimitMs);
    const onClose = () => {
      result.closedConnections++;
      if (result.closedConnections === sockets.length) finish(true);
    };
    const handlers = new Map<WebSocket, (data: Buffer) => void>();
    sockets.forEach((ws, c) => {
      // Connection c publishes indexes from + c, from + c + n, ...
      let nextIndex = from + c;
      const step = sockets.length;
      const sendNext = () => {
        if (nextIndex >= to || finished) return;
        const i = nextIndex;
        nextIndex += step;
        sentAt[i] = performance.now();
        result.sent++;
        ws.send(frames[i]!);
      };
      const onMessage = (data: Buffer) => {
        if (verbOf(data) !== Verb.Ok) return;
        const now = performance.now();
        const i = indexOf.get(okId(data));
        if (i === undefined) return;
        result.acked++;
        if (okAccepted(data)) {
          // "duplicate:" OKs are true but mean nothing was stored.
          if (data[77] === 0x2c && data[79] === 0x64) result.duplicates++;
          else result.accepted++;
        } else {
          result.rejected++;
          const message = frameField(data, 3).slice(0, 120);
          result.rejections[message] = (result.rejections[message] ?? 0) + 1;
        }
        latency?.push(now - sentAt[i]!);
        buckets.add(now);
        if (result.acked === total) finish(false);
        else sendNext();
      };
      handlers.set(ws, onMessage);
      ws.on('message', onMessage);
      ws.on('close', onClose);
      for (let k = 0; k < window; k++) sendNext();
    });
    if (total === 0) finish(false);
  });
}

runLoadMain<IngestArgs>(async (args) => {
  const lines = readDatasetLines(args.file);
  const end = Math.min(lines.length, args.warmup + args.count);
  if (end < args.warmup + args.count)
    throw new Error(`dataset has ${lines.length} events, need ${args.warmup + args.count}`);
  const frames = lines.slice(0, end).map((line) => `["EVENT",${line}]`);
  const indexOf = new Map<string, number>();
  for (let i = 0; i < end; i++) indexOf.set(idOfLine(lines[i]!), i);
  const urls = args.urls ?? [args.url];
  const sockets: WebSocket[] = [];
  const errors: string[] = [];
  for (let u = 0; u < urls.length; u++) {
    const share = Math.floor(args.connections / urls.length) + (u < args.connections % urls.length ? 1 : 0);
    const some = await connectMany(urls[u]!, share, share);
    sockets.push(...some.sockets);
    errors.push(...some.errors);
  }
  if (sockets.length === 0) throw new Error(`no connection: ${errors[0]}`);
  const warm = await publish(sockets, frames, indexOf, 0, args.warmup, args.window, 60_000, undefined);
  await ready({ connections: sockets.length, warmupAcked: warm.acked, warmupRejected: warm.rejected });
  const latency = new Samples(args.count);
  const run = await publish(
    sockets,
    frames,
    indexOf,
    args.warmup,
    end,
    args.window,
    args.timeLimitSec * 1000,
    latency,
  );
  for (const ws of sockets) ws.terminate();
  const seconds = (run.endMs - run.startMs) / 1000;
  const perSecond = run.perSecond;
  return {
    connections: sockets.length,
    connectErrors: errors.length,
    window: args.window,
    warmup: { acked: warm.acked, rejected: warm.rejected, timedOut: warm.timedOut },
    sent: run.sent,
    acked: run.acked,
    accepted: run.accepted,
    duplicates: run.duplicates,
    rejected: run.rejected,
    rejections: run.rejections,
    timedOut: run.timedOut,
    closedConnections: run.closedConnections,
    seconds,
    acceptedPerSec: run.accepted / seconds,
    ackedPerSec: run.acked / seconds,
    minSecondRate: perSecond.length > 0 ? Math.min(...perSecond) : undefined,
    perSecond,
    latencyMs: roundSummary(latency.summary()),
  };
});
