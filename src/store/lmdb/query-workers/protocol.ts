/**
 * Messages between the relay and its query workers. A query is one filter of a REQ; the worker
 * answers with chunks of ready EVENT frames (prefix + stored JSON + `]`, concatenated, with
 * their end offsets and their ids), then a final message. A count answers with its result.
 * Both run in slices of `sliceMs`: after each slice the worker says `paused` and waits for
 * `resume` (the relay gives the query its next turn), so one huge scan neither holds a worker
 * nor the relay's query slots for long. Everything here is structured-clone data; chunk
 * buffers are transferred, not copied.
 */
import type { NormalizedFilter } from '../../../protocol/filter.js';
import type { CountResult } from '../../event-store.js';
import type { FrameChunk, FrameQuery } from '../../query-frames.js';
import type { CountLimits } from '../sliced-scans.js';

export interface QueryRequest extends FrameQuery {
  readonly type: 'query';
  readonly id: number;
  readonly sliceMs: number;
}

export interface CountRequest {
  readonly type: 'count';
  readonly id: number;
  readonly filters: readonly NormalizedFilter[];
  readonly limits: CountLimits;
  readonly sliceMs: number;
}

export interface CloseRequest {
  readonly type: 'close';
}

/** The request's results are no longer wanted: dropped whether it waits, is paused or has not started. */
export interface CancelRequest {
  readonly type: 'cancel';
  readonly id: number;
}

/** A paused request's next slice. */
export interface ResumeRequest {
  readonly type: 'resume';
  readonly id: number;
}

export type ToWorker = QueryRequest | CountRequest | CloseRequest | CancelRequest | ResumeRequest;

export interface FrameChunkMessage extends FrameChunk {
  readonly type: 'chunk';
  readonly id: number;
}

/** The request used its slice and waits for `resume` (or `cancel`). */
export interface RequestPaused {
  readonly type: 'paused';
  readonly id: number;
}

export interface RequestDone {
  readonly type: 'done';
  readonly id: number;
  /** Set when the request failed. */
  readonly error?: string;
  /** A count's answer. */
  readonly count?: CountResult;
}

export interface WorkerReady {
  readonly type: 'ready';
}

export type FromWorker = FrameChunkMessage | RequestPaused | RequestDone | WorkerReady;
