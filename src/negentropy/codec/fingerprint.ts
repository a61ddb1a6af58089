/**
 * Negentropy fingerprints: the ids of a range summed as 256-bit little-endian integers mod
 * 2^256, followed by varint(count), hashed with SHA-256 and cut to 16 bytes.
 *
 * The sum is kept as eight 32-bit limbs in float64 slots, so ids can be added (or subtracted)
 * without propagating carries each time: a limb holds an exact integer up to 2^53, i.e. at
 * least 2^20 unnormalized additions. `normalize()` propagates the carries (mod 2^256).
 * Pure code, no I/O (node:crypto only hashes).
 */
import * as nodeCrypto from 'node:crypto';
import { FINGERPRINT_SIZE, ID_SIZE } from './types.js';

/** SHA-256 of a small input: the one-shot crypto.hash where Node has it (>= 20.12), ~40% cheaper. */
const sha256: (data: Uint8Array) => Uint8Array =
  typeof nodeCrypto.hash === 'function'
    ? (data) => nodeCrypto.hash('sha256', data, 'buffer')
    : (data) => nodeCrypto.createHash('sha256').update(data).digest();

/** sum (32 bytes) + varint(count) (at most 8 bytes for counts < 2^53). */
const hashInput = new Uint8Array(ID_SIZE + 10);

const LIMB = 2 ** 32;
const LIMBS = 8;
/** Additions a limb can take before it must be normalized (each adds < 2^32). */
export const MAX_UNNORMALIZED_ADDS = 2 ** 20;

export class Accumulator {
  readonly limbs = new Float64Array(LIMBS);

  setToZero(): void {
    this.limbs.fill(0);
  }

  /** Adds the 32-byte id at `offset` of `ids` (no carry propagation). */
  addId(ids: Uint8Array, offset: number): void {
    const l = this.limbs;
    for (let j = 0, o = offset; j < LIMBS; j++, o += 4) {
      l[j]! += ids[o]! + ids[o + 1]! * 0x100 + ids[o + 2]! * 0x10000 + ids[o + 3]! * 0x1000000;
    }
  }

  /** Adds every id in items [begin, end) of a packed id array, normalizing as needed. */
  addIds(ids: Uint8Array, begin: number, end: number): void {
    let pending = 0;
    for (let i = begin; i < end; i++) {
      this.addId(ids, i * ID_SIZE);
      if (++pending === MAX_UNNORMALIZED_ADDS) {
        this.normalize();
        pending = 0;
      }
    }
  }

  /** this += other (other normalized or not; call normalize() before reading). */
  add(other: Accumulator | Float64Array, otherOffset = 0): void {
    const src = other instanceof Accumulator ? other.limbs : other;
    for (let j = 0; j < LIMBS; j++) this.limbs[j]! += src[otherOffset + j]!;
  }

  /** this += the eight 32-bit limbs at src[offset..offset+8) (normalized, as SealedVector keeps them). */
  addLimbs(src: Uint32Array, offset: number): void {
    const l = this.limbs;
    for (let j = 0; j < LIMBS; j++) l[j]! += src[offset + j]!;
  }

  /** this -= other. */
  sub(other: Accumulator | Float64Array, otherOffset = 0): void {
    const src = other instanceof Accumulator ? other.limbs : other;
    for (let j = 0; j < LIMBS; j++) this.limbs[j]! -= src[otherOffset + j]!;
  }

  /** Propagates carries (and borrows): every limb ends in [0, 2^32); the top carry is dropped (mod 2^256). */
  normalize(): void {
    const l = this.limbs;
    let carry = 0;
    for (let j = 0; j < LIMBS; j++) {
      const v = l[j]! + carry;
      carry = Math.floor(v / LIMB);
      l[j] = v - carry * LIMB;
    }
  }

  /** The normalized sum as 32 little-endian bytes. */
  toBytes(): Uint8Array {
    const out = new Uint8Array(ID_SIZE);
    this.writeBytes(out);
    return out;
  }

  /** Normalizes and writes the sum as 32 little-endian bytes at out[0..32). */
  private writeBytes(out: Uint8Array): void {
    this.normalize();
    for (let j = 0; j < LIMBS; j++) {
      const v = this.limbs[j]!;
      out[j * 4] = v % 0x100;
      out[j * 4 + 1] = Math.floor(v / 0x100) % 0x100;
      out[j * 4 + 2] = Math.floor(v / 0x10000) % 0x100;
      out[j * 4 + 3] = Math.floor(v / 0x1000000);
    }
  }

  /** sha256(sum || varint(count)), first 16 bytes (a view of a fresh digest). */
  fingerprint(count: number): Uint8Array {
    if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`bad fingerprint count ${count}`);
    this.writeBytes(hashInput);
    let len = 1;
    for (let t = count; t >= 128; t = Math.floor(t / 128)) len++;
    let pos = ID_SIZE + len - 1;
    let t = count;
    hashInput[pos] = t % 128;
    while (pos > ID_SIZE) {
      t = Math.floor(t / 128);
      hashInput[--pos] = (t % 128) | 0x80;
    }
    return sha256(hashInput.subarray(0, ID_SIZE + len)).subarray(0, FINGERPRINT_SIZE);
  }
}

/** The fingerprint of a list of 32-byte ids (each a Uint8Array), for tests and small sets. */
export function fingerprintOf(ids: readonly Uint8Array[]): Uint8Array {
  const acc = new Accumulator();
  for (const id of ids) {
    if (id.length !== ID_SIZE) throw new RangeError('ids must be 32 bytes');
    acc.addId(id, 0);
    acc.normalize();
  }
  return acc.fingerprint(ids.length);
}
