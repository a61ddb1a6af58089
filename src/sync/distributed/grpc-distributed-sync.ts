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
 * off): while the service is down they fail fast.
 */
import type { CallOptions, ClientUnaryCall, Metadata, ServiceError } from '@grpc/grpc-js';
import type { PeerInfo } from '../../gen/orlysync/common/v1/common.js';
import { DistributedSyncServiceClient } from '../../gen/orlysync/distributed/v1/distributed.js';
import { callMetadata, channelCredentials, channelOptions, type GrpcSecurity } from '../../grpc/security.js';
import type { Logger } from '../../logger.js';
import {
  errorResponse,
  type PeerStatus,
  type ReplicationStatus,
  type SyncHttpRequest,
  type SyncHttpResponse,
} from '../replication.js';
import type { DistributedReplication } from './distributed-replication.js';
import { CURRENT_PATH, EVENT_IDS_PATH } from './endpoints.js';

export interface GrpcDistributedSyncOptions {
  /** orly-sync-distributed's address (host:port). */
  readonly address: string;
  readonly security?: GrpcSecurity;
  readonly logger?: Logger;
  /** Deadline of one call (default 10 s). */
  readonly deadlineMs?: number;
  /** How long start() waits for the service to be ready (default 10 s). */
  readonly connectTimeoutMs?: number;
}

type Unary<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/** Headers of the service's answer the relay sets itself. */
const DROPPED_HEADERS = new Set(['content-length', 'connection', 'transfer-encoding', 'keep-alive']);

function detailOf(err: unknown): string {
  return (err as ServiceError).details || (err as Error).message || String(err);
}

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
  };
}

export class GrpcDistributedSync implements DistributedReplication {
  readonly name = 'distributed';
  readonly paths = [CURRENT_PATH, EVENT_IDS_PATH];
  private readonly client: DistributedSyncServiceClient;
  private readonly metadata: Metadata;
  private readonly deadlineMs: number;
  private closed = false;
  private notifying = false;
  private pendingSerial: number | undefined;
  private notifyFailing = false;

  constructor(private readonly options: GrpcDistributedSyncOptions) {
    const security = options.security ?? {};
    this.deadlineMs = options.deadlineMs ?? 10_000;
    this.metadata = callMetadata(security);
    this.metadata.setOptions({ waitForReady: false });
    this.client = new DistributedSyncServiceClient(options.address, channelCredentials(security), {
      ...channelOptions(security),
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 2000,
    });
  }

  async start(): Promise<void> {
    const deadline = Date.now() + (this.options.connectTimeoutMs ?? 10_000);
    let last = 'no answer';
    for (;;) {
      try {
        await new Promise<void>((resolve, reject) =>
          this.client.waitForReady(deadline, (err) => (err ? reject(err) : resolve())),
        );
        const { ready } = await this.call(this.client.ready, {}, Math.max(100, deadline - Date.now()));
        if (ready) {
          this.options.logger?.info(
            { server: this.options.address },
            'distributed sync runs in orly-sync-distributed',
          );
          return;
        }
        last = 'not ready yet';
      } catch (err) {
        last = detailOf(err);
      }
      if (this.closed || Date.now() >= deadline)
        throw new Error(`orly-sync-distributed at ${this.options.address} is not ready: ${last}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async stop(): Promise<void> {
    this.closed = true;
    this.client.close();
  }

  async handleHttp(request: SyncHttpRequest): Promise<SyncHttpResponse> {
    const rpc =
      request.path === CURRENT_PATH
        ? this.client.handleCurrentRequest
        : request.path === EVENT_IDS_PATH
          ? this.client.handleEventIDsRequest
          : undefined;
    if (rpc === undefined) return errorResponse(404, 'Not found');
    try {
      const answer = await this.call(rpc, {
        method: request.method,
        path: request.path,
        headers: { ...request.headers },
        body: Buffer.from(request.body),
        queryString: request.query,
        remoteAddr: request.remoteAddr,
        requestUrls: [...request.requestUrls],
      });
      if (!Number.isInteger(answer.statusCode) || answer.statusCode < 200 || answer.statusCode > 599)
        return errorResponse(502, 'distributed sync service: invalid answer');
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(answer.headers))
        if (!DROPPED_HEADERS.has(name.toLowerCase())) headers[name] = value;
      return { status: answer.statusCode, headers, body: Buffer.from(answer.body).toString('utf8') };
    } catch (err) {
      this.options.logger?.warn(
        { path: request.path, err: detailOf(err) },
        'orly-sync-distributed did not answer a sync request',
      );
      return errorResponse(503, 'distributed sync service unavailable', { 'Retry-After': '5' });
    }
  }

  notifyNewEvent(serial: number): void {
    if (this.closed) return;
    this.pendingSerial = Math.max(this.pendingSerial ?? 0, serial);
    if (!this.notifying) void this.flushNotifications();
  }

  async status(): Promise<ReplicationStatus> {
    const [info, status] = await Promise.all([
      this.call(this.client.getInfo, {}),
      this.call(this.client.getSyncStatus, {}),
    ]);
    return {
      nodeId: info.nodeId,
      currentSerial: status.currentSerial,
      peers: status.peers.map(peerStatusOf),
    };
  }

  async listPeers(): Promise<string[]> {
    return (await this.call(this.client.getPeers, {})).peers;
  }

  async updatePeers(urls: readonly string[]): Promise<string[]> {
    const answer = await this.call(this.client.updatePeers, { peers: [...urls], keepConfigured: false });
    if (answer.error !== '') throw new Error(answer.error);
    return answer.peers;
  }

  /** UpdatePeers with keep_configured: the service's own configured peers stay beside `relays`. */
  async setGroupPeers(relays: readonly string[]): Promise<string[]> {
    const answer = await this.call(this.client.updatePeers, { peers: [...relays], keepConfigured: true });
    if (answer.error !== '') throw new Error(answer.error);
    return answer.peers;
  }

  async triggerSync(url?: string): Promise<number> {
    return (await this.call(this.client.triggerSync, { peerUrl: url ?? '' })).triggered;
  }

  async isAuthorizedPeer(url: string, pubkey: string): Promise<boolean> {
    return (await this.call(this.client.isAuthorizedPeer, { peerUrl: url, expectedPubkey: pubkey }))
      .authorized;
  }

  async peerPubkey(url: string): Promise<string> {
    return (await this.call(this.client.getPeerPubkey, { peerUrl: url })).pubkey;
  }

  private async flushNotifications(): Promise<void> {
    this.notifying = true;
    try {
      while (this.pendingSerial !== undefined && !this.closed) {
        const serial = this.pendingSerial;
        this.pendingSerial = undefined;
        try {
          await this.call(this.client.notifyNewEvent, { eventId: '', serial });
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

  private call<Req, Res>(rpc: Unary<Req, Res>, request: Req, deadlineMs = this.deadlineMs): Promise<Res> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error('client closed'));
      rpc.call(this.client, request, this.metadata, { deadline: Date.now() + deadlineMs }, (err, res) =>
        err ? reject(err) : resolve(res),
      );
    });
  }
}
