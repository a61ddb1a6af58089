/**
 * Messages between the LMDB store and its writer thread (writer-worker.ts). The store sends each
 * save as the event's canonical JSON; the writer answers a batch of saves at once, after the one
 * write transaction holding them has committed.
 */
import type { SaveResult } from '../../event-store.js';

export interface SaveRequest {
  readonly type: 'save';
  readonly id: number;
  /** The event's canonical JSON (what is stored). */
  readonly raw: string;
}

export interface CloseRequest {
  readonly type: 'close';
}

export type ToWriter = SaveRequest | CloseRequest;

export interface WriterReady {
  readonly type: 'ready';
}

/** Outcomes of saves committed together: ids[i] is the request answered by results[i]. */
export interface SavesCommitted {
  readonly type: 'saved';
  readonly ids: readonly number[];
  readonly results: readonly SaveResult[];
}

export type FromWriter = WriterReady | SavesCommitted;

export interface WriterData {
  readonly dataFile: string;
  readonly mapSize?: number;
  readonly maxReaders?: number;
  readonly maxIndexedTags: number;
}
