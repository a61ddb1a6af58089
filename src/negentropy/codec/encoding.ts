/**
 * Bounds on the wire: encodedTimestamp varint (0 = infinity, else 1 + delta from the previous
 * timestamp of the same message), prefix length varint (0–32), id prefix bytes. The
 * timestamp codecs carry the per-message delta state; decoding saturates at infinity exactly
 * like the C++ reference. Minimal bounds between adjacent items. Pure code, no I/O.
 */
import { type Bound, ID_SIZE, MAX_U64, NegentropyError } from './types.js';
import type { ByteWriter, Reader } from './varint.js';

const EMPTY = new Uint8Array(0);

/** Encodes bounds of one outgoing message (create one per message). */
export class BoundEncoder {
  private last = 0n;

  timestamp(w: ByteWriter, ts: bigint): void {
    if (ts === MAX_U64) {
      this.last = MAX_U64;
      w.byte(0);
      return;
    }
    const delta = ts - this.last;
    if (delta < 0n) throw new NegentropyError('bounds out of order in outgoing message');
    this.last = ts;
    w.varintBig(delta + 1n);
  }

  bound(w: ByteWriter, bound: Bound): void {
    this.timestamp(w, bound.timestamp);
    w.varint(bound.id.length);
    w.bytes(bound.id);
  }
}

/** Decodes bounds of one incoming message (create one per message). */
export class BoundDecoder {
  private last = 0n;

  timestamp(r: Reader): bigint {
    const encoded = r.varintBig();
    let ts = encoded === 0n ? MAX_U64 : encoded - 1n + this.last;
    if (ts > MAX_U64) ts = MAX_U64; // saturate, as the reference does on overflow
    this.last = ts;
    return ts;
  }

  bound(r: Reader): Bound {
    const timestamp = this.timestamp(r);
    const len = r.varint();
    if (len > ID_SIZE) throw new NegentropyError('bound key too long');
    return { timestamp, id: len === 0 ? EMPTY : r.bytes(len).slice() };
  }
}

/** The bound for item (ts, id) itself: full timestamp and full 32-byte id. */
export function itemBound(ts: number, id: Uint8Array): Bound {
  return { timestamp: BigInt(ts), id: id.slice(0, ID_SIZE) };
}

/**
 * The shortest bound b with prev < b <= curr: (curr.ts, no prefix) when the timestamps differ,
 * else curr.ts with the first sharedPrefixLen + 1 bytes of curr's id.
 */
export function minimalBound(prevTs: number, prevId: Uint8Array, currTs: number, currId: Uint8Array): Bound {
  if (currTs !== prevTs) return { timestamp: BigInt(currTs), id: EMPTY };
  let shared = 0;
  while (shared < ID_SIZE && currId[shared] === prevId[shared]) shared++;
  return { timestamp: BigInt(currTs), id: currId.slice(0, Math.min(shared + 1, ID_SIZE)) };
}
