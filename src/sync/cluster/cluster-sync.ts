/**
 * Cluster replication (ORLY's orly-sync-cluster, made to work): high-availability replication
 * between the relays a cluster admin names in a membership event (kind 39108, d=membership, one
 * `relay` tag per member; only ORLY_CLUSTER_ADMINS count; membership.ts). Every member pulls
 * from every other: a live subscription and a serial poll of GET /cluster/latest and
 * /cluster/events (PeerLink with the cluster feed), progress kept per member in the store
 * (`sync.cluster.peer.`); a member removed from the membership stops replicating and its progress
 * is forgotten. This relay serves the same endpoints to the members (cluster-endpoints.ts).
 *
 * Privileged events (the relay's restricted kinds): with ORLY_CLUSTER_PROPAGATE_PRIVILEGED_EVENTS
 * on, members' identities are trusted readers (trustedReaders(): the relay serves them the
 * restricted kinds on their NIP-42-authenticated connections) and the listing includes them; off,
 * neither — DMs and gift wraps stay on the relay that received them.
 *
 * The membership is read from the store at start and re-read whenever a kind 39108 is stored
 * (notifyNewEvent: published here, or replicated from a member) and on refreshMembership(). The
 * operator may override the member list (updateMembership, membership-override.ts) until the next
 * membership event. Runs in the relay's process (ORLY_SYNC_TYPE=local) or inside
 * orly-sync-cluster (services/sync-cluster/, whose gRPC client is GrpcClusterSync).
 */
import type { Logger } from '../../logger.js';
import { checkEventShape, computeEventId, type NostrEvent, nip01Event } from '../../protocol/event.js';
import { ReplayGuard } from '../../protocol/nip98.js';
import type { DistributedSyncDeps } from '../distributed/distributed-sync.js';
import { ProgressStore } from '../distributed/progress.js';
import { httpUrlOf, PeerDirectory, wsUrlOf } from '../identity/peer-directory.js';
import type { RelayIdentity } from '../identity/relay-identity.js';
import { PeerLinks } from '../peer-links.js';
import type { ReplicationStatus, SyncHttpRequest, SyncHttpResponse } from '../replication.js';
import type { ClusterConfig } from './cluster-config.js';
import {
  EVENTS_PATH,
  type EventsRange,
  handleClusterRequest,
  LATEST_PATH,
  listEventsRange,
} from './cluster-endpoints.js';
import { clusterFeed } from './cluster-feed.js';
import { DEFAULT_RANGE_LIMIT, MAX_RANGE_LIMIT } from './cluster-http.js';
import {
  type ClusterMemberStatus,
  ClusterRangeError,
  type ClusterReplication,
  type ClusterStatus,
  type MembershipOutcome,
} from './cluster-replication.js';
import {
  MEMBERSHIP_D_TAG,
  MEMBERSHIP_KIND,
  type Membership,
  newestMembership,
  parseMembershipEvent,
} from './membership.js';
import {
  loadOverride,
  type MembershipOverride,
  parseOverrideUrls,
  saveOverride,
} from './membership-override.js';

const PROGRESS_PREFIX = 'sync.cluster.peer.';
const TIMEOUT_MS = 30_000;
const TRUSTED_REFRESH_MS = 5000;

/** Distributed sync's dependencies, and the kinds kept home when privileged events do not propagate. */
export interface ClusterSyncDeps extends DistributedSyncDeps {
  /** The relay's restricted kinds (ORLY_AUTH_RESTRICTED_KINDS). */
  readonly restrictedKinds: ReadonlySet<number>;
}

export class ClusterSync implements ClusterReplication {
  readonly name = 'cluster';
  readonly paths = [LATEST_PATH, EVENTS_PATH];
  private readonly admins: ReadonlySet<string>;
  private readonly directory: PeerDirectory;
  private readonly members: PeerLinks;
  private readonly replay = new ReplayGuard();
  private readonly logger: Logger;
  private readonly unlisted: ReadonlySet<number>;
  private membership: Membership | undefined;
  private override: MembershipOverride | undefined;
  private applied = '';
  private trusted: ReadonlySet<string> = new Set();
  private trustedAt = 0;
  private changes: Promise<void> = Promise.resolve();

  constructor(
    private readonly config: ClusterConfig,
    private readonly deps: ClusterSyncDeps,
  ) {
    this.admins = new Set(config.admins);
    this.directory = deps.directory ?? new PeerDirectory();
    this.logger = deps.logger.child({ component: 'cluster-sync' });
    this.unlisted = config.propagatePrivileged ? new Set() : deps.restrictedKinds;
    this.members = new PeerLinks({
      identity: deps.identity,
      relayUrl: config.relayUrl === undefined ? '' : (httpUrlOf(config.relayUrl) ?? ''),
      directory: this.directory,
      progress: new ProgressStore(deps.store, PROGRESS_PREFIX),
      ingest: deps.ingest,
      store: deps.store,
      logger: this.logger,
      intervalMs: config.intervalMs,
      live: config.live,
      feed: (url: string, identity: RelayIdentity) => clusterFeed(url, identity, TIMEOUT_MS),
    });
  }

  async start(): Promise<void> {
    this.override = await loadOverride(this.deps.store);
    await this.reload();
    this.members.start();
    this.logger.info(
      { members: this.members.urls.length, propagatePrivileged: this.config.propagatePrivileged },
      'cluster replication started',
    );
  }

  async stop(): Promise<void> {
    await this.changes;
    await this.members.stop();
  }

  async setPolling(on: boolean): Promise<boolean> {
    if (on) await this.members.resume();
    else await this.members.stop();
    this.logger.info({ polling: this.members.running }, on ? 'polling resumed' : 'polling paused');
    return this.members.running;
  }

  handleHttp(request: SyncHttpRequest): Promise<SyncHttpResponse> {
    return handleClusterRequest(
      {
        store: this.deps.store,
        members: () => this.members.identities(),
        replay: this.replay,
        unlisted: this.unlisted,
      },
      request,
    );
  }

  notifyNewEvent(_serial: number, event?: NostrEvent): void {
    if (event?.kind !== MEMBERSHIP_KIND || !this.admins.has(event.pubkey)) return;
    void this.refreshMembership();
  }

  /** Re-reads the membership from the store (after a change the change feed may have missed). */
  refreshMembership(): Promise<void> {
    return this.enqueue(() => this.reload()).catch((err: Error) =>
      this.logger.warn({ err: err.message }, 'membership reload failed'),
    );
  }

  /** Members' identities (when privileged events propagate); refreshed in the background every few seconds. */
  trustedReaders(): ReadonlySet<string> {
    if (this.config.propagatePrivileged && Date.now() - this.trustedAt > TRUSTED_REFRESH_MS) {
      this.trustedAt = Date.now();
      void this.members.identities().then((ids) => {
        this.trusted = ids;
      });
    }
    return this.trusted;
  }

  /** The members' progress (this relay, found among them by identity, excluded). */
  async status(): Promise<ReplicationStatus> {
    return {
      nodeId: this.deps.identity.pubkey,
      currentSerial: await this.deps.store.lastSerial(),
      peers: this.members.statuses().filter((s) => s.status !== 'self'),
    };
  }

  async listMembers(): Promise<ClusterMemberStatus[]> {
    return this.members
      .statuses()
      .filter((s) => s.status !== 'self')
      .map((s) => ({ ...s, wsUrl: this.members.wsUrlOf(s.url) ?? wsUrlOf(s.url) ?? '' }));
  }

  async updateMembership(httpUrls: readonly string[]): Promise<ClusterMemberStatus[]> {
    const urls = parseOverrideUrls(httpUrls);
    await this.enqueue(async () => {
      this.override = { urls, base: this.membership?.eventId ?? '' };
      await saveOverride(this.deps.store, this.override);
      this.logger.warn({ members: urls }, "the operator's member list overrides the membership event");
      await this.reload();
    });
    return this.listMembers();
  }

  async handleMembershipEvent(value: NostrEvent): Promise<MembershipOutcome> {
    const refused = (error: string): MembershipOutcome => ({ accepted: false, applied: false, error });
    const shape = checkEventShape(value);
    if (shape !== undefined) return refused(`invalid: ${shape}`);
    const event = nip01Event(value);
    if (computeEventId(event) !== event.id) return refused('invalid: event id does not match');
    const parsed = parseMembershipEvent(event, this.admins);
    if (!parsed.ok) return refused(parsed.error);
    if (!(await this.deps.ingest.verifier.verify(event.id, event.pubkey, event.sig)))
      return refused('invalid: signature verification failed');
    // Stored (a duplicate when the relay stored it already), so every path reads the same newest.
    const saved = await this.deps.ingest.store.save(event);
    if (saved.stored) await this.enqueue(() => this.reload());
    const applied = this.override === undefined && this.membership?.eventId === event.id;
    return { accepted: true, applied, error: '' };
  }

  async clusterStatus(): Promise<ClusterStatus> {
    const trusted = this.config.propagatePrivileged ? await this.members.identities() : new Set<string>();
    return {
      nodeId: this.deps.identity.pubkey,
      latestSerial: await this.deps.store.lastSerial(),
      propagatePrivileged: this.config.propagatePrivileged,
      members: await this.listMembers(),
      trustedReaders: [...trusted].sort(),
    };
  }

  async memberStatus(url: string): Promise<ClusterMemberStatus | undefined> {
    const key = httpUrlOf(url);
    return (await this.listMembers()).find((m) => m.url === key);
  }

  latestSerial(): Promise<number> {
    return this.deps.store.lastSerial();
  }

  async eventsInRange(from: number, to: number, limit: number): Promise<EventsRange> {
    const count = limit === 0 ? DEFAULT_RANGE_LIMIT : limit;
    if (to < from) throw new ClusterRangeError(`to (${to}) is below from (${from})`);
    if (!Number.isSafeInteger(count) || count < 1 || count > MAX_RANGE_LIMIT)
      throw new ClusterRangeError(
        `limit must be between 1 and ${MAX_RANGE_LIMIT} (0 = ${DEFAULT_RANGE_LIMIT})`,
      );
    return listEventsRange({ store: this.deps.store, unlisted: this.unlisted }, from, to, count);
  }

  /** The membership in force: its members' http URLs, the event it came from. */
  get current(): Membership | undefined {
    return this.membership;
  }

  /** The members this relay replicates with (http URLs; itself excluded). */
  get peerUrls(): string[] {
    return this.members.urls;
  }

  pollAll(): Promise<void> {
    return this.members.pollAll();
  }

  /** Runs a change of the membership after the ones before it. */
  private enqueue(change: () => Promise<void>): Promise<void> {
    const next = this.changes.then(change);
    this.changes = next.catch(() => undefined);
    return next;
  }

  /** Reads the newest valid membership from the store and applies it (or the operator's override). */
  private async reload(): Promise<void> {
    const membership = await this.newestStored();
    if (this.override !== undefined && this.override.base !== (membership?.eventId ?? '')) {
      this.logger.info(
        { event: membership?.eventId },
        "a newer membership event ends the operator's override",
      );
      this.override = undefined;
      await saveOverride(this.deps.store, undefined);
    }
    this.membership = membership;
    const urls = this.override?.urls ?? (membership?.members ?? []).map((m) => m.httpUrl);
    // The membership names each member's WebSocket URL; the override gives http URLs only.
    const wsUrls = new Map(
      this.override === undefined ? (membership?.members ?? []).map((m) => [m.httpUrl, m.wsUrl]) : [],
    );
    const key = JSON.stringify([this.override === undefined ? membership?.eventId : 'override', urls]);
    if (key === this.applied) return;
    this.applied = key;
    await this.members.set(urls, wsUrls);
    this.trusted = this.config.propagatePrivileged ? await this.members.identities() : new Set();
    this.trustedAt = Date.now();
    this.logger.info(
      { members: urls, event: membership?.eventId, override: this.override !== undefined },
      'cluster membership applied',
    );
  }

  private async newestStored(): Promise<Membership | undefined> {
    if (this.admins.size === 0) return undefined;
    const events: NostrEvent[] = [];
    for await (const stored of this.deps.store.query({
      kinds: [MEMBERSHIP_KIND],
      authors: [...this.admins],
      tags: new Map([['d', [MEMBERSHIP_D_TAG]]]),
      limit: 100,
    }))
      events.push(stored.event);
    return newestMembership(events, this.admins);
  }
}
