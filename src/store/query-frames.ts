/**
 * Store-side execution of one REQ filter: a store that can (LMDB, with its query worker
 * threads) answers with ready EVENT frames, built beside the event loop, instead of events
 * the relay frames itself. The relay's query executor (src/relay/query-executor.ts) decides
 * the limit and whether results must be checked for restricted or hidden kinds; the store applies them
 * with the same rule (src/protocol/visibility.ts) and the executor de-duplicates.
 */
import type { NormalizedFilter } from '../protocol/filter.js';

export interface FrameQuery {
  /** The filter with the limit the store should apply (none when results are checked one by one). */
  readonly filter: NormalizedFilter;
  /** Results to send at most. */
  readonly limit: number;
  /** Unix seconds that hide expired events. */
  readonly now: number;
  /** `["EVENT","<sub>",` as UTF-8: each frame is prefix + stored JSON + `]`. */
  readonly prefix: Uint8Array;
  /** Check each result against restrictedKinds / authed (the filter may match restricted kinds). */
  readonly checkRestricted: boolean;
  /**
   * Kinds only their author or a p-tagged pubkey may read: the relay's restricted kinds and
   * those the requester's read scope (a write policy) wants involvement for.
   */
  readonly restrictedKinds: readonly number[];
  /** With checkRestricted: every kind needs involvement (the read scope's allInvolved). */
  readonly allInvolved?: boolean;
  /** Kinds skipped (the requester's read scope hides them; the filter names no kinds). */
  readonly hiddenKinds?: readonly number[];
  /** Pubkeys the requester authenticated as (NIP-42). */
  readonly authed: readonly string[];
  /** Authors whose events are skipped (an access-control mode hides them from this requester). */
  readonly hiddenAuthors?: readonly string[];
}

/** Frames [ends[i-1] (or 0), ends[i]) of `data`; ids[i] is 64 hex characters at i * 64. */
export interface FrameChunk {
  readonly data: Uint8Array;
  readonly ends: Uint32Array;
  readonly ids: string;
}
