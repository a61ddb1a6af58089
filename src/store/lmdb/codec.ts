/**
 * Byte-level helpers for the LMDB key layout: big-endian integers (serials, timestamps),
 * the inverted timestamp that makes forward scans newest-first, and hex <-> bytes.
 * Pure code, no I/O.
 */

const TWO_32 = 0x1_0000_0000;

/** Bytes of a serial in keys and values (2^48 serials is far beyond any relay's lifetime). */
export const SERIAL_LEN = 6;

/** Writes a non-negative safe integer as 8 bytes big-endian. */
export function writeU64(buf: Uint8Array, offset: number, value: number): void {
  const hi = Math.floor(value / TWO_32);
  const lo = value >>> 0;
  buf[offset] = hi >>> 24;
  buf[offset + 1] = (hi >>> 16) & 0xff;
  buf[offset + 2] = (hi >>> 8) & 0xff;
  buf[offset + 3] = hi & 0xff;
  buf[offset + 4] = lo >>> 24;
  buf[offset + 5] = (lo >>> 16) & 0xff;
  buf[offset + 6] = (lo >>> 8) & 0xff;
  buf[offset + 7] = lo & 0xff;
}

export function readU64(buf: Uint8Array, offset: number): number {
  const hi =
    ((buf[offset]! << 24) | (buf[offset + 1]! << 16) | (buf[offset + 2]! << 8) | buf[offset + 3]!) >>> 0;
  const lo =
    ((buf[offset + 4]! << 24) | (buf[offset + 5]! << 16) | (buf[offset + 6]! << 8) | buf[offset + 7]!) >>> 0;
  return hi * TWO_32 + lo;
}

/**
 * Writes 2^64 - 1 - created_at as 8 bytes big-endian: ascending key order is then
 * descending created_at, so a forward cursor yields newest first.
 */
export function writeInvertedTime(buf: Uint8Array, offset: number, createdAt: number): void {
  const hi = Math.floor(createdAt / TWO_32);
  const lo = createdAt >>> 0;
  const ihi = (0xffffffff - hi) >>> 0;
  const ilo = (0xffffffff - lo) >>> 0;
  buf[offset] = ihi >>> 24;
  buf[offset + 1] = (ihi >>> 16) & 0xff;
  buf[offset + 2] = (ihi >>> 8) & 0xff;
  buf[offset + 3] = ihi & 0xff;
  buf[offset + 4] = ilo >>> 24;
  buf[offset + 5] = (ilo >>> 16) & 0xff;
  buf[offset + 6] = (ilo >>> 8) & 0xff;
  buf[offset + 7] = ilo & 0xff;
}

export function readInvertedTime(buf: Uint8Array, offset: number): number {
  const ihi =
    ((buf[offset]! << 24) | (buf[offset + 1]! << 16) | (buf[offset + 2]! << 8) | buf[offset + 3]!) >>> 0;
  const ilo =
    ((buf[offset + 4]! << 24) | (buf[offset + 5]! << 16) | (buf[offset + 6]! << 8) | buf[offset + 7]!) >>> 0;
  return (0xffffffff - ihi) * TWO_32 + (0xffffffff - ilo);
}

export function writeSerial(buf: Uint8Array, offset: number, serial: number): void {
  const hi = Math.floor(serial / TWO_32);
  const lo = serial >>> 0;
  buf[offset] = (hi >>> 8) & 0xff;
  buf[offset + 1] = hi & 0xff;
  buf[offset + 2] = lo >>> 24;
  buf[offset + 3] = (lo >>> 16) & 0xff;
  buf[offset + 4] = (lo >>> 8) & 0xff;
  buf[offset + 5] = lo & 0xff;
}

export function readSerial(buf: Uint8Array, offset: number): number {
  const hi = (buf[offset]! << 8) | buf[offset + 1]!;
  const lo =
    ((buf[offset + 2]! << 24) | (buf[offset + 3]! << 16) | (buf[offset + 4]! << 8) | buf[offset + 5]!) >>> 0;
  return hi * TWO_32 + lo;
}

export function serialBytes(serial: number): Buffer {
  const buf = Buffer.allocUnsafe(SERIAL_LEN);
  writeSerial(buf, 0, serial);
  return buf;
}

/** 64 lowercase hex characters -> 32 bytes (the caller has validated the hex). */
export function hexToBytes(hex: string): Buffer {
  return Buffer.from(hex, 'hex');
}
