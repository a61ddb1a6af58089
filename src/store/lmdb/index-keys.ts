/**
 * The binary key layout of the LMDB store's secondary indexes, and the range bounds used to
 * scan them. Pure code, no I/O.
 *
 * Every index key is [1-byte type][fields][49-byte suffix], the suffix being
 *   [8-byte inverted created_at][32-byte id][6-byte serial][2-byte kind][1-byte flags]
 * so a forward scan of one prefix yields newest first, ties by lowest id, and carries the
 * serial (for the event lookup), the kind (so a kinds condition the prefix does not cover is
 * checked without reading the event) and flags (does the event expire?) without reading a value.
 *
 *   0x01 created      []
 *   0x02 kind         [kind 2]
 *   0x03 author       [pubkey 32]
 *   0x04 author+kind  [pubkey 32][kind 2]
 *   0x05 tag          [letter 1][value 32]            value is 64 lowercase hex, stored raw
 *   0x06 tag          [letter 1][sha256(value)[0,16)] any other value
 *   0x07 tag+kind     [letter 1][value 32][kind 2]
 *   0x08 tag+kind     [letter 1][sha256(value)[0,16)][kind 2]
 *
 * Only the first value (tag[1]) of tags with a single-letter a-zA-Z name is indexed (NIP-01),
 * once per distinct (letter, value). The store refuses an event with more of them than its
 * maxIndexedTags (ORLY_MAX_INDEXED_TAGS): every stored event is indexed completely.
 * Hashed values can collide, so the store verifies every candidate reached through them.
 */
import { createHash } from 'node:crypto';
import { expirationOf, isHex64, type NostrEvent } from '../../protocol/event.js';
import { isAddressable, isReplaceable } from '../../protocol/kinds.js';
import { hexToBytes, SERIAL_LEN, writeInvertedTime, writeSerial, writeU64 } from './codec.js';

export const IndexType = {
  created: 0x01,
  kind: 0x02,
  author: 0x03,
  authorKind: 0x04,
  tagHex: 0x05,
  tagHash: 0x06,
  tagHexKind: 0x07,
  tagHashKind: 0x08,
} as const;

/** Suffix layout offsets (relative to key.length - SUFFIX_LEN). */
export const SUFFIX_LEN = 8 + 32 + SERIAL_LEN + 2 + 1;
export const SUFFIX_ID = 8;
export const SUFFIX_SERIAL = 40;
export const SUFFIX_KIND = 46;
export const SUFFIX_FLAGS = 48;

/** Flag bit: the event carries a NIP-40 expiration tag. */
export const FLAG_EXPIRES = 0x01;

const HASH_LEN = 16;
const TAG_NAME = /^[a-zA-Z]$/;

/** Default of ORLY_MAX_INDEXED_TAGS: tag index entries per event (strfry's tag limit). */
export const DEFAULT_MAX_INDEXED_TAGS = 2000;

/** The distinct (letter, value) pairs of an event that get a tag index entry, in tag order. */
export function indexedTags(event: NostrEvent): [string, string][] {
  const out: [string, string][] = [];
  let seen: Set<string> | undefined;
  for (const tag of event.tags) {
    const name = tag[0];
    const value = tag[1];
    if (value === undefined || name === undefined || name.length !== 1 || !TAG_NAME.test(name)) continue;
    const dedupeKey = name + value;
    seen ??= new Set();
    if (seen.has(dedupeKey)) continue;
    seen.add(dedupeKey);
    out.push([name, value]);
  }
  return out;
}

/** The key bytes for one tag value: raw 32 bytes for 64-char lowercase hex, else a hash prefix. */
export interface TagValueKey {
  readonly hex: boolean;
  readonly bytes: Buffer;
}

export function tagValueKey(value: string): TagValueKey {
  if (isHex64(value)) return { hex: true, bytes: hexToBytes(value) };
  return { hex: false, bytes: createHash('sha256').update(value, 'utf8').digest().subarray(0, HASH_LEN) };
}

function kindBytes(kind: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeUInt16BE(kind, 0);
  return b;
}

export function kindPrefix(kind: number): Buffer {
  return Buffer.concat([Buffer.of(IndexType.kind), kindBytes(kind)]);
}

export function authorPrefix(pubkey: Buffer): Buffer {
  return Buffer.concat([Buffer.of(IndexType.author), pubkey]);
}

export function authorKindPrefix(pubkey: Buffer, kind: number): Buffer {
  return Buffer.concat([Buffer.of(IndexType.authorKind), pubkey, kindBytes(kind)]);
}

export function tagPrefix(letter: string, value: TagValueKey, kind?: number): Buffer {
  const type =
    kind === undefined
      ? value.hex
        ? IndexType.tagHex
        : IndexType.tagHash
      : value.hex
        ? IndexType.tagHexKind
        : IndexType.tagHashKind;
  const head = Buffer.of(type, letter.charCodeAt(0));
  return kind === undefined
    ? Buffer.concat([head, value.bytes])
    : Buffer.concat([head, value.bytes, kindBytes(kind)]);
}

export const CREATED_PREFIX: Buffer = Buffer.of(IndexType.created);

/** Index-entry flags of an event (see FLAG_*). */
export function eventFlags(event: NostrEvent): number {
  return expirationOf(event) !== undefined ? FLAG_EXPIRES : 0;
}

/**
 * Everything needed to write or delete an event's index entries, computed once (hashing
 * happens here, outside the write transaction). `keys(serial)` builds the final keys.
 */
export class EventIndexKeys {
  private readonly prefixes: Buffer[];
  private readonly suffix: Buffer;

  constructor(
    event: NostrEvent,
    idBytes: Buffer,
    pubkeyBytes: Buffer,
    tags: readonly [string, string][] = indexedTags(event),
  ) {
    const prefixes: Buffer[] = [
      CREATED_PREFIX,
      kindPrefix(event.kind),
      authorPrefix(pubkeyBytes),
      authorKindPrefix(pubkeyBytes, event.kind),
    ];
    // One entry per tag value. Tag+kind filters use this index and check the kind from the
    // key suffix, without reading the event: a second tag+kind entry per tag cost ~25% of
    // ingest throughput (measured) for little query gain.
    for (const [name, value] of tags) prefixes.push(tagPrefix(name, tagValueKey(value)));
    this.prefixes = prefixes;
    const suffix = Buffer.allocUnsafe(SUFFIX_LEN);
    writeInvertedTime(suffix, 0, event.created_at);
    idBytes.copy(suffix, SUFFIX_ID);
    suffix.fill(0, SUFFIX_SERIAL, SUFFIX_KIND);
    suffix.writeUInt16BE(event.kind, SUFFIX_KIND);
    suffix[SUFFIX_FLAGS] = eventFlags(event);
    this.suffix = suffix;
  }

  keys(serial: number): Buffer[] {
    writeSerial(this.suffix, SUFFIX_SERIAL, serial);
    const out: Buffer[] = new Array(this.prefixes.length);
    for (let i = 0; i < this.prefixes.length; i++) {
      const prefix = this.prefixes[i]!;
      const key = Buffer.allocUnsafe(prefix.length + SUFFIX_LEN);
      prefix.copy(key, 0);
      this.suffix.copy(key, prefix.length);
      out[i] = key;
    }
    return out;
  }
}

/** A bare key suffix (no index prefix), used to put point-lookup results in result order. */
export function orderSuffix(event: NostrEvent, idBytes: Buffer, serial: number): Buffer {
  const key = Buffer.allocUnsafe(SUFFIX_LEN);
  writeInvertedTime(key, 0, event.created_at);
  idBytes.copy(key, SUFFIX_ID);
  writeSerial(key, SUFFIX_SERIAL, serial);
  key.writeUInt16BE(event.kind, SUFFIX_KIND);
  key[SUFFIX_FLAGS] = eventFlags(event);
  return key;
}

/** A half-open key range [start, end) of one index prefix. */
export interface KeyRange {
  readonly start: Buffer;
  readonly end: Buffer;
}

const END_PAD = Buffer.alloc(SUFFIX_LEN - 8 + 1, 0xff);

/**
 * Keys of `prefix` whose created_at lies in [since, until] (both inclusive, both optional).
 * Newest first: the range starts at `until` and ends after every key at `since`.
 */
export function prefixRange(prefix: Buffer, since: number | undefined, until: number | undefined): KeyRange {
  const start =
    until === undefined ? prefix : Buffer.concat([prefix, invertedTimeBytes(until)], prefix.length + 8);
  const end = Buffer.concat([prefix, invertedTimeBytes(since ?? 0), END_PAD]);
  return { start, end };
}

function invertedTimeBytes(createdAt: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  writeInvertedTime(b, 0, createdAt);
  return b;
}

/**
 * Key of the `versions` and `deleted-addrs` databases: [pubkey 32][kind 2] for replaceable
 * kinds, [pubkey 32][kind 2][sha256(d) 32] for addressable ones; undefined for other kinds.
 */
export function addressKey(pubkey: Buffer, kind: number, d: string): Buffer | undefined {
  if (isReplaceable(kind)) return Buffer.concat([pubkey, kindBytes(kind)]);
  if (isAddressable(kind)) {
    return Buffer.concat([pubkey, kindBytes(kind), createHash('sha256').update(d, 'utf8').digest()]);
  }
  return undefined;
}

/** Key of the `expiry` database: [expiration 8][id 32], so a forward scan meets the earliest first. */
export function expiryKey(expiration: number, idBytes: Buffer): Buffer {
  const key = Buffer.allocUnsafe(8 + 32);
  writeU64(key, 0, expiration);
  idBytes.copy(key, 8);
  return key;
}

/** Exclusive upper bound of every expiry key with expiration <= now. */
export function expiryEnd(now: number): Buffer {
  const key = Buffer.alloc(8 + 33, 0xff);
  writeU64(key, 0, now);
  return key;
}

/** Key of the `deleted-ids` database: [id 32][deleter pubkey 32]. */
export function tombstoneKey(idBytes: Buffer, pubkey: Buffer): Buffer {
  return Buffer.concat([idBytes, pubkey], 64);
}
