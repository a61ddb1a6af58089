/**
 * Conversions shared by the orly-db server adapter and the GrpcEventStore client: event JSON
 * checks at the trust boundary, filter JSON, save results, negentropy item packing, batching of
 * streamed events, and gRPC status helpers. Pure code, no I/O.
 */

import { type ServiceError, status } from '@grpc/grpc-js';
import { OrlyError, Reasons } from '../../errors.js';
import type {
  EventBatch,
  SaveEventResponse,
  StoredEvent as StoredEventMessage,
} from '../../gen/orlydb/v1/db.js';
import {
  checkEventShape,
  computeEventId,
  type NostrEvent,
  nip01Event,
  serializeEvent,
} from '../../protocol/event.js';
import { filterToJSON, type NormalizedFilter, parseFilterText } from '../../protocol/filter.js';
import type { NegentropyItems, SaveResult, StoredEvent } from '../event-store.js';
import { LazyStoredEvent } from '../lmdb/stored-event.js';

/** Events per EventBatch message. */
export const BATCH_EVENTS = 128;
/** JSON characters per EventBatch message (about 256 KB). */
export const BATCH_CHARS = 256 * 1024;

export type ParsedEvent =
  | { readonly ok: true; readonly event: NostrEvent; readonly raw: string }
  | { readonly ok: false; readonly reason: string };

/**
 * Parses untrusted event JSON: valid JSON, checkEventShape, and id === computeEventId. Only the
 * NIP-01 fields are kept; `raw` is the canonical serialization. Signatures are NOT checked here.
 */
export function parseEventJson(json: string): ParsedEvent {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return { ok: false, reason: Reasons.eventNotJson };
  }
  const problem = checkEventShape(value);
  if (problem !== undefined) return { ok: false, reason: Reasons.badShape(problem) };
  const event = nip01Event(value as NostrEvent);
  if (computeEventId(event) !== event.id) return { ok: false, reason: Reasons.badId };
  return { ok: true, event, raw: serializeEvent(event) };
}

/** A problem with a request itself (answered with INVALID_ARGUMENT). */
export class InvalidArgumentError extends OrlyError {
  readonly code: string = 'ORLY_INVALID_ARGUMENT';
  override readonly name = 'InvalidArgumentError';
}

/** Parses filter JSON; throws InvalidArgumentError with the NIP-01 reason when it is not valid. */
export function parseFilterJson(json: string, field = 'filter_json'): NormalizedFilter {
  const parsed = parseFilterText(json);
  if (!parsed.ok) throw new InvalidArgumentError(`${field}: ${parsed.reason}`);
  return parsed.filter;
}

export function filterJson(filter: NormalizedFilter): string {
  return JSON.stringify(filterToJSON(filter));
}

export function saveResultToResponse(requestId: number, result: SaveResult): SaveEventResponse {
  return result.stored
    ? {
        requestId,
        stored: true,
        duplicate: result.duplicate,
        serial: result.serial,
        removedIds: [...result.removed],
        reason: '',
      }
    : { requestId, stored: false, duplicate: false, serial: 0, removedIds: [], reason: result.reason };
}

export function responseToSaveResult(response: SaveEventResponse): SaveResult {
  if (!response.stored) {
    return { stored: false, reason: response.reason || Reasons.storeFailed('no reason given') };
  }
  return {
    stored: true,
    duplicate: response.duplicate,
    serial: response.serial,
    removed: response.removedIds,
  };
}

export function toStoredEvent(message: StoredEventMessage): StoredEvent {
  return new LazyStoredEvent(message.serial, message.json, undefined, message.kind);
}

/** The canonical JSON bytes of a stored event, without re-encoding when the store has them. */
export function storedBytes(stored: StoredEvent): Buffer {
  const bytes = stored.bytes;
  if (bytes === undefined) return Buffer.from(stored.raw);
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** created_at values as 8-byte big-endian integers, ids concatenated (the proto layout). */
export function encodeNegentropyItems(items: NegentropyItems): { timestamps: Buffer; ids: Buffer } {
  const timestamps = Buffer.alloc(items.count * 8);
  for (let i = 0; i < items.count; i++) timestamps.writeBigUInt64BE(BigInt(items.timestamps[i]!), i * 8);
  const ids = items.ids.subarray(0, items.count * 32);
  return { timestamps, ids: Buffer.from(ids.buffer, ids.byteOffset, ids.byteLength) };
}

export function decodeNegentropyItems(
  count: number,
  timestamps: Uint8Array,
  ids: Uint8Array,
): NegentropyItems {
  if (timestamps.length !== count * 8 || ids.length !== count * 32) {
    throw new Error(`malformed negentropy items: count ${count}, ${timestamps.length} + ${ids.length} bytes`);
  }
  const view = new DataView(timestamps.buffer, timestamps.byteOffset, timestamps.byteLength);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = Number(view.getBigUint64(i * 8));
  return { count, timestamps: out, ids: Uint8Array.from(ids) };
}

/** Gathers stored events into EventBatch messages of at most BATCH_EVENTS / about BATCH_CHARS. */
export class BatchBuilder {
  private events: StoredEventMessage[] = [];
  private chars = 0;

  /** Adds one event; returns a full batch to send, if this one completed it. */
  add(serial: number, json: Buffer, kind?: number): EventBatch | undefined {
    this.events.push(kind === undefined ? { serial, json } : { serial, json, kind });
    this.chars += json.length;
    return this.events.length >= BATCH_EVENTS || this.chars >= BATCH_CHARS ? this.take() : undefined;
  }

  /** The remaining events as a batch, if any. */
  take(): EventBatch | undefined {
    if (this.events.length === 0) return undefined;
    const batch = { events: this.events };
    this.events = [];
    this.chars = 0;
    return batch;
  }
}

/** A gRPC status error for callbacks and stream errors. */
export function statusError(code: status, details: string): Partial<ServiceError> {
  return { code, details, message: details };
}

export function isServiceError(error: unknown): error is ServiceError {
  return typeof error === 'object' && error !== null && typeof (error as ServiceError).code === 'number';
}

/** "UNAVAILABLE: details" for logs and reasons. */
/** The gRPC status of a failed call: a ServiceError's `code`, or a DatabaseCallError's `status`. */
export function grpcStatusOf(error: unknown): number | undefined {
  if (isServiceError(error)) return error.code;
  const value =
    typeof error === 'object' && error !== null ? (error as { status?: unknown }).status : undefined;
  return typeof value === 'number' ? value : undefined;
}

export function describeStatus(error: unknown): string {
  if (isServiceError(error)) return `${status[error.code] ?? error.code}: ${error.details || error.message}`;
  return error instanceof Error ? error.message : String(error);
}
