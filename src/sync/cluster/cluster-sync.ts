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
 * (notifyNewEvent: published here, or replicated from a member).
 */
import type { Logger } from '../../logger.js';
import type { NostrEvent } from '../../protocol/event.js';
import { ReplayGuard } from '../../protocol/nip98.js';
import type { DistributedSyncDeps } from '../distributed/distributed-sync.js';
import { ProgressStore } from '../distributed/progress.js';
import { httpUrlOf, PeerDirectory } from '../identity/peer-directory.js';
import type { RelayIdentity } from '../identity/relay-identity.js';
import { PeerLinks } from '../peer-links.js';
import type { Replication, ReplicationStatus, SyncHttpRequest, SyncHttpResponse } from '../replication.js';
import type { ClusterConfig } from './cluster-config.js';
import { EVENTS_PATH, handleClusterRequest, LATEST_PATH } from './cluster-endpoints.js';
import { clusterFeed } from './cluster-feed.js';
import { MEMBERSHIP_D_TAG, MEMBERSHIP_KIND, type Membership, newestMembership } from './membership.js';

const PROGRESS_PREFIX = 'sync.cluster.peer.';
const TIMEOUT_MS = 30_000;
const TRUSTED_REFRESH_MS = 5000;

/** Distributed sync's dependencies, and the kinds kept home when privileged events do not propagate. */
export interface ClusterSyncDeps extends DistributedSyncDeps {
  /** The relay's restricted kinds (ORLY_AUTH_RESTRICTED_KINDS). */
  readonly restrictedKinds: ReadonlySet<number>;
}

export class ClusterSync implements Replication {
  readonly name = 'cluster';
  readonly paths = [LATEST_PATH, EVENTS_PATH];
  private readonly admins: ReadonlySet<string>;
  private readonly directory: PeerDirectory;
  private readonly members: PeerLinks;
  private readonly replay = new ReplayGuard();
  private readonly logger: Logger;
  private membership: Membership | undefined;
  private trusted: ReadonlySet<string> = new Set();
  private trustedAt = 0;
  private reloading: Promise<void> = Promise.resolve();

  constructor(
    private readonly config: ClusterConfig,
    private readonly deps: ClusterSyncDeps,
  ) {
    this.admins = new Set(config.admins);
    this.directory = deps.directory ?? new PeerDirectory();
    this.logger = deps.logger.child({ component: 'cluster-sync' });
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
    await this.reload();
    this.members.start();
    this.logger.info(
      { members: this.members.urls.length, propagatePrivileged: this.config.propagatePrivileged },
      'cluster replication started',
    );
  }

  async stop(): Promise<void> {
    await this.reloading;
    await this.members.stop();
  }

  handleHttp(request: SyncHttpRequest): Promise<SyncHttpResponse> {
    return handleClusterRequest(
      {
        store: this.deps.store,
        members: () => this.members.identities(),
        replay: this.replay,
        unlisted: this.config.propagatePrivileged ? new Set() : this.deps.restrictedKinds,
      },
      request,
    );
  }

  notifyNewEvent(_serial: number, event?: NostrEvent): void {
    if (event?.kind !== MEMBERSHIP_KIND || !this.admins.has(event.pubkey)) return;
    const next = this.reloading.then(() => this.reload());
    this.reloading = next.catch((err: Error) =>
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

  async status(): Promise<ReplicationStatus> {
    return {
      nodeId: this.deps.identity.pubkey,
      currentSerial: await this.deps.store.lastSerial(),
      peers: this.members.statuses(),
    };
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

  /** Reads the newest valid membership from the store and applies it. */
  private async reload(): Promise<void> {
    if (this.admins.size === 0) return;
    const events: NostrEvent[] = [];
    for await (const stored of this.deps.store.query({
      kinds: [MEMBERSHIP_KIND],
      authors: [...this.admins],
      tags: new Map([['d', [MEMBERSHIP_D_TAG]]]),
      limit: 100,
    }))
      events.push(stored.event);
    const membership = newestMembership(events, this.admins);
    if (membership?.eventId === this.membership?.eventId) return;
    this.membership = membership;
    const urls = (membership?.members ?? []).map((m) => m.httpUrl);
    await this.members.set(urls);
    this.trusted = this.config.propagatePrivileged ? await this.members.identities() : new Set();
    this.trustedAt = Date.now();
    this.logger.info({ members: urls, event: membership?.eventId }, 'cluster membership applied');
  }
}
