/**
 * Negentropy protocol v1 (NIP-77): constants, the bound type, the error type and hex helpers
 * shared by the codec, the storage and the reconciler. Pure code, no I/O.
 */
import { OrlyError } from '../../errors.js';

/** Protocol version byte of v1. Versions are 0x60–0x6F; anything else is not negentropy. */
export const PROTOCOL_VERSION = 0x61;
export const ID_SIZE = 32;
export const FINGERPRINT_SIZE = 16;
/** Timestamp 2^64-1: "infinity", the upper bound of the last range; items may not use it. */
export const MAX_U64 = 0xffff_ffff_ffff_ffffn;
/** Fewer items than this in a range -> IdList; otherwise BUCKETS fingerprints. */
export const BUCKETS = 16;
/** The reference stops a frame this many bytes before the limit (room for the trailing range). */
export const FRAME_MARGIN = 200;
/** Smallest non-zero frame size limit the reference accepts. */
export const MIN_FRAME_SIZE_LIMIT = 4096;

export const Mode = { Skip: 0, Fingerprint: 1, IdList: 2 } as const;

/**
 * A range boundary: (timestamp, id prefix), the prefix 0–32 bytes with missing bytes read as
 * zero. Timestamps are exact unsigned 64-bit values (MAX_U64 = infinity).
 */
export interface Bound {
  readonly timestamp: bigint;
  readonly id: Uint8Array;
}

const EMPTY = new Uint8Array(0);

export const INFINITY_BOUND: Bound = { timestamp: MAX_U64, id: EMPTY };
export const ZERO_BOUND: Bound = { timestamp: 0n, id: EMPTY };

/** A malformed message, an unsupported version, or a misuse of the API. Always safe to show a peer. */
export class NegentropyError extends OrlyError {
  readonly code: string = 'ORLY_NEGENTROPY_PROTOCOL';
  constructor(message: string) {
    super(message);
    this.name = 'NegentropyError';
  }
}

/** Decodes a hex message (either case). Throws NegentropyError on odd length or non-hex characters. */
export function fromHex(hex: string): Uint8Array {
  // Buffer's decoder stops at the first pair that is not hex: a short result means a bad string.
  const bytes = Buffer.from(hex, 'hex');
  if (hex.length % 2 !== 0 || bytes.length * 2 !== hex.length)
    throw new NegentropyError('message is not an even-length hex string');
  return bytes;
}

/** Lowercase hex, as strfry and the reference emit it. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
