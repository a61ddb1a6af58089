/**
 * What the message handlers (./handlers) and the HTTP routes see of the relay. The Relay class
 * implements it; they import this type rather than the class that dispatches to them, so the
 * relay's modules form no import cycle.
 */

import type { AccessControl } from '../acl/access-control.js';
import type { WritePolicy } from '../acl/policy/plugin-protocol.js';
import type { SignatureVerifier } from '../crypto/signature-verifier.js';
import type { Logger } from '../logger.js';
import type { NegentropyGateway } from '../negentropy/gateway.js';
import type { NostrEvent } from '../protocol/event.js';
import type { EventStore } from '../store/event-store.js';
import type { RelayIdentity } from '../sync/identity/relay-identity.js';
import type { RelayConfig } from './config.js';
import type { ManagementEndpoint } from './management-endpoint.js';
import type { MemoryGuard } from './memory-guard.js';
import type { RelayMetrics } from './metrics.js';
import type { QueryExecutor } from './query-executor.js';
import type { ReplicationHost } from './replication-host.js';
import type { Subscription } from './subscription.js';
import type { SubscriptionIndex } from './subscription-index.js';
import type { RequestHead } from './transport/http-exchange.js';

export interface RelayContext {
  readonly config: RelayConfig;
  readonly store: EventStore;
  readonly access: AccessControl;
  /** The write-policy plugin (ORLY_WRITE_POLICY_PLUGIN), asked about every EVENT after access control. */
  readonly writePolicy: WritePolicy | undefined;
  /** The relay's identity key (NIP-11 `self`); undefined when it has none (tests without a store). */
  readonly identity: RelayIdentity | undefined;
  /** Replication services: their HTTP endpoints, lifecycle, and the nudge per stored event. */
  readonly replication: ReplicationHost;
  /** This request's absolute http(s) URLs on the relay's public names (NIP-98's `u`). */
  requestUrls(req: RequestHead): string[];
  /** The client's address (X-Forwarded-For only from a trusted proxy). */
  clientIp(req: RequestHead): string;
  readonly verifier: SignatureVerifier;
  readonly logger: Logger;
  readonly metrics: RelayMetrics;
  /** Live subscriptions of every connection, indexed for fan-out. */
  readonly subscriptions: SubscriptionIndex<Subscription>;
  /** ORLY_AUTH_RESTRICTED_KINDS. */
  readonly restrictedKinds: ReadonlySet<number>;
  /** NIP-77 sessions; undefined unless ORLY_NEGENTROPY_ENABLED. */
  readonly negentropy: NegentropyGateway | undefined;
  /** The one path of REQ and COUNT to the store. */
  readonly queries: QueryExecutor;
  /** Above the memory target, new REQs, COUNTs and NEG-OPENs are refused. */
  readonly memory: MemoryGuard;
  /** The NIP-86 management API (POST / and /api/nip86). */
  readonly managementApi: ManagementEndpoint;
  readonly isStopping: boolean;
  /** Tracks a promise that must settle before the store is closed (saves in flight). */
  track<T>(promise: Promise<T>): Promise<T>;
  /** Delivers a newly accepted event to every matching live subscription. */
  broadcast(event: NostrEvent, raw: string): void;
  removeSubscription(sub: Subscription): void;
}
