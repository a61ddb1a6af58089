/**
 * Fan-out load: S subscriber connections each with REQ {"kinds":[1]} on a fresh relay, and
 * one publisher connection in the same process, so send and receive times share a clock.
 * Mode "rate" publishes at a fixed rate; mode "max" publishes as fast as OKs allow (a
 * window of EVENTs in flight). Events are signed with created_at = now before timing starts.
 * Each delivery's latency is receive time minus the time its EVENT was sent.
 *
 * Args: url, subscribers, mode, rate, durationSec, window, maxEvents, warmupEvents,
 * connectConcurrency, drainSec; subscribeUrl (optional: the subscribers on another relay, e.g.
 * a replica, so the latency is replication lag plus delivery).
 */
import { serializeEvent } from '../src/protocol/event.js';
import { ready, runLoadMain } from './load-protocol.js';
import { Rng } from './rng.js';
import { deriveKeyPair, signEvent } from './signer.js';
import { RateBuckets, roundSummary, Samples } from './stats.js';
import {
  connect,
  connectMany,
  eventIdOf,
  okAccepted,
  okId,
  Verb,
  verbOf,
  type WebSocket,
  waitForFrame,
} from './ws-client.js';

interface FanoutArgs {
  url: string;
  subscribeUrl?: string;
  subscribers: number;
  mode: 'rate' | 'max';
  rate: number;
  durationSec: number;
  window: number;
  maxEvents: number;
  warmupEvents: number;
  connectConcurrency: number;
  drainSec: number;
  seed: number;
  hardTimeoutSec: number;
}

const SUB_ID = 'f';
const REQ = `["REQ","${SUB_ID}",{"kinds":[1]}]`;

function signBatch(count: number, seed: number): { frames: string[]; ids: string[] } {
  const keys = deriveKeyPair(`fanout-publisher-${seed}`);
  const rng = new Rng(seed);
  const now = Math.floor(Date.now() / 1000);
  const frames: string[] = [];
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const words = Array.from({ length: rng.int(10, 30) }, () =>
      rng.pick(['gm', 'relay', 'fan-out', 'latency', 'nostr']),
    );
    const event = signEvent(keys, {
      created_at: now,
      kind: 1,
      tags: [['t', 'orlybench']],
      content: `#${i} ${words.join(' ')}`,
    });
    frames.push(`["EVENT",${serializeEvent(event)}]`);
    ids.push(event.id);
  }
  return { frames, ids };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

runLoadMain<FanoutArgs>(async (args) => {
  const planned = args.mode === 'rate' ? Math.ceil(args.rate * args.durationSec) : args.maxEvents;
  const total = args.warmupEvents + planned;
  const { frames, ids } = signBatch(total, args.seed);
  const indexOf = new Map<string, number>();
  for (let i = 0; i < ids.length; i++) indexOf.set(ids[i]!, i);
  const sentAt = new Float64Array(total);

  // Subscribers.
  let recording = false;
  let deliveries = 0;
  let recordedDeliveries = 0;
  let lastDeliveryAt = 0;
  let closedSubscribers = 0;
  let notices = 0;
  const latency = new Samples(1 << 20);
  let buckets = new RateBuckets(0);
  const onDelivery = (data: Buffer) => {
    const verb = verbOf(data);
    if (verb !== Verb.Event) {
      if (verb === Verb.Notice || verb === Verb.Closed) notices++;
      return;
    }
    const i = indexOf.get(eventIdOf(data, SUB_ID.length));
    if (i === undefined) return;
    const now = performance.now();
    deliveries++;
    if (!recording || i < args.warmupEvents) return;
    recordedDeliveries++;
    lastDeliveryAt = now;
    latency.push(now - sentAt[i]!);
    buckets.add(now);
  };
  const started = performance.now();
  const { sockets: subscribers, errors } = await connectMany(
    args.subscribeUrl ?? args.url,
    args.subscribers,
    args.connectConcurrency,
    async (ws) => {
      const eose = waitForFrame(ws, (f) => verbOf(f) === Verb.Eose || verbOf(f) === Verb.Closed, 30_000);
      ws.send(REQ);
      const frame = await eose;
      if (verbOf(frame) === Verb.Closed) throw new Error(`REQ refused: ${frame.toString().slice(0, 200)}`);
      ws.on('message', onDelivery);
      ws.on('close', () => closedSubscribers++);
    },
  );
  const connectSeconds = (performance.now() - started) / 1000;
  if (subscribers.length === 0) throw new Error(`no subscriber connected: ${errors[0]}`);

  // Publisher.
  const publisher: WebSocket = await connect(args.url);
  let sent = 0;
  let acked = 0;
  let accepted = 0;
  let sendLimit = args.warmupEvents;
  let sendOpen = true;
  const okLatency = new Samples(planned);
  let onAck: () => void = () => {};
  const sendOne = () => {
    if (sent >= sendLimit || !sendOpen) return false;
    sentAt[sent] = performance.now();
    publisher.send(frames[sent]!);
    sent++;
    return true;
  };
  publisher.on('message', (data: Buffer) => {
    if (verbOf(data) !== Verb.Ok) return;
    const i = indexOf.get(okId(data));
    if (i === undefined) return;
    acked++;
    if (okAccepted(data)) accepted++;
    if (i >= args.warmupEvents) okLatency.push(performance.now() - sentAt[i]!);
    onAck();
  });
  const waitUntil = async (condition: () => boolean, timeoutMs: number) => {
    const deadline = performance.now() + timeoutMs;
    while (!condition() && performance.now() < deadline) await delay(5);
  };

  // Warm-up: a few events through the whole path, untimed.
  onAck = () => void sendOne();
  for (let k = 0; k < Math.min(args.window, args.warmupEvents); k++) sendOne();
  await waitUntil(
    () => acked >= args.warmupEvents && deliveries >= args.warmupEvents * subscribers.length,
    15_000,
  );
  const warmupDeliveries = deliveries;

  await ready({ subscribers: subscribers.length, connectSeconds, warmupDeliveries });

  // Timed phase.
  recording = true;
  sendLimit = total;
  const t0 = performance.now();
  buckets = new RateBuckets(t0);
  const sendDeadline = t0 + args.durationSec * 1000;
  if (args.mode === 'rate') {
    onAck = () => {};
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const now = performance.now();
        const due = Math.min(total, args.warmupEvents + Math.floor(((now - t0) / 1000) * args.rate));
        while (sent < due) sendOne();
        if (sent >= total || now >= sendDeadline + 1000) {
          clearInterval(timer);
          resolve();
        }
      }, 2);
    });
  } else {
    onAck = () => {
      if (performance.now() < sendDeadline) sendOne();
    };
    for (let k = 0; k < args.window; k++) sendOne();
    await waitUntil(() => performance.now() >= sendDeadline || sent >= total, args.durationSec * 1000 + 5000);
  }
  sendOpen = false;
  const sendSeconds = (performance.now() - t0) / 1000;
  const published = sent - args.warmupEvents;
  const expected = published * subscribers.length;
  await waitUntil(() => acked >= sent && recordedDeliveries >= expected, args.drainSec * 1000);
  publisher.terminate();
  for (const ws of subscribers) ws.terminate();

  const deliverySeconds = Math.max(sendSeconds, (lastDeliveryAt - t0) / 1000);
  const perSecond = buckets.completeSeconds();
  return {
    mode: args.mode,
    subscribers: subscribers.length,
    connectErrors: errors.length,
    connectErrorSample: errors.slice(0, 3),
    connectSeconds,
    warmupDeliveries,
    published,
    acked: acked - args.warmupEvents,
    accepted: accepted - args.warmupEvents,
    exhausted: args.mode === 'max' && sent >= total,
    sendSeconds,
    publishedPerSec: published / sendSeconds,
    deliveries: recordedDeliveries,
    expectedDeliveries: expected,
    missingDeliveries: expected - recordedDeliveries,
    closedSubscribers,
    notices,
    deliverySeconds,
    deliveriesPerSec: recordedDeliveries / deliverySeconds,
    perSecond,
    latencyMs: roundSummary(latency.summary()),
    okLatencyMs: roundSummary(okLatency.summary()),
  };
});
