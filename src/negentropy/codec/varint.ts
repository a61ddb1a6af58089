/**
 * Negentropy varints: unsigned base-128, most significant group first, every byte but the last
 * with 0x80 set. 64-bit safe: numbers use multiplication (never 32-bit shifts), values beyond
 * 2^53 go through BigInt; decoding rejects varints longer than 10 bytes or above 2^64-1.
 * Also the byte reader and the growable byte writer the codec is built on. Pure code, no I/O.
 */
import { MAX_U64, NegentropyError } from './types.js';

const MAX_VARINT_BYTES = 10;
/** Below this a number can take one more base-128 digit and stay an exact integer. */
const NUMBER_HEADROOM = 2 ** 46;

/** A growable output buffer. */
export class ByteWriter {
  private buf: Uint8Array;
  length = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
  }

  private ensure(extra: number): void {
    const need = this.length + extra;
    if (need <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(need, this.buf.length * 2));
    grown.set(this.buf.subarray(0, this.length));
    this.buf = grown;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.length++] = b;
  }

  bytes(src: Uint8Array, start = 0, end = src.length): void {
    const n = end - start;
    this.ensure(n);
    this.buf.set(src.subarray(start, end), this.length);
    this.length += n;
  }

  /** Appends another writer's content. */
  append(other: ByteWriter): void {
    this.bytes(other.buf, 0, other.length);
  }

  varint(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new NegentropyError(`cannot encode varint ${n}`);
    let len = 1;
    for (let t = n; t >= 128; t = Math.floor(t / 128)) len++;
    this.ensure(len);
    let pos = this.length + len - 1;
    let t = n;
    this.buf[pos] = t % 128;
    while (pos > this.length) {
      t = Math.floor(t / 128);
      this.buf[--pos] = (t % 128) | 0x80;
    }
    this.length += len;
  }

  varintBig(n: bigint): void {
    if (n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= 0n) {
      this.varint(Number(n));
      return;
    }
    if (n < 0n || n > MAX_U64) throw new NegentropyError(`cannot encode varint ${n}`);
    const digits: number[] = [];
    for (let t = n; t > 0n; t >>= 7n) digits.push(Number(t & 0x7fn));
    for (let i = digits.length - 1; i > 0; i--) this.byte(digits[i]! | 0x80);
    this.byte(digits[0]!);
  }

  /** A copy of the content. */
  toBytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** Encodes one varint (number up to 2^53-1, or bigint up to 2^64-1). */
export function encodeVarint(n: number | bigint): Uint8Array {
  const w = new ByteWriter(10);
  if (typeof n === 'bigint') w.varintBig(n);
  else w.varint(n);
  return w.toBytes();
}

/** Sequential reader over an incoming message; every read checks the remaining length. */
export class Reader {
  pos = 0;

  constructor(readonly buf: Uint8Array) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  byte(): number {
    if (this.pos >= this.buf.length) throw new NegentropyError('parse ends prematurely');
    return this.buf[this.pos++]!;
  }

  /** A view of the next n bytes (not a copy). */
  bytes(n: number): Uint8Array {
    if (n > this.remaining) throw new NegentropyError('parse ends prematurely');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** A varint of any size up to 2^64-1. */
  varintBig(): bigint {
    let n = 0;
    let big: bigint | undefined;
    for (let i = 0; ; i++) {
      if (i >= MAX_VARINT_BYTES) throw new NegentropyError('varint longer than 10 bytes');
      if (this.pos >= this.buf.length) throw new NegentropyError('premature end of varint');
      const b = this.buf[this.pos++]!;
      if (big === undefined && n < NUMBER_HEADROOM) n = n * 128 + (b & 0x7f);
      else {
        big = (big ?? BigInt(n)) * 128n + BigInt(b & 0x7f);
      }
      if ((b & 0x80) === 0) break;
    }
    if (big === undefined) return BigInt(n);
    if (big > MAX_U64) throw new NegentropyError('varint exceeds 2^64-1');
    return big;
  }

  /** A varint that must fit a JS number exactly (counts, modes, lengths). */
  varint(): number {
    let n = 0;
    for (let i = 0; ; i++) {
      if (i >= MAX_VARINT_BYTES) throw new NegentropyError('varint longer than 10 bytes');
      if (this.pos >= this.buf.length) throw new NegentropyError('premature end of varint');
      const b = this.buf[this.pos++]!;
      if (n >= NUMBER_HEADROOM) throw new NegentropyError('varint too large');
      n = n * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) return n;
    }
  }
}

/** Decodes exactly one varint filling `bytes`. */
export function decodeVarint(bytes: Uint8Array): bigint {
  const r = new Reader(bytes);
  const v = r.varintBig();
  if (r.remaining !== 0) throw new NegentropyError('trailing bytes after varint');
  return v;
}
