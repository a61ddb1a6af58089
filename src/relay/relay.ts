/**
 * The relay: owns the HTTP server, the WebSocket endpoint, the connections and their live
 * subscriptions, and the capabilities it was given (event store, access control, signature
 * verifier). Message handling lives in ./handlers, HTTP routes in ./http-routes.
 */

import type { BlockList } from 'node:net';
import type { AccessControl, AccessLevel } from '../acl/access-control.js';
import type { WritePolicy } from '../acl/policy/plugin-protocol.js';
import type { SignatureVerifier } from '../crypto/signature-verifier.js';
import { Reasons } from '../errors.js';
import type { Logger } from '../logger.js';
import { MemoryReclaimer } from '../memory-reclaimer.js';
import type { NegentropyGateway } from '../negentropy/gateway.js';
import type { NostrEvent } from '../protocol/event.js';
import { authFrame } from '../protocol/messages.js';
import { isVisibleTo } from '../protocol/visibility.js';
import type { EventStore } from '../store/event-store.js';
import type { ExpirationSweeper } from '../store/expiration-sweeper.js';
import type { RelayIdentity } from '../sync/identity/relay-identity.js';
import type { Replication } from '../sync/replication.js';
import type { RelayConfig } from './config.js';
import { Connection } from './connection.js';
import { ConnectionEvents } from './connection-events.js';
import { ConnectionGuard, refusalAnswer } from './connection-guard.js';
import { handleHttpRequest } from './http-routes.js';
import { ManagementEndpoint } from './management-endpoint.js';
import { MemoryGuard } from './memory-guard.js';
import { type GaugeSpec, RelayMetrics } from './metrics.js';
import { MetricsServer } from './metrics-endpoint.js';
import { QueryExecutor } from './query-executor.js';
import { queryPolicyOf } from './query-policy.js';
import { liveScope } from './query-scope.js';
import { authRelayUrls, managementUrls } from './relay-address.js';
import type { RelayContext } from './relay-context.js';
import { ReplicationHost } from './replication-host.js';
import { registerReplicationMetrics } from './replication-metrics.js';
import { warnWithoutPublicUrl } from './startup-warnings.js';
import type { Subscription } from './subscription.js';
import { SubscriptionIndex } from './subscription-index.js';
import type { ClientSocket } from './transport/client-socket.js';
import { createTransport } from './transport/create-transport.js';
import type { RequestHead } from './transport/http-exchange.js';
import type { SocketHandlers, TransportServer, UpgradeRequest } from './transport/transport.js';
import { clientAddress, trustedProxyList } from './trusted-proxies.js';

/** The abort reason of a finished subscription (abort() without one builds a DOMException with a stack each time). */
const SUBSCRIPTION_ENDED = Object.freeze({ reason: 'subscription ended' });

export interface RelayDeps {
  readonly config: RelayConfig;
  /** The WebSocket library, as resolveTransport() resolved ORLY_WS_TRANSPORT for this relay. */
  readonly transport: 'ws' | 'uws';
  readonly store: EventStore;
  readonly access: AccessControl;
  readonly verifier: SignatureVerifier;
  readonly logger: Logger;
  /** The NIP-40 purge, when it runs here (not with a remote orly-db, which purges itself). */
  readonly expirationSweeper?: ExpirationSweeper;
  /** NIP-77 sessions and their responder; undefined unless ORLY_NEGENTROPY_ENABLED. */
  readonly negentropy?: NegentropyGateway;
  /** Extra gauges on /metrics (e.g. the LMDB store's query workers). */
  readonly gauges?: readonly GaugeSpec[];
  /** ORLY_WRITE_POLICY_PLUGIN, started; asked about every EVENT, stopped with the relay. */
  readonly writePolicy?: WritePolicy;
  /** The relay's identity key (NIP-11 `self`; what it signs with towards peers). */
  readonly identity?: RelayIdentity;
  /** Replication services (distributed sync in process, or sync services' clients). */
  readonly replications?: readonly Replication[];
}

const PING_INTERVAL_MS = 30_000;

export class Relay implements RelayContext {
  readonly config: RelayConfig;
  readonly store: EventStore;
  readonly access: AccessControl;
  readonly writePolicy: WritePolicy | undefined;
  readonly identity: RelayIdentity | undefined;
  readonly replication: ReplicationHost;
  readonly verifier: SignatureVerifier;
  readonly logger: Logger;
  readonly metrics: RelayMetrics;
  readonly subscriptions = new SubscriptionIndex<Subscription>();
  readonly connections = new Set<Connection>();
  readonly restrictedKinds: ReadonlySet<number>;
  readonly startedAt = Date.now();
  /** NIP-77 sessions and their responder (local or orly-sync-negentropy); undefined unless enabled. */
  readonly negentropy: NegentropyGateway | undefined;
  /** The one path of REQ and COUNT to the store. */
  readonly queries: QueryExecutor;
  readonly memory: MemoryGuard;
  readonly managementApi: ManagementEndpoint;
  private readonly trustedProxies: BlockList;
  /** Connection and message limits per address and in total. */
  private readonly guard: ConnectionGuard;
  /** ORLY_RELAY_URL and ORLY_RELAY_ADDRESSES: the names NIP-42 `relay` tags may give. */
  private readonly publicUrls: readonly string[];
  /** HTTP and WebSocket on the relay's port (ORLY_WS_TRANSPORT). */
  private readonly transport: TransportServer;
  private readonly sweeper: ExpirationSweeper | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();
  /** The ORLY_METRICS_LISTEN server, when /metrics is served apart. */
  private readonly metricsServer: MetricsServer | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private unwatch: (() => void) | undefined;
  private stopping: Promise<void> | undefined;

  constructor(deps: RelayDeps) {
    this.config = deps.config;
    this.store = deps.store;
    this.access = deps.access;
    this.writePolicy = deps.writePolicy;
    this.identity = deps.identity;
    this.replication = new ReplicationHost(deps.replications ?? [], deps.logger);
    this.verifier = deps.verifier;
    this.memory = new MemoryGuard(
      deps.config.queries.memoryLimitBytes,
      undefined,
      new MemoryReclaimer(),
      () => this.queries.scheduler.active === 0 && this.queries.scheduler.queued === 0,
    );
    this.queries = new QueryExecutor(deps.store, {
      ...queryPolicyOf(deps.config, deps.access, deps.writePolicy),
      trustedReader: (authed) => this.replication.isTrusted(authed),
    });
    this.trustedProxies = trustedProxyList(deps.config.trustedProxies);
    this.guard = new ConnectionGuard(deps.config.edge);
    this.publicUrls = [
      ...(deps.config.relayUrl === undefined ? [] : [deps.config.relayUrl]),
      ...deps.config.relayAddresses,
    ];
    this.logger = deps.logger;
    this.managementApi = new ManagementEndpoint({
      access: deps.access,
      logger: deps.logger,
      clientIp: (req) => this.clientIp(req),
      requestUrls: (req) => this.requestUrls(req),
    });
    this.metrics = new RelayMetrics(deps.store);
    registerReplicationMetrics(this.metrics.registry, this.replication);
    this.restrictedKinds = new Set(deps.config.authRestrictedKinds);
    this.sweeper = deps.expirationSweeper;
    this.negentropy = deps.negentropy;
    if (this.negentropy)
      this.metrics.gauge(
        'orly_negentropy_sessions',
        'Open NIP-77 negentropy sessions',
        () => this.negentropy?.total ?? 0,
      );
    this.metrics.gauge(
      'orly_limited_addresses',
      'Entries in the per-address limit tables (open connections and token buckets)',
      () => this.guard.trackedAddresses,
    );
    for (const g of deps.gauges ?? []) this.metrics.gauge(g.name, g.help, g.read);
    this.metricsServer =
      deps.config.metrics.listen === undefined
        ? undefined
        : new MetricsServer(this.metrics, deps.config.metrics);
    const limit = deps.config.limits.maxMessageSize;
    this.transport = createTransport(
      deps.transport,
      {
        request: (exchange) => handleHttpRequest(this, exchange),
        upgrade: (request) => this.upgrade(request),
      },
      {
        // Messages up to twice the advertised limit are read and refused politely; beyond that, the socket closes (1009).
        maxPayload: Math.max(limit * 2, limit + 65_536),
        maxOutboundBuffer: deps.config.limits.maxOutboundBuffer,
      },
    );
  }

  /** Starts listening; resolves with the bound port. */
  async start(): Promise<number> {
    await this.transport.listen(this.config.listen, this.config.port);
    const metricsListen = this.config.metrics.listen;
    if (this.metricsServer !== undefined && metricsListen !== undefined) {
      const metricsPort = await this.metricsServer.start(metricsListen.host, metricsListen.port);
      this.logger.info({ listen: metricsListen.host, port: metricsPort }, 'metrics listening');
    }
    // Events stored by other relays sharing this database (split mode) reach our subscribers too.
    this.unwatch = this.store.watch?.((stored) => {
      this.broadcast(stored.event, stored.raw);
      if (stored.serial > 0) this.access.eventStored?.(stored.event);
    });
    this.pingTimer = setInterval(() => this.pingAll(), PING_INTERVAL_MS);
    this.pingTimer.unref();
    this.sweeper?.start();
    this.memory.start();
    this.negentropy?.start();
    await this.replication.start();
    const port = this.port;
    this.logger.info(
      { listen: this.config.listen, port, dataDir: this.config.dataDir, transport: this.transport.name },
      'relay listening',
    );
    warnWithoutPublicUrl(this.logger, this.config, this.publicUrls, this.restrictedKinds, port);
    return port;
  }

  get port(): number {
    return this.transport.port;
  }

  /** The port of the ORLY_METRICS_LISTEN server (0 when /metrics is on the relay's port). */
  get metricsPort(): number {
    return this.metricsServer?.port ?? 0;
  }

  /** Graceful stop: refuse new connections, NOTICE and close clients, let in-flight saves finish, close the store. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  private async doStop(): Promise<void> {
    this.logger.info({ connections: this.connections.size }, 'relay stopping');
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.unwatch?.();
    this.sweeper?.stop();
    this.memory.stop();
    await this.replication.stop();
    await this.negentropy?.stop();
    const closed = this.transport.close();
    const metricsClosed = this.metricsServer?.stop();
    for (const conn of this.connections) {
      for (const sub of conn.subscriptions.values()) sub.end(SUBSCRIPTION_ENDED);
      conn.close(1001, Reasons.shutdownNotice);
    }
    await Promise.race([Promise.allSettled([...this.inFlight]), delay(5000)]);
    this.transport.closeHttpConnections();
    await Promise.race([Promise.all([closed, metricsClosed]), delay(2000)]);
    for (const conn of this.connections) conn.socket.terminate();
    await this.sweeper?.idle();
    await this.verifier.close();
    await this.writePolicy?.stop();
    await this.access.close();
    await this.store.close();
    this.logger.info('relay stopped');
  }

  /** Tracks a promise that must settle before the store is closed (saves in flight). */
  track<T>(promise: Promise<T>): Promise<T> {
    this.inFlight.add(promise);
    promise.then(
      () => this.inFlight.delete(promise),
      () => this.inFlight.delete(promise),
    );
    return promise;
  }

  /**
   * Delivers a newly accepted event to every matching live subscription whose connection may
   * read it: restricted kinds need involvement, and with a write policy that scopes readers,
   * each connection's ReadScope is asked once per event (a relay without one pays nothing).
   */
  broadcast(event: NostrEvent, raw: string): void {
    const restricted = this.restrictedKinds.has(event.kind);
    const allowed = liveScope(this.writePolicy, event);
    let delivered = 0;
    this.subscriptions.forEachMatch(event, (sub) => {
      if (restricted && !isVisibleTo(event, sub.conn.authed) && !this.replication.isTrusted(sub.conn.authed))
        return;
      if (allowed !== undefined && !allowed(sub.conn)) return;
      if (sub.pending) {
        sub.pending.push({ id: event.id, raw });
        return;
      }
      if (sub.sendEvent(raw)) delivered++;
    });
    if (delivered > 0) this.metrics.deliveries.inc(delivered);
  }

  removeSubscription(sub: Subscription): void {
    sub.end(SUBSCRIPTION_ENDED);
    this.subscriptions.remove(sub);
    if (sub.conn.subscriptions.get(sub.id) === sub) {
      sub.conn.subscriptions.delete(sub.id);
      sub.conn.subscriptionBytes -= sub.weight;
    }
    this.metrics.subscriptions.set(this.subscriptions.size);
  }

  /** This request's absolute http(s) URLs on the relay's public names (NIP-98's `u`). */
  requestUrls(req: RequestHead): string[] {
    return managementUrls(req, authRelayUrls(req, this.publicUrls, this.port));
  }

  /** The client's address (trusted-proxies.ts clientAddress: X-Forwarded-For only from a trusted proxy). */
  clientIp(req: RequestHead): string {
    return clientAddress(req, this.trustedProxies);
  }

  private upgrade(request: UpgradeRequest): void {
    const path = request.url.split('?')[0];
    if (path !== '/' || this.isStopping) {
      request.refuse(this.isStopping ? 503 : 404, {}, '');
      return;
    }
    if (this.memory.overloaded) {
      this.metrics.rateLimited.labels('memory').inc();
      request.refuse(503, { 'Retry-After': '10' }, '');
      return;
    }
    const ip = this.clientIp(request);
    const level = this.access.accessLevel(undefined, ip);
    if (level instanceof Promise)
      void level.then(
        (answer) => this.admit(request, ip, answer),
        () => this.admit(request, ip, 'none'),
      );
    else this.admit(request, ip, level);
  }

  /** Past the access check: a blocked address gets 403; then the connection limits (connection-guard.ts). */
  private admit(request: UpgradeRequest, ip: string, level: AccessLevel): void {
    if (request.finished) return;
    if (level === 'blocked') {
      this.metrics.rateLimited.labels('blocked-ip').inc();
      request.refuse(403, {}, '');
      return;
    }
    const refusal = this.guard.admit(ip);
    if (refusal !== undefined) {
      this.metrics.rateLimited.labels(refusal.limit).inc();
      this.logger.debug({ ip, limit: refusal.limit }, 'upgrade refused');
      const answer = refusalAnswer(refusal);
      request.refuse(answer.status, answer.headers, answer.body);
      return;
    }
    // The transport opens the socket before accept() returns: admit() and opened() see the same count.
    request.accept((socket) => this.accept(socket, request, ip));
  }

  private accept(socket: ClientSocket, request: RequestHead, ip: string): SocketHandlers {
    const relayUrls = authRelayUrls(request, this.publicUrls, this.port);
    const limiter = this.guard.opened(ip);
    const conn = new Connection(socket, ip, relayUrls, limiter, this.config.limits.maxOutboundBuffer, (c) =>
      this.logger.warn({ conn: c.id, ip: c.ip }, 'closed slow reader'),
    );
    this.connections.add(conn);
    this.metrics.connections.inc();
    conn.send(authFrame(conn.challenge));
    return new ConnectionEvents(this, conn, this.onDisconnected);
  }

  /** One function for every connection's ConnectionEvents. */
  private readonly onDisconnected = (conn: Connection): void => this.disconnected(conn);

  private disconnected(conn: Connection): void {
    if (!this.connections.delete(conn)) return;
    conn.closed = true;
    this.guard.closed(conn.ip);
    for (const sub of conn.subscriptions.values()) {
      sub.end(SUBSCRIPTION_ENDED);
      this.subscriptions.remove(sub);
    }
    conn.subscriptions.clear();
    conn.subscriptionBytes = 0;
    conn.markGone(SUBSCRIPTION_ENDED);
    this.negentropy?.disconnect(conn);
    this.metrics.connections.dec();
    this.metrics.subscriptions.set(this.subscriptions.size);
  }

  private pingAll(): void {
    this.guard.sweep();
    for (const conn of this.connections) {
      if (!conn.alive) {
        conn.socket.terminate();
        continue;
      }
      conn.alive = false;
      conn.socket.ping();
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
