/** Prometheus metrics of the relay (prom-client), served at GET /metrics. */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { StoreAdmin } from '../store/event-store.js';

export class RelayMetrics {
  readonly registry = new Registry();
  readonly connections: Gauge;
  readonly subscriptions: Gauge;
  readonly messages: Counter<'verb'>;
  readonly events: Counter<'result'>;
  readonly deliveries: Counter;
  /** Refusals at the edge, by limit (connection-guard.ts). */
  readonly rateLimited: Counter<'limit'>;
  readonly queryDuration: Histogram;
  private readonly messageByVerb = new Map<string, Counter.Internal>();

  constructor(store: StoreAdmin) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'orly_' });
    this.connections = new Gauge({ name: 'orly_connections', help: 'Open WebSocket connections', registers });
    this.subscriptions = new Gauge({ name: 'orly_subscriptions', help: 'Open REQ subscriptions', registers });
    this.messages = new Counter({
      name: 'orly_messages_total',
      help: 'Client messages received, by verb',
      labelNames: ['verb'],
      registers,
    });
    this.events = new Counter({
      name: 'orly_events_total',
      help: 'EVENT outcomes: accepted, duplicate, ephemeral, or the rejection prefix',
      labelNames: ['result'],
      registers,
    });
    this.deliveries = new Counter({
      name: 'orly_live_deliveries_total',
      help: 'Events delivered to live subscriptions',
      registers,
    });
    this.rateLimited = new Counter({
      name: 'orly_rate_limited_total',
      help: 'Upgrades and messages refused by a limit: connections, connections_per_ip, upgrades_per_ip, event, event_per_ip, req, req_per_ip',
      labelNames: ['limit'],
      registers,
    });
    this.queryDuration = new Histogram({
      name: 'orly_query_duration_seconds',
      help: 'REQ latency from receipt to EOSE',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    // Registered in this order so the collector (on the first) refreshes the other two first.
    const storeBytes = new Gauge({
      name: 'orly_store_bytes',
      help: 'Size of the store on disk',
      registers: [],
    });
    const lastSerial = new Gauge({
      name: 'orly_store_last_serial',
      help: 'Serial of the newest stored event',
      registers: [],
    });
    const storeEvents = new Gauge({
      name: 'orly_store_events',
      help: 'Events in the store',
      registers,
      async collect() {
        if (!store.isOpen()) return;
        const stats = await store.stats();
        this.set(stats.events);
        storeBytes.set(stats.bytes);
        lastSerial.set(stats.lastSerial);
      },
    });
    void storeEvents;
    this.registry.registerMetric(storeBytes);
    this.registry.registerMetric(lastSerial);
  }

  /** A gauge read at scrape time (e.g. a pool's or a session table's current size). */
  gauge(name: string, help: string, read: () => number): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }

  message(verb: string): void {
    let child = this.messageByVerb.get(verb);
    if (!child) {
      child = this.messages.labels(verb);
      this.messageByVerb.set(verb, child);
    }
    child.inc();
  }
}

/** A gauge read when /metrics is scraped. */
export interface GaugeSpec {
  readonly name: string;
  readonly help: string;
  readonly read: () => number;
}
