/**
 * What distributed sync offers beyond a Replication: its peer list (read, replaced by the
 * operator or the authoritative relay group), polls on demand, and the questions about a peer's
 * identity. The in-process DistributedSync and the gRPC client of orly-sync-distributed
 * (GrpcDistributedSync) both implement it; one contract suite tests both.
 */
import type { Replication } from '../replication.js';

export interface DistributedReplication extends Replication {
  /** The peer list in force: http(s) base URLs, normalized (this relay's own URL excluded). */
  listPeers(): Promise<string[]>;
  /**
   * Replaces the peer list; resolves with the list now in force. An invalid list (a URL that is
   * not a relay URL, too many peers) is refused with an Error naming the problem, the list
   * unchanged. Progress with peers that stay is kept; removed peers are forgotten.
   */
  updatePeers(urls: readonly string[]): Promise<string[]>;
  /**
   * Replaces the relay group's part of the peer list: the configured peers
   * (ORLY_SYNC_DISTRIBUTED_PEERS) stay, `relays` join them (the list in force is configured ∪
   * relays; [] leaves the configured ones). Refused and resolved as updatePeers.
   */
  setGroupPeers(relays: readonly string[]): Promise<string[]>;
  /** Polls one configured peer (by URL) or every peer now, in the background: how many polls started. */
  triggerSync(url?: string): Promise<number>;
  /** Is `url` a configured peer whose identity (NIP-11 `self`) is `pubkey`? */
  isAuthorizedPeer(url: string, pubkey: string): Promise<boolean>;
  /** The identity (NIP-11 `self`) of the relay at `url`, "" when it cannot be had. */
  peerPubkey(url: string): Promise<string>;
}
