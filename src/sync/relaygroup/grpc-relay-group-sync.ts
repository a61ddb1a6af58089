/**
 * GrpcRelayGroupSync: what the relay holds of relay groups when they run in orly-sync-relaygroup
 * (services/sync-relaygroup/). Chosen by create-relay when ORLY_SYNC_TYPE=grpc and
 * ORLY_GRPC_SYNC_RELAYGROUP is set. Relay groups serve no HTTP endpoints and need no nudge (the
 * service follows orly-db's change feed and pushes the peers to orly-sync-distributed itself),
 * so this client is lifecycle and status only:
 *
 * - start: waits until the service answers Ready (true) within the connect timeout, else
 *   throws; then logs the configuration in force.
 * - authoritative: FindAuthoritativeConfig.
 * - status: this relay's identity and serial, no peers (as in process), once the service answers
 *   FindAuthoritativeConfig.
 * - notifyNewEvent: nothing; handleHttp: 404 (no paths).
 *
 * Calls carry a deadline (ORLY_GRPC_SYNC_TIMEOUT) and do not wait for the channel.
 */
import type { CallOptions, ClientUnaryCall, Metadata, ServiceError } from '@grpc/grpc-js';
import { RelayGroupServiceClient } from '../../gen/orlysync/relaygroup/v1/relaygroup.js';
import { callMetadata, channelCredentials, channelOptions, type GrpcSecurity } from '../../grpc/security.js';
import type { Logger } from '../../logger.js';
import type { SyncSource } from '../../store/event-store.js';
import type { RelayIdentity } from '../identity/relay-identity.js';
import { errorResponse, type ReplicationStatus, type SyncHttpResponse } from '../replication.js';
import type { RelayGroupConfig } from './relay-group.js';
import type { RelayGroupReplication } from './relay-group-sync.js';

export interface GrpcRelayGroupSyncOptions {
  /** orly-sync-relaygroup's address (host:port). */
  readonly address: string;
  readonly security?: GrpcSecurity;
  readonly logger?: Logger;
  /** For status(): the relay's identity and store. */
  readonly identity?: Pick<RelayIdentity, 'pubkey'>;
  readonly store?: Pick<SyncSource, 'lastSerial'>;
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

function detailOf(err: unknown): string {
  return (err as ServiceError).details || (err as Error).message || String(err);
}

export class GrpcRelayGroupSync implements RelayGroupReplication {
  readonly name = 'relaygroup';
  readonly paths: readonly string[] = [];
  private readonly client: RelayGroupServiceClient;
  private readonly metadata: Metadata;
  private readonly deadlineMs: number;
  private closed = false;

  constructor(private readonly options: GrpcRelayGroupSyncOptions) {
    const security = options.security ?? {};
    this.deadlineMs = options.deadlineMs ?? 10_000;
    this.metadata = callMetadata(security);
    this.metadata.setOptions({ waitForReady: false });
    this.client = new RelayGroupServiceClient(options.address, channelCredentials(security), {
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
        if (ready) break;
        last = 'not ready yet';
      } catch (err) {
        last = detailOf(err);
      }
      if (this.closed || Date.now() >= deadline)
        throw new Error(`orly-sync-relaygroup at ${this.options.address} is not ready: ${last}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const config = await this.authoritative();
    this.options.logger?.info(
      { server: this.options.address, relays: config?.relays ?? [], event: config?.sourceEventId ?? null },
      'relay groups run in orly-sync-relaygroup',
    );
  }

  async stop(): Promise<void> {
    this.closed = true;
    this.client.close();
  }

  async handleHttp(): Promise<SyncHttpResponse> {
    return errorResponse(404, 'Not found');
  }

  /** The service follows orly-db's change feed: nothing to tell it. */
  notifyNewEvent(): void {}

  async authoritative(): Promise<RelayGroupConfig | undefined> {
    const answer = await this.call(this.client.findAuthoritativeConfig, {});
    if (!answer.found) return undefined;
    return {
      relays: [...(answer.config?.relays ?? [])],
      sourceEventId: answer.sourceEventId,
      sourceTimestamp: answer.sourceTimestamp,
    };
  }

  async status(): Promise<ReplicationStatus> {
    // The service is asked, so a relay whose service is down fails its status like the other clients.
    await this.authoritative();
    return {
      nodeId: this.options.identity?.pubkey ?? '',
      currentSerial: (await this.options.store?.lastSerial()) ?? 0,
      peers: [],
    };
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
