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
 * Calls carry a deadline (ORLY_GRPC_SYNC_TIMEOUT) and do not wait for the channel
 * (../service-client.ts).
 */
import { RelayGroupServiceClient } from '../../gen/orlysync/relaygroup/v1/relaygroup.js';
import type { SyncSource } from '../../store/event-store.js';
import type { RelayIdentity } from '../identity/relay-identity.js';
import { errorResponse, type ReplicationStatus, type SyncHttpResponse } from '../replication.js';
import { SyncServiceChannel, type SyncServiceClientOptions } from '../service-client.js';
import type { RelayGroupConfig } from './relay-group.js';
import type { RelayGroupReplication } from './relay-group-sync.js';

export interface GrpcRelayGroupSyncOptions extends SyncServiceClientOptions {
  /** For status(): the relay's identity and store. */
  readonly identity?: Pick<RelayIdentity, 'pubkey'>;
  readonly store?: Pick<SyncSource, 'lastSerial'>;
}

export class GrpcRelayGroupSync implements RelayGroupReplication {
  readonly name = 'relaygroup';
  readonly paths: readonly string[] = [];
  private readonly channel: SyncServiceChannel<RelayGroupServiceClient>;

  constructor(private readonly options: GrpcRelayGroupSyncOptions) {
    this.channel = new SyncServiceChannel('orly-sync-relaygroup', RelayGroupServiceClient, options);
  }

  async start(): Promise<void> {
    await this.channel.waitUntilReady();
    const config = await this.authoritative();
    this.options.logger?.info(
      { server: this.options.address, relays: config?.relays ?? [], event: config?.sourceEventId ?? null },
      'relay groups run in orly-sync-relaygroup',
    );
  }

  async stop(): Promise<void> {
    this.channel.close();
  }

  async handleHttp(): Promise<SyncHttpResponse> {
    return errorResponse(404, 'Not found');
  }

  /** The service follows orly-db's change feed: nothing to tell it. */
  notifyNewEvent(): void {}

  async authoritative(): Promise<RelayGroupConfig | undefined> {
    const answer = await this.channel.call(this.channel.client.findAuthoritativeConfig, {});
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
}
