/**
 * Messages between the relay and its query workers. A request is one filter of a REQ; the
 * worker answers with chunks of ready EVENT frames (prefix + stored JSON + `]`, concatenated,
 * with their end offsets and their ids), then a final message. Everything here is structured-
 * clone data; chunk buffers are transferred, not copied.
 */
import type { NormalizedFilter } from '../../../protocol/filter.js';

export interface QueryRequest {
  readonly type: 'query';
  readonly id: number;
  /** The filter with the limit the store should apply (none when results are checked one by one). */
  readonly filter: NormalizedFilter;
  /** Results to send at most. */
  readonly limit: number;
  /** Unix seconds that hide expired events. */
  readonly now: number;
  /** `["EVENT","<sub>",` as UTF-8. */
  readonly prefix: Uint8Array;
  /** Check each result against restrictedKinds / authed (the filter may match restricted kinds). */
  readonly checkRestricted: boolean;
  /** Kinds only their author or a p-tagged pubkey may read. */
  readonly restrictedKinds: readonly number[];
  /** Pubkeys the connection authenticated as (NIP-42). */
  readonly authed: readonly string[];
}

export interface CloseRequest {
  readonly type: 'close';
}

export type ToWorker = QueryRequest | CloseRequest;

/** Frames [ends[i-1] (or 0), ends[i]) of `data`; ids[i] is 64 hex characters at i * 64. */
export interface FrameChunk {
  readonly type: 'chunk';
  readonly id: number;
  readonly data: Uint8Array;
  readonly ends: Uint32Array;
  readonly ids: string;
}

export interface QueryDone {
  readonly type: 'done';
  readonly id: number;
  /** Set when the query failed. */
  readonly error?: string;
}

export interface WorkerReady {
  readonly type: 'ready';
}

export type FromWorker = FrameChunk | QueryDone | WorkerReady;
