/**
 * Messages between the relay and its query workers. A request is one filter of a REQ; the
 * worker answers with chunks of ready EVENT frames (prefix + stored JSON + `]`, concatenated,
 * with their end offsets and their ids), then a final message. Everything here is structured-
 * clone data; chunk buffers are transferred, not copied.
 */
import type { FrameChunk, FrameQuery } from '../../query-frames.js';

export interface QueryRequest extends FrameQuery {
  readonly type: 'query';
  readonly id: number;
}

export interface CloseRequest {
  readonly type: 'close';
}

/** The request's results are no longer wanted: skipped if it has not started. */
export interface CancelRequest {
  readonly type: 'cancel';
  readonly id: number;
}

export type ToWorker = QueryRequest | CloseRequest | CancelRequest;

export interface FrameChunkMessage extends FrameChunk {
  readonly type: 'chunk';
  readonly id: number;
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

export type FromWorker = FrameChunkMessage | QueryDone | WorkerReady;
