import type { NostrEvent } from '../protocol/event.js';

/**
 * What the relay holds of a replication service (orly-sync-distributed, -cluster, -relaygroup):
 * the HTTP endpoints it serves on the relay's port, the nudge when the relay stored an event,
 * its status, and its lifecycle. The in-process implementation and the gRPC client both speak
 * it, so the relay does not know which one it holds.
 */

/** One HTTP request to a sync endpoint, as the relay received it. */
export interface SyncHttpRequest {
  readonly method: string;
  /** The path, e.g. "/api/sync/current". */
  readonly path: string;
  /** The query string without "?", "" when none. */
  readonly query: string;
  /** Lowercase header names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
  /** The client's address. */
  readonly remoteAddr: string;
  /** The absolute URLs of this request on the relay's public names (NIP-98's `u` must be one). */
  readonly requestUrls: readonly string[];
}

export interface SyncHttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** One peer as a status report shows it. */
export interface PeerStatus {
  readonly url: string;
  /** Its identity (NIP-11 `self`), "" while unknown. */
  readonly pubkey: string;
  /** The last serial of the peer replicated here. */
  readonly lastSerial: number;
  /** The peer's serial at the last poll, minus lastSerial. */
  readonly lag: number;
  /** "active", "error", "unknown" (not polled yet) or "self". */
  readonly status: string;
  /** Unix seconds of the last poll (0: never). */
  readonly lastPoll: number;
  readonly errorCount: number;
  readonly lastError: string;
  /** True while the live subscription to the peer is open. */
  readonly live: boolean;
  /** Events stored here from this peer since the replication started. */
  readonly eventsReplicated: number;
  /** Bytes of frames received from the peer since the replication started. */
  readonly bytesReceived: number;
}

export interface ReplicationStatus {
  /** This relay's identity. */
  readonly nodeId: string;
  /** The store's current serial. */
  readonly currentSerial: number;
  readonly peers: readonly PeerStatus[];
}

export interface Replication {
  /** A name for logs and metrics ("distributed", "cluster"). */
  readonly name: string;
  /** Paths it serves on the relay's HTTP port. */
  readonly paths: readonly string[];
  handleHttp(request: SyncHttpRequest): Promise<SyncHttpResponse>;
  /** The relay stored an event (with this serial): peers may be told at once; a service may act on it (membership). */
  notifyNewEvent(serial: number, event?: NostrEvent): void;
  /**
   * Identities that may read the relay's restricted kinds (cluster members replicating privileged
   * events); synchronous, kept in memory.
   */
  trustedReaders?(): ReadonlySet<string>;
  status(): Promise<ReplicationStatus>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function jsonResponse(status: number, value: unknown): SyncHttpResponse {
  return { status, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(value) };
}

export function errorResponse(
  status: number,
  message: string,
  extra: Record<string, string> = {},
): SyncHttpResponse {
  return {
    status,
    headers: { 'Content-Type': 'application/json', ...extra },
    body: JSON.stringify({ error: message }),
  };
}
