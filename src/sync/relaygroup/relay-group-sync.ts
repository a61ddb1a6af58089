/**
 * Relay groups at run time (ORLY's orly-sync-relaygroup, made to work): the authoritative
 * kind-39105 configuration of ORLY_RELAY_GROUP_ADMINS (relay-group.ts) decides the peers of
 * distributed sync. Read from the store at start and again whenever an admin's 39105 is stored
 * (published here or replicated); a new authoritative configuration is handed to `apply` at once
 * (distributed sync's setGroupPeers). It serves no HTTP endpoints. An admin's deletion (kind 5)
 * triggers a re-read too: deleting the configuration in force falls back to the one before it.
 * Runs in the relay's process (ORLY_SYNC_TYPE=local) and inside orly-sync-relaygroup
 * (services/sync-relaygroup/, whose relay-side client is GrpcRelayGroupSync); either way the
 * relay holds a RelayGroupReplication.
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

/** What the relay holds of relay groups beyond a Replication: the configuration in force. */
export interface RelayGroupReplication extends Replication {
  /** The authoritative configuration, undefined when none is in force. */
  authoritative(): Promise<RelayGroupConfig | undefined>;
}

export interface RelayGroupSyncDeps {
  readonly store: Pick<ClientStore, 'query'> & Pick<SyncSource, 'lastSerial'>;
  /** The relay's identity, for status() (orly-sync-relaygroup has none: nodeId ""). */
  readonly identity?: Pick<RelayIdentity, 'pubkey'>;
  readonly logger: Logger;
  /** The relays of a new authoritative configuration ([] when none is in force). */
  readonly apply: (relays: readonly string[]) => Promise<void>;
}

/** Events read per reload: the newest per admin are enough to find the authoritative one. */
const READ_LIMIT = 500;
const DELETION_KIND = 5;

export class RelayGroupSync implements RelayGroupReplication {
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

  async authoritative(): Promise<RelayGroupConfig | undefined> {
    return this.config;
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
    if (event === undefined || !this.admins.has(event.pubkey)) return;
    if (event.kind !== RELAY_GROUP_KIND && event.kind !== DELETION_KIND) return;
    this.refresh().catch((err: Error) => this.logger.warn({ err: err.message }, 'relay group reload failed'));
  }

  /** Reads the configuration in force from the store again (after any reload under way). */
  refresh(): Promise<void> {
    const next = this.reloading.then(() => this.reload());
    this.reloading = next.catch(() => undefined);
    return next;
  }

  async status(): Promise<ReplicationStatus> {
    return {
      nodeId: this.deps.identity?.pubkey ?? '',
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
