/**
 * Relay groups at run time (ORLY's orly-sync-relaygroup, made to work): the authoritative
 * kind-39105 configuration of ORLY_RELAY_GROUP_ADMINS (relay-group.ts) decides the peers of
 * distributed sync. Read from the store at start and again whenever an admin's 39105 is stored
 * (published here or replicated); a new authoritative configuration is handed to `apply` at once
 * (distributed sync's updatePeers). It serves no HTTP endpoints.
 *
 *   ORLY_RELAY_GROUP_ADMINS   (none)   who may publish the group's configuration (hex or npub)
 */
import { parsePubkeyList } from '../../acl/pubkeys.js';
import type { Env } from '../../config/env.js';
import type { Logger } from '../../logger.js';
import type { NostrEvent } from '../../protocol/event.js';
import type { ClientStore, SyncSource } from '../../store/event-store.js';
import type { RelayIdentity } from '../identity/relay-identity.js';
import {
  errorResponse,
  type Replication,
  type ReplicationStatus,
  type SyncHttpResponse,
} from '../replication.js';
import { authoritativeConfig, RELAY_GROUP_KIND, type RelayGroupConfig } from './relay-group.js';

export function loadRelayGroupAdmins(env: Env): string[] {
  return parsePubkeyList(env.ORLY_RELAY_GROUP_ADMINS, 'ORLY_RELAY_GROUP_ADMINS');
}

export interface RelayGroupSyncDeps {
  readonly store: Pick<ClientStore, 'query'> & Pick<SyncSource, 'lastSerial'>;
  readonly identity: RelayIdentity;
  readonly logger: Logger;
  /** The relays of a new authoritative configuration ([] when none is in force). */
  readonly apply: (relays: readonly string[]) => Promise<void>;
}

/** Events read per reload: the newest per admin are enough to find the authoritative one. */
const READ_LIMIT = 500;

export class RelayGroupSync implements Replication {
  readonly name = 'relaygroup';
  readonly paths: readonly string[] = [];
  private readonly admins: ReadonlySet<string>;
  private readonly logger: Logger;
  private config: RelayGroupConfig | undefined;
  private reloading: Promise<void> = Promise.resolve();

  constructor(
    admins: readonly string[],
    private readonly deps: RelayGroupSyncDeps,
  ) {
    this.admins = new Set(admins);
    this.logger = deps.logger.child({ component: 'relay-group' });
  }

  /** The configuration in force. */
  get current(): RelayGroupConfig | undefined {
    return this.config;
  }

  get authorizedPublishers(): ReadonlySet<string> {
    return this.admins;
  }

  async start(): Promise<void> {
    await this.reload();
  }

  async stop(): Promise<void> {
    await this.reloading;
  }

  async handleHttp(): Promise<SyncHttpResponse> {
    return errorResponse(404, 'Not found');
  }

  notifyNewEvent(_serial: number, event?: NostrEvent): void {
    if (event?.kind !== RELAY_GROUP_KIND || !this.admins.has(event.pubkey)) return;
    const next = this.reloading.then(() => this.reload());
    this.reloading = next.catch((err: Error) =>
      this.logger.warn({ err: err.message }, 'relay group reload failed'),
    );
  }

  async status(): Promise<ReplicationStatus> {
    return {
      nodeId: this.deps.identity.pubkey,
      currentSerial: await this.deps.store.lastSerial(),
      peers: [],
    };
  }

  private async reload(): Promise<void> {
    if (this.admins.size === 0) return;
    const events: NostrEvent[] = [];
    for await (const stored of this.deps.store.query({
      kinds: [RELAY_GROUP_KIND],
      authors: [...this.admins],
      limit: READ_LIMIT,
    }))
      events.push(stored.event);
    const next = authoritativeConfig(events, this.admins);
    if (next?.sourceEventId === this.config?.sourceEventId) return;
    this.config = next;
    this.logger.info(
      { relays: next?.relays ?? [], event: next?.sourceEventId },
      'relay group configuration applied',
    );
    await this.deps.apply(next?.relays ?? []);
  }
}
