/**
 * Negentropy v1 reconciliation, byte-for-byte the reference algorithm (hoytech/negentropy,
 * cpp/negentropy.h): the initiator (client) opens with splitRange over everything and learns
 * have/need from the IdLists it receives; the responder (relay) answers fingerprints by
 * splitting mismatched ranges and IdLists with its own ids. Skips are coalesced; a non-zero
 * frame size limit (>= 4096) truncates a reply like the reference does (a final fingerprint
 * over everything not yet covered; a responder IdList stops at the first omitted item).
 *
 * Differences from the reference, none visible on the wire: have/need are de-duplicated over
 * the whole session (truncation can report an id twice), and varints/timestamps are exact up to
 * 2^64-1. Unsupported versions: the responder answers the single byte 0x61, the initiator
 * throws. Every malformed input throws NegentropyError. Pure code, no I/O.
 */
import { BoundDecoder, BoundEncoder, itemBound, minimalBound } from './encoding.js';
import type { NegentropyStorage } from './storage.js';
import {
  type Bound,
  BUCKETS,
  FINGERPRINT_SIZE,
  FRAME_MARGIN,
  ID_SIZE,
  INFINITY_BOUND,
  MIN_FRAME_SIZE_LIMIT,
  Mode,
  NegentropyError,
  PROTOCOL_VERSION,
  toHex,
  ZERO_BOUND,
} from './types.js';
import { ByteWriter, Reader } from './varint.js';

export interface ReconcileOptions {
  /** Max bytes of one outgoing message; 0 (the default) = unlimited, else at least 4096. */
  readonly frameSizeLimit?: number;
}

function checkFrameSizeLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 0 || (limit !== 0 && limit < MIN_FRAME_SIZE_LIMIT)) {
    throw new NegentropyError(`frameSizeLimit must be 0 or an integer >= ${MIN_FRAME_SIZE_LIMIT}`);
  }
  return limit;
}

/** What the initiator learns from one incoming message. */
export interface InitiatorRound {
  /** The next message to send, or undefined when reconciliation is complete. */
  readonly next: Uint8Array | undefined;
  /** Ids (hex) the initiator has and the responder lacks; each reported once per session. */
  readonly have: string[];
  /** Ids (hex) the responder has and the initiator lacks; each reported once per session. */
  readonly need: string[];
}

interface IdSink {
  have(id: string): void;
  need(id: string): void;
}

/** The client side: initiate(), then reconcile() each reply until `next` is undefined. */
export class Initiator {
  private initiated = false;
  private readonly frameSizeLimit: number;
  private readonly haveSeen = new Set<string>();
  private readonly needSeen = new Set<string>();

  constructor(
    readonly storage: NegentropyStorage,
    options: ReconcileOptions = {},
  ) {
    this.frameSizeLimit = checkFrameSizeLimit(options.frameSizeLimit ?? 0);
  }

  /** The first message: splitRange over every item up to infinity. */
  initiate(): Uint8Array {
    if (this.initiated) throw new NegentropyError('already initiated');
    this.initiated = true;
    const out = new ByteWriter();
    out.byte(PROTOCOL_VERSION);
    splitRange(this.storage, 0, this.storage.size, INFINITY_BOUND, out, new BoundEncoder());
    return out.toBytes();
  }

  reconcile(message: Uint8Array): InitiatorRound {
    if (!this.initiated) throw new NegentropyError('initiator must initiate() before reconcile()');
    const have: string[] = [];
    const need: string[] = [];
    const sink: IdSink = {
      have: (id) => {
        if (this.haveSeen.has(id)) return;
        this.haveSeen.add(id);
        have.push(id);
      },
      need: (id) => {
        if (this.needSeen.has(id)) return;
        this.needSeen.add(id);
        need.push(id);
      },
    };
    const out = reconcileMessage(this.storage, message, this.frameSizeLimit, sink);
    return { next: out.length === 1 ? undefined : out, have, need };
  }

  /** Every id reported as have so far. */
  get allHave(): ReadonlySet<string> {
    return this.haveSeen;
  }

  /** Every id reported as need so far. */
  get allNeed(): ReadonlySet<string> {
    return this.needSeen;
  }
}

/** The relay side: answers each incoming message; the reply always has at least the version byte. */
export class Responder {
  private readonly frameSizeLimit: number;

  constructor(
    readonly storage: NegentropyStorage,
    options: ReconcileOptions = {},
  ) {
    this.frameSizeLimit = checkFrameSizeLimit(options.frameSizeLimit ?? 0);
  }

  reconcile(message: Uint8Array): Uint8Array {
    return reconcileMessage(this.storage, message, this.frameSizeLimit, undefined);
  }
}

/** One incoming message -> one reply. `sink` set = initiator role, unset = responder role. */
function reconcileMessage(
  storage: NegentropyStorage,
  message: Uint8Array,
  frameSizeLimit: number,
  sink: IdSink | undefined,
): Uint8Array {
  const isInitiator = sink !== undefined;
  const exceeded = (n: number) => frameSizeLimit !== 0 && n > frameSizeLimit - FRAME_MARGIN;
  const query = new Reader(message);
  const decoder = new BoundDecoder();
  const encoder = new BoundEncoder();
  const full = new ByteWriter();
  full.byte(PROTOCOL_VERSION);

  const version = query.byte();
  if (version < 0x60 || version > 0x6f) throw new NegentropyError('invalid negentropy protocol version byte');
  if (version !== PROTOCOL_VERSION) {
    if (isInitiator) {
      throw new NegentropyError(`unsupported negentropy protocol version requested: ${version - 0x60}`);
    }
    return full.toBytes();
  }

  const size = storage.size;
  let prevBound: Bound = ZERO_BOUND;
  let prevIndex = 0;
  let skip = false;
  const o = new ByteWriter();

  while (query.remaining > 0) {
    o.length = 0;
    const doSkip = () => {
      if (!skip) return;
      skip = false;
      encoder.bound(o, prevBound);
      o.varint(Mode.Skip);
    };

    const currBound = decoder.bound(query);
    const mode = query.varint();
    const lower = prevIndex;
    let upper = storage.findLowerBound(prevIndex, size, currBound);

    if (mode === Mode.Skip) {
      skip = true;
    } else if (mode === Mode.Fingerprint) {
      const theirs = query.bytes(FINGERPRINT_SIZE);
      const ours = storage.fingerprint(lower, upper);
      if (equalBytes(theirs, ours)) {
        skip = true;
      } else {
        doSkip();
        splitRange(storage, lower, upper, currBound, o, encoder);
      }
    } else if (mode === Mode.IdList) {
      const numIds = query.varint();
      if (numIds * ID_SIZE > query.remaining) throw new NegentropyError('parse ends prematurely');
      if (sink) {
        const theirs = new Set<string>();
        for (let i = 0; i < numIds; i++) theirs.add(toHex(query.bytes(ID_SIZE)));
        skip = true;
        for (let i = lower; i < upper; i++) {
          const id = toHex(storage.idAt(i));
          if (!theirs.delete(id)) sink.have(id); // we have it, they do not
        }
        for (const id of theirs) sink.need(id); // they have it, we do not
      } else {
        query.pos += numIds * ID_SIZE;
        doSkip();
        // The reference checks the frame before each id: id k (0-based) goes in while
        // full.length + 32k <= limit - margin. Copy every id that fits at once.
        let take = upper - lower;
        if (frameSizeLimit !== 0) {
          const room = frameSizeLimit - FRAME_MARGIN - full.length;
          take = room < 0 ? 0 : Math.min(take, Math.floor(room / ID_SIZE) + 1);
        }
        let endBound = currBound;
        if (take < upper - lower) {
          upper = lower + take; // the trailing fingerprint then covers exactly the omitted items onward
          endBound = itemBound(storage.timestampAt(upper), storage.idAt(upper));
        }
        const numResponseIds = take;
        encoder.bound(o, endBound);
        o.varint(Mode.IdList);
        o.varint(numResponseIds);
        o.bytes(storage.idsBetween(lower, upper));
        full.append(o);
        o.length = 0;
      }
    } else {
      throw new NegentropyError('unexpected mode');
    }

    if (exceeded(full.length + o.length)) {
      // Frame full: drop this range's output and send one fingerprint over everything after it.
      const remaining = storage.fingerprint(upper, size);
      encoder.bound(full, INFINITY_BOUND);
      full.varint(Mode.Fingerprint);
      full.bytes(remaining);
      break;
    }
    full.append(o);
    prevIndex = upper;
    prevBound = currBound;
  }
  return full.toBytes();
}

/** < 32 items: one IdList up to `upperBound`; else 16 fingerprints of equal item counts. */
function splitRange(
  storage: NegentropyStorage,
  lower: number,
  upper: number,
  upperBound: Bound,
  o: ByteWriter,
  encoder: BoundEncoder,
): void {
  const numElems = upper - lower;
  if (numElems < BUCKETS * 2) {
    encoder.bound(o, upperBound);
    o.varint(Mode.IdList);
    o.varint(numElems);
    o.bytes(storage.idsBetween(lower, upper));
    return;
  }
  const itemsPerBucket = Math.floor(numElems / BUCKETS);
  const bucketsWithExtra = numElems % BUCKETS;
  let curr = lower;
  for (let i = 0; i < BUCKETS; i++) {
    const bucketSize = itemsPerBucket + (i < bucketsWithExtra ? 1 : 0);
    const fingerprint = storage.fingerprint(curr, curr + bucketSize);
    curr += bucketSize;
    const nextBound =
      curr === upper
        ? upperBound
        : minimalBound(
            storage.timestampAt(curr - 1),
            storage.idAt(curr - 1),
            storage.timestampAt(curr),
            storage.idAt(curr),
          );
    encoder.bound(o, nextBound);
    o.varint(Mode.Fingerprint);
    o.bytes(fingerprint);
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
