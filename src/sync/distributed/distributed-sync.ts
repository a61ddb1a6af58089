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
import { PeerLinks } from '../peer-links.js';
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
  private readonly links: PeerLinks;
  private readonly directory: PeerDirectory;
  private readonly replay = new ReplayGuard();
  private readonly logger: Logger;
  private readonly ownUrl: string;
  private state: 'starting' | 'running' | 'stopped' = 'starting';

  constructor(
    private readonly config: DistributedSyncConfig,
    private readonly deps: DistributedSyncDeps,
  ) {
    this.directory = deps.directory ?? new PeerDirectory();
    this.logger = deps.logger.child({ component: 'distributed-sync' });
    this.ownUrl = config.relayUrl ?? '';
    this.links = new PeerLinks({
      identity: deps.identity,
      relayUrl: this.ownUrl,
      directory: this.directory,
      progress: new ProgressStore(deps.store),
      ingest: deps.ingest,
      store: deps.store,
      logger: this.logger,
      intervalMs: config.intervalMs,
      live: config.live,
    });
  }

  async start(): Promise<void> {
    await this.links.set(this.config.peers);
    this.links.start();
    this.state = 'running';
    this.logger.info(
      { peers: this.peers.length, intervalMs: this.config.intervalMs },
      'distributed sync started',
    );
  }

  async stop(): Promise<void> {
    this.state = 'stopped';
    await this.links.stop();
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
    await this.links.set(parsePeerUrls(urls, 'peers'));
    return this.peers;
  }

  async setGroupPeers(relays: readonly string[]): Promise<string[]> {
    return this.updatePeers([...this.config.peers, ...relays]);
  }

  get peers(): string[] {
    return this.links.urls;
  }

  async listPeers(): Promise<string[]> {
    return this.peers;
  }

  async triggerSync(url?: string): Promise<number> {
    return this.links.trigger(url);
  }

  /** Polls one configured peer now and waits for it; false when `url` is not one. */
  pollPeer(url: string): Promise<boolean> {
    return this.links.pollOne(url);
  }

  async isAuthorizedPeer(url: string, pubkey: string): Promise<boolean> {
    const link = this.links.linkOf(url);
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
        authorized: () => this.links.identities(),
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
      peers: this.links.statuses(),
    };
  }

  /** Polls every peer now (each at most once at a time). */
  pollAll(): Promise<void> {
    return this.links.pollAll();
  }
}
