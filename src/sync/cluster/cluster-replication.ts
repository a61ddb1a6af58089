/**
 * What cluster replication offers beyond a Replication (the RPCs of
 * orlysync.cluster.v1.ClusterSyncService): polling paused and resumed, the members and their
 * progress, the operator's override of the member list, membership events handed over directly,
 * and the listing the members read. The in-process ClusterSync and the gRPC client of
 * orly-sync-cluster (GrpcClusterSync) both implement it; one contract suite tests both.
 */
import type { NostrEvent } from '../../protocol/event.js';
import type { PeerStatus, Replication } from '../replication.js';
import type { EventsRange } from './cluster-endpoints.js';

/** One member as the status shows it: its progress, and the WebSocket URL its events are read from. */
export interface ClusterMemberStatus extends PeerStatus {
  readonly wsUrl: string;
}

export interface ClusterStatus {
  /** This relay's identity. */
  readonly nodeId: string;
  /** The store's latest serial. */
  readonly latestSerial: number;
  /** ORLY_CLUSTER_PROPAGATE_PRIVILEGED_EVENTS. */
  readonly propagatePrivileged: boolean;
  /** The members (this relay excluded). */
  readonly members: readonly ClusterMemberStatus[];
  /** Who may read the restricted kinds here: the members' identities when privileged events propagate. */
  readonly trustedReaders: readonly string[];
}

/** What became of a membership event handed over (HandleMembershipEvent). */
export interface MembershipOutcome {
  /** A valid membership event (id, signature, shape) from a cluster admin. */
  readonly accepted: boolean;
  /** It is now the membership in force. */
  readonly applied: boolean;
  /** Why it was not accepted: a NIP-01 reason; "" otherwise. */
  readonly error: string;
}

/** A range GetEventsInRange refuses (inverted, or a limit beyond MAX_RANGE_LIMIT). */
export class ClusterRangeError extends Error {}

export interface ClusterReplication extends Replication {
  /** Resumes (true) or pauses (false) polling the members; resolves with whether it polls now. */
  setPolling(on: boolean): Promise<boolean>;
  /** The members in force and their progress (this relay excluded). */
  listMembers(): Promise<ClusterMemberStatus[]>;
  /**
   * The operator's override: replaces the member list (http(s) base URLs) until the next
   * membership event is applied. An invalid list is refused with an Error naming the problem, the
   * list unchanged. Members that leave stop replicating and their progress is forgotten.
   */
  updateMembership(httpUrls: readonly string[]): Promise<ClusterMemberStatus[]>;
  /**
   * A kind 39108 event: checked (shape, id, signature, a cluster admin's, valid), stored when it
   * is not yet, and applied when it is the newest membership.
   */
  handleMembershipEvent(event: NostrEvent): Promise<MembershipOutcome>;
  clusterStatus(): Promise<ClusterStatus>;
  /** One member (any form of its URL); undefined when it is not one. */
  memberStatus(url: string): Promise<ClusterMemberStatus | undefined>;
  latestSerial(): Promise<number>;
  /**
   * The listing a member reads from /cluster/events: serials in [from, to] ascending, at most
   * `limit` (0 = 1000, at most 10,000), restricted kinds left out unless privileged events
   * propagate. Inverted or too large: ClusterRangeError.
   */
  eventsInRange(from: number, to: number, limit: number): Promise<EventsRange>;
}
