/**
 * GrpcDistributedSync: the relay's distributed sync as a client of orly-sync-distributed
 * (services/sync-distributed/). Chosen by create-relay when ORLY_SYNC_TYPE=grpc and
 * ORLY_GRPC_SYNC_DISTRIBUTED is set. The service runs the peer links and keeps the progress (in
 * orly-db, the relay's store); the relay forwards the sync endpoints its peers call on its port.
 *
 * - handleHttp: POST /api/sync/current → HandleCurrentRequest, /api/sync/event-ids →
 *   HandleEventIDsRequest, the answer written back as is (hop-by-hop and length headers
 *   dropped). The service unreachable or failing: 503 JSON error, never a crash.
 * - notifyNewEvent: NotifyNewEvent, fire and forget; one call at a time, the notifications that
 *   arrive meanwhile coalesced into one (the highest serial). A failure is logged once, until
 *   the service answers again.
 * - status: GetInfo (node id) and GetSyncStatus.
 * - start: waits until the service answers Ready (true) within the connect timeout, else throws.
 * - stop: closes the channel.
 *
 * Calls carry a deadline (ORLY_GRPC_SYNC_TIMEOUT) and do not wait for the channel (waitForReady
 * off): while the service is down they fail fast (the channel, the wait for Ready and the
 * forwarding: ../service-client.ts).
 */
import type { HTTPRequest, HTTPResponse, PeerInfo } from '../../gen/orlysync/common/v1/common.js';
import { DistributedSyncServiceClient } from '../../gen/orlysync/distributed/v1/distributed.js';
import type { PeerStatus, ReplicationStatus, SyncHttpRequest, SyncHttpResponse } from '../replication.js';
import {
  detailOf,
  SyncServiceChannel,
  type SyncServiceClientOptions,
  type Unary,
} from '../service-client.js';
import type { DistributedReplication } from './distributed-replication.js';
import { CURRENT_PATH, EVENT_IDS_PATH } from './endpoints.js';

export type GrpcDistributedSyncOptions = SyncServiceClientOptions;

function peerStatusOf(info: PeerInfo): PeerStatus {
  return {
    url: info.url,
    pubkey: info.pubkey,
    lastSerial: info.lastSerial,
    lag: info.lag,
    status: info.status,
    lastPoll: info.lastPoll,
    errorCount: info.errorCount,
    lastError: info.lastError,
    live: info.live,
    eventsReplicated: info.eventsReplicated,
    bytesReceived: info.bytesReceived,
  };
}

export class GrpcDistributedSync implements DistributedReplication {
  readonly name = 'distributed';
  readonly paths = [CURRENT_PATH, EVENT_IDS_PATH];
  private readonly channel: SyncServiceChannel<DistributedSyncServiceClient>;
  private readonly client: DistributedSyncServiceClient;
  private readonly routes: ReadonlyMap<string, Unary<HTTPRequest, HTTPResponse>>;
  private notifying = false;
  private pendingSerial: number | undefined;
  private notifyFailing = false;

  constructor(private readonly options: GrpcDistributedSyncOptions) {
    this.channel = new SyncServiceChannel('orly-sync-distributed', DistributedSyncServiceClient, options);
    this.client = this.channel.client;
    this.routes = new Map([
      [CURRENT_PATH, this.client.handleCurrentRequest],
      [EVENT_IDS_PATH, this.client.handleEventIDsRequest],
    ]);
  }

  async start(): Promise<void> {
    await this.channel.waitUntilReady();
    this.options.logger?.info(
      { server: this.options.address },
      'distributed sync runs in orly-sync-distributed',
    );
  }

  async stop(): Promise<void> {
    this.channel.close();
  }

  handleHttp(request: SyncHttpRequest): Promise<SyncHttpResponse> {
    return this.channel.forwardHttp(request, this.routes, {
      label: 'distributed sync service',
      kind: 'sync',
    });
  }

  notifyNewEvent(serial: number): void {
    if (this.channel.closed) return;
    this.pendingSerial = Math.max(this.pendingSerial ?? 0, serial);
    if (!this.notifying) void this.flushNotifications();
  }

  async status(): Promise<ReplicationStatus> {
    const [info, status] = await Promise.all([
      this.channel.call(this.client.getInfo, {}),
      this.channel.call(this.client.getSyncStatus, {}),
    ]);
    return {
      nodeId: info.nodeId,
      currentSerial: status.currentSerial,
      peers: status.peers.map(peerStatusOf),
    };
  }

  async listPeers(): Promise<string[]> {
    return (await this.channel.call(this.client.getPeers, {})).peers;
  }

  async updatePeers(urls: readonly string[]): Promise<string[]> {
    const answer = await this.channel.call(this.client.updatePeers, {
      peers: [...urls],
      keepConfigured: false,
    });
    if (answer.error !== '') throw new Error(answer.error);
    return answer.peers;
  }

  /** UpdatePeers with keep_configured: the service's own configured peers stay beside `relays`. */
  async setGroupPeers(relays: readonly string[]): Promise<string[]> {
    const answer = await this.channel.call(this.client.updatePeers, {
      peers: [...relays],
      keepConfigured: true,
    });
    if (answer.error !== '') throw new Error(answer.error);
    return answer.peers;
  }

  async triggerSync(url?: string): Promise<number> {
    return (await this.channel.call(this.client.triggerSync, { peerUrl: url ?? '' })).triggered;
  }

  async isAuthorizedPeer(url: string, pubkey: string): Promise<boolean> {
    return (await this.channel.call(this.client.isAuthorizedPeer, { peerUrl: url, expectedPubkey: pubkey }))
      .authorized;
  }

  async peerPubkey(url: string): Promise<string> {
    return (await this.channel.call(this.client.getPeerPubkey, { peerUrl: url })).pubkey;
  }

  private async flushNotifications(): Promise<void> {
    this.notifying = true;
    try {
      while (this.pendingSerial !== undefined && !this.channel.closed) {
        const serial = this.pendingSerial;
        this.pendingSerial = undefined;
        try {
          await this.channel.call(this.client.notifyNewEvent, { eventId: '', serial });
          if (this.notifyFailing) {
            this.notifyFailing = false;
            this.options.logger?.info('orly-sync-distributed answers NotifyNewEvent again');
          }
        } catch (err) {
          if (!this.notifyFailing) {
            this.notifyFailing = true;
            this.options.logger?.warn(
              { err: detailOf(err) },
              'NotifyNewEvent to orly-sync-distributed failed (not logged again until it answers)',
            );
          }
        }
      }
    } finally {
      this.notifying = false;
    }
  }
}
