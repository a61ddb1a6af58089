/**
 * GrpcClusterSync: the relay's cluster replication as a client of orly-sync-cluster
 * (services/sync-cluster/). Chosen by create-relay when ORLY_SYNC_TYPE=grpc and
 * ORLY_GRPC_SYNC_CLUSTER is set. The service follows the members and keeps the progress (in
 * orly-db, the relay's store); the relay forwards the cluster endpoints its members call on its
 * port.
 *
 * - handleHttp: /cluster/latest → HandleLatestSerial, /cluster/events → HandleEventsRange, the
 *   answer written back as is (hop-by-hop and length headers dropped). The service unreachable or
 *   failing: 503 JSON error, never a crash.
 * - notifyNewEvent: nothing to send. The service reads every event the relay stores from orly-db's
 *   change feed (a membership event included), and the members hold a live subscription to this
 *   relay, so they hear of new events without a nudge.
 * - trustedReaders: synchronous, from a copy of GetClusterStatus' trusted_readers (the members'
 *   identities when privileged events propagate) refreshed every TRUSTED_REFRESH_MS and after
 *   this client's own membership calls. When the service cannot be asked for TRUSTED_TTL_MS the
 *   copy is dropped (no one is trusted) rather than kept indefinitely.
 * - status: GetClusterStatus. start: waits until the service answers Ready (true) within the
 *   connect timeout, else throws. stop: closes the channel.
 *
 * Calls carry a deadline (ORLY_GRPC_SYNC_TIMEOUT) and do not wait for the channel (waitForReady
 * off): while the service is down they fail fast (the channel, the wait for Ready and the
 * forwarding: ../service-client.ts).
 */
import {
  type ClusterMember,
  type ClusterStatusResponse,
  ClusterSyncServiceClient,
} from '../../gen/orlysync/cluster/v1/cluster.js';
import type { HTTPRequest, HTTPResponse } from '../../gen/orlysync/common/v1/common.js';
import { type NostrEvent, serializeEvent } from '../../protocol/event.js';
import type { PeerStatus, ReplicationStatus, SyncHttpRequest, SyncHttpResponse } from '../replication.js';
import {
  detailOf,
  SyncServiceChannel,
  type SyncServiceClientOptions,
  type Unary,
} from '../service-client.js';
import { EVENTS_PATH, type EventsRange, LATEST_PATH } from './cluster-endpoints.js';
import type {
  ClusterMemberStatus,
  ClusterReplication,
  ClusterStatus,
  MembershipOutcome,
} from './cluster-replication.js';

export type GrpcClusterSyncOptions = SyncServiceClientOptions;

const TRUSTED_REFRESH_MS = 3000;
const TRUSTED_TTL_MS = 60_000;

function memberStatusOf(m: ClusterMember): ClusterMemberStatus {
  return {
    url: m.httpUrl,
    wsUrl: m.websocketUrl,
    pubkey: m.pubkey,
    lastSerial: m.lastSerial,
    lag: m.lag,
    status: m.status,
    lastPoll: m.lastPoll,
    errorCount: m.errorCount,
    lastError: m.lastError,
    live: m.live,
    eventsReplicated: m.eventsReplicated,
    bytesReceived: m.bytesReceived,
  };
}

function peerStatusOf(m: ClusterMember): PeerStatus {
  const { wsUrl: _ws, ...peer } = memberStatusOf(m);
  return peer;
}

export class GrpcClusterSync implements ClusterReplication {
  readonly name = 'cluster';
  readonly paths = [LATEST_PATH, EVENTS_PATH];
  private readonly channel: SyncServiceChannel<ClusterSyncServiceClient>;
  private readonly client: ClusterSyncServiceClient;
  private readonly routes: ReadonlyMap<string, Unary<HTTPRequest, HTTPResponse>>;
  private trusted: ReadonlySet<string> = new Set();
  private trustedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private refreshFailing = false;

  constructor(private readonly options: GrpcClusterSyncOptions) {
    this.channel = new SyncServiceChannel('orly-sync-cluster', ClusterSyncServiceClient, options);
    this.client = this.channel.client;
    this.routes = new Map([
      [LATEST_PATH, this.client.handleLatestSerial],
      [EVENTS_PATH, this.client.handleEventsRange],
    ]);
  }

  async start(): Promise<void> {
    await this.channel.waitUntilReady();
    await this.refreshTrusted().catch(() => undefined);
    this.timer = setInterval(() => void this.refreshTrusted().catch(() => undefined), TRUSTED_REFRESH_MS);
    this.timer.unref();
    this.options.logger?.info(
      { server: this.options.address },
      'cluster replication runs in orly-sync-cluster',
    );
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.channel.close();
  }

  handleHttp(request: SyncHttpRequest): Promise<SyncHttpResponse> {
    return this.channel.forwardHttp(request, this.routes, { label: 'cluster sync service', kind: 'cluster' });
  }

  /** Nothing to send: the service follows orly-db's change feed (see the header). */
  notifyNewEvent(_serial: number, _event?: NostrEvent): void {}

  trustedReaders(): ReadonlySet<string> {
    if (this.trusted.size > 0 && Date.now() - this.trustedAt > TRUSTED_TTL_MS) this.trusted = new Set();
    return this.trusted;
  }

  async status(): Promise<ReplicationStatus> {
    const s = await this.fetchStatus();
    return { nodeId: s.nodeId, currentSerial: s.latestSerial, peers: s.members.map(peerStatusOf) };
  }

  async setPolling(on: boolean): Promise<boolean> {
    return (await this.channel.call(on ? this.client.start : this.client.stop, {})).running;
  }

  async listMembers(): Promise<ClusterMemberStatus[]> {
    return (await this.channel.call(this.client.getMembers, {})).members.map(memberStatusOf);
  }

  async updateMembership(httpUrls: readonly string[]): Promise<ClusterMemberStatus[]> {
    const answer = await this.channel.call(this.client.updateMembership, { relayUrls: [...httpUrls] });
    if (answer.error !== '') throw new Error(answer.error);
    await this.refreshTrusted().catch(() => undefined);
    return answer.members.map(memberStatusOf);
  }

  async handleMembershipEvent(event: NostrEvent): Promise<MembershipOutcome> {
    const outcome = await this.channel.call(this.client.handleMembershipEvent, {
      eventJson: serializeEvent(event),
    });
    if (outcome.applied) await this.refreshTrusted().catch(() => undefined);
    return outcome;
  }

  async clusterStatus(): Promise<ClusterStatus> {
    const s = await this.fetchStatus();
    return {
      nodeId: s.nodeId,
      latestSerial: s.latestSerial,
      propagatePrivileged: s.propagatePrivilegedEvents,
      members: s.members.map(memberStatusOf),
      trustedReaders: s.trustedReaders,
    };
  }

  async memberStatus(url: string): Promise<ClusterMemberStatus | undefined> {
    const answer = await this.channel.call(this.client.getMemberStatus, { httpUrl: url });
    return answer.found && answer.member !== undefined ? memberStatusOf(answer.member) : undefined;
  }

  async latestSerial(): Promise<number> {
    return (await this.channel.call(this.client.getLatestSerial, {})).serial;
  }

  async eventsInRange(from: number, to: number, limit: number): Promise<EventsRange> {
    const answer = await this.channel.call(this.client.getEventsInRange, { from, to, limit });
    return {
      rows: answer.events.map((e) => ({ serial: e.serial, id: e.id, createdAt: e.timestamp })),
      hasMore: answer.hasMore,
      nextFrom: answer.nextFrom,
    };
  }

  /** GetClusterStatus, its trusted readers copied on the way. */
  private async fetchStatus(): Promise<ClusterStatusResponse> {
    const s = await this.channel.call(this.client.getClusterStatus, {});
    this.trusted = new Set(s.trustedReaders);
    this.trustedAt = Date.now();
    return s;
  }

  private async refreshTrusted(): Promise<void> {
    if (this.channel.closed) return;
    try {
      await this.fetchStatus();
      if (this.refreshFailing) {
        this.refreshFailing = false;
        this.options.logger?.info('orly-sync-cluster answers GetClusterStatus again');
      }
    } catch (err) {
      if (!this.refreshFailing) {
        this.refreshFailing = true;
        this.options.logger?.warn(
          { err: detailOf(err) },
          'the trusted readers could not be read from orly-sync-cluster (the last copy holds for a minute)',
        );
      }
      throw err;
    }
  }
}
