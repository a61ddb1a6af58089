/**
 * Distributed sync (ORLY's orly-sync-distributed, made to work): serial-based peer-to-peer
 * replication between relays the operator names (ORLY_SYNC_DISTRIBUTED_PEERS, or the relays of
 * the authoritative relay group via updatePeers). Each peer is a PeerLink (live subscription +
 * serial poll, peer-link.ts); this relay serves the same endpoints to its peers (endpoints.ts),
 * answering only NIP-98 tokens signed by their identities (NIP-11 `self`, peer-directory.ts).
 *
 * Runs in the relay's process (ORLY_SYNC_TYPE=local) or inside orly-sync-distributed
 * (services/sync-distributed/, whose gRPC client is GrpcDistributedSync); either way the relay
 * holds a DistributedReplication (./distributed-replication.ts).
 */
import type { Logger } from '../../logger.js';
import { isHex64 } from '../../protocol/event.js';
import { ReplayGuard } from '../../protocol/nip98.js';
import type { ClientStore, StateStore, SyncSource } from '../../store/event-store.js';
import { httpUrlOf, PeerDirectory } from '../identity/peer-directory.js';
import type { RelayIdentity } from '../identity/relay-identity.js';
import type { ReplicationStatus, SyncHttpRequest, SyncHttpResponse } from '../replication.js';
import type { SyncIngest } from '../sync-ingest.js';
import { type DistributedSyncConfig, parsePeerUrls } from './config.js';
import type { DistributedReplication } from './distributed-replication.js';
import {
  CURRENT_PATH,
  EVENT_IDS_PATH,
  eventIdsInRange,
  handleDistributedRequest,
  MAX_RANGE,
  rangeProblem,
} from './endpoints.js';
import { PeerLink } from './peer-link.js';
import { ProgressStore } from './progress.js';

export interface DistributedSyncDeps {
  readonly store: Pick<ClientStore, 'query'> &
    Pick<SyncSource, 'lastSerial' | 'eventsSince'> &
    Pick<StateStore, 'getState' | 'putState'>;
  readonly identity: RelayIdentity;
  readonly ingest: SyncIngest;
  readonly logger: Logger;
  /** NIP-11 lookups (tests give short timeouts). */
  readonly directory?: PeerDirectory;
}

/** A range GetEventIDs refuses (inverted, or wider than MAX_RANGE). */
export class InvalidRangeError extends Error {}

export class DistributedSync implements DistributedReplication {
  readonly name = 'distributed';
  readonly paths = [CURRENT_PATH, EVENT_IDS_PATH];
  private readonly links = new Map<string, PeerLink>();
  private readonly directory: PeerDirectory;
  private readonly progress: ProgressStore;
  private readonly replay = new ReplayGuard();
  private readonly logger: Logger;
  private readonly ownUrl: string;
  private timer: NodeJS.Timeout | undefined;
  private pollSoon: NodeJS.Timeout | undefined;
  private started = false;
  private state: 'starting' | 'running' | 'stopped' = 'starting';
  /** Peer list changes apply one at a time. */
  private changing: Promise<void> = Promise.resolve();

  constructor(
    private readonly config: DistributedSyncConfig,
    private readonly deps: DistributedSyncDeps,
  ) {
    this.directory = deps.directory ?? new PeerDirectory();
    this.progress = new ProgressStore(deps.store);
    this.logger = deps.logger.child({ component: 'distributed-sync' });
    this.ownUrl = config.relayUrl ?? '';
  }

  async start(): Promise<void> {
    this.started = true;
    await this.setPeers(this.config.peers);
    this.state = 'running';
    this.timer = setInterval(() => void this.pollAll(), this.config.intervalMs);
    this.timer.unref();
    this.logger.info(
      { peers: this.links.size, intervalMs: this.config.intervalMs },
      'distributed sync started',
    );
    void this.pollAll();
  }

  async stop(): Promise<void> {
    this.started = false;
    this.state = 'stopped';
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.pollSoon !== undefined) clearTimeout(this.pollSoon);
    await this.changing;
    await Promise.all([...this.links.values()].map((link) => link.stop()));
  }

  /** "starting" until start() has set up the peers, "running", then "stopped". */
  get lifecycle(): 'starting' | 'running' | 'stopped' {
    return this.state;
  }

  /** This relay's identity (the node id of the sync protocol). */
  get nodeId(): string {
    return this.deps.identity.pubkey;
  }

  /** This relay's public URL (ORLY_RELAY_URL), "" when none. */
  get relayUrl(): string {
    return this.ownUrl;
  }

  currentSerial(): Promise<number> {
    return this.deps.store.lastSerial();
  }

  /** The ids with serials in [from, to] (all of them); a range wider than MAX_RANGE or inverted: InvalidRangeError. */
  async eventIds(from: number, to: number): Promise<Record<string, number>> {
    const problem = rangeProblem(from, to);
    if (problem !== undefined) throw new InvalidRangeError(problem);
    return (await eventIdsInRange(this.deps.store, from, to, MAX_RANGE)).eventMap;
  }

  /**
   * Replaces the peer list (the operator's, or the relay group's relays); removed peers stop and
   * their progress is forgotten. An invalid list throws (a ConfigError), the list unchanged.
   */
  async updatePeers(urls: readonly string[]): Promise<string[]> {
    const peers = parsePeerUrls(urls, 'peers');
    const next = this.changing.then(() => this.setPeers(peers));
    this.changing = next.catch(() => undefined);
    await next;
    return this.peers;
  }

  get peers(): string[] {
    return [...this.links.keys()];
  }

  async listPeers(): Promise<string[]> {
    return this.peers;
  }

  async triggerSync(url?: string): Promise<number> {
    const links = url === undefined ? [...this.links.values()] : [this.linkOf(url)];
    let started = 0;
    for (const link of links) {
      if (link === undefined) continue;
      void link.poll();
      started++;
    }
    return started;
  }

  /** Polls one configured peer now and waits for it; false when `url` is not one. */
  async pollPeer(url: string): Promise<boolean> {
    const link = this.linkOf(url);
    if (link === undefined) return false;
    await link.poll();
    return true;
  }

  async isAuthorizedPeer(url: string, pubkey: string): Promise<boolean> {
    const link = this.linkOf(url);
    if (link === undefined || !isHex64(pubkey) || pubkey === this.deps.identity.pubkey) return false;
    return (await this.directory.pubkeyOf(link.url)) === pubkey;
  }

  async peerPubkey(url: string): Promise<string> {
    if (httpUrlOf(url) === undefined) return '';
    return (await this.directory.pubkeyOf(url)) ?? '';
  }

  handleHttp(request: SyncHttpRequest): Promise<SyncHttpResponse> {
    return handleDistributedRequest(
      {
        store: this.deps.store,
        nodeId: this.deps.identity.pubkey,
        relayUrl: this.ownUrl,
        authorized: () => this.authorized(),
        replay: this.replay,
      },
      request,
    );
  }

  /** Peers hold a live subscription to us, so they learn of new events without a nudge. */
  notifyNewEvent(_serial: number): void {}

  async status(): Promise<ReplicationStatus> {
    return {
      nodeId: this.deps.identity.pubkey,
      currentSerial: await this.deps.store.lastSerial(),
      peers: [...this.links.values()].map((link) => link.status()),
    };
  }

  /** Polls every peer now (each at most once at a time). */
  async pollAll(): Promise<void> {
    await Promise.all([...this.links.values()].map((link) => link.poll()));
  }

  private requestPoll(): void {
    if (this.pollSoon !== undefined || !this.started) return;
    this.pollSoon = setTimeout(() => {
      this.pollSoon = undefined;
      void this.pollAll();
    }, 100);
    this.pollSoon.unref();
  }

  private async setPeers(urls: readonly string[]): Promise<void> {
    // Our own URL (in any form) is dropped without a fetch; another name of ours is found by identity.
    const own = httpUrlOf(this.ownUrl);
    const wanted = new Set(urls.filter((url) => url !== own));
    for (const [url, link] of this.links) {
      if (wanted.has(url)) continue;
      this.links.delete(url);
      await link.stop();
      await this.progress.forget(url);
      this.logger.info({ peer: url }, 'peer removed');
    }
    for (const url of wanted) {
      if (this.links.has(url)) continue;
      const link = new PeerLink(url, {
        identity: this.deps.identity,
        relayUrl: this.ownUrl,
        directory: this.directory,
        progress: this.progress,
        ingest: this.deps.ingest,
        store: this.deps.store,
        logger: this.logger,
        requestPoll: () => this.requestPoll(),
        intervalMs: this.config.intervalMs,
      });
      await link.load();
      this.links.set(url, link);
      if (this.started) {
        if (this.config.live) link.startLive();
        void link.poll();
      }
    }
  }

  /** The link of a configured peer, given as any form of its URL. */
  private linkOf(url: string): PeerLink | undefined {
    const key = httpUrlOf(url);
    return key === undefined ? undefined : this.links.get(key);
  }

  /** The identities of the current peers (unreachable ones are not authorized until resolved). */
  private async authorized(): Promise<ReadonlySet<string>> {
    const keys = await Promise.all([...this.links.keys()].map((url) => this.directory.pubkeyOf(url)));
    return new Set(keys.filter((k): k is string => k !== undefined && k !== this.deps.identity.pubkey));
  }
}
