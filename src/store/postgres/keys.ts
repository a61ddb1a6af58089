/**
 * The PostgreSQL store's key encodings, computed in JavaScript and sent as parameters. Pure code,
 * no I/O.
 *
 * - Tag keys (`tags.tkey`): [letter 1][form 1][payload]. Form 0: the value is 64 lowercase hex,
 *   payload its 32 bytes; form 1: any other value of at most 64 UTF-8 bytes, payload those bytes;
 *   form 2: a longer value, payload its SHA-256. Every form is exact (SHA-256 does not collide in
 *   practice), so a tag condition needs no recheck, and no index entry is ever longer than 66 bytes
 *   however long the value (btree entries are limited to ~2.7 kB).
 * - Addresses (`events.address`, `deleted_addresses.address`): SHA-256 of [pubkey 32][kind 2]
 *   [d as UTF-8], for replaceable (d = '') and addressable events, so a long `d` is no problem either.
 * - Lock keys: 64-bit advisory-lock keys of an event id and of an address (see write-path.ts).
 * - bytea[] parameters are sent as array literals (the driver has no bytea[] type of its own).
 */
import { createHash } from 'node:crypto';
import { isHex64 } from '../../protocol/event.js';
import { isReplaceable, isVersioned } from '../../protocol/kinds.js';

const LITERAL_MAX = 64;

export function tagKey(letter: string, value: string): Buffer {
  const head = letter.charCodeAt(0);
  if (isHex64(value)) {
    const key = Buffer.allocUnsafe(34);
    key[0] = head;
    key[1] = 0;
    key.write(value, 2, 'hex');
    return key;
  }
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length <= LITERAL_MAX) return Buffer.concat([Buffer.of(head, 1), bytes]);
  return Buffer.concat([Buffer.of(head, 2), createHash('sha256').update(bytes).digest()]);
}

/**
 * The address of a replaceable or addressable event's coordinate; undefined for other kinds. A
 * replaceable kind has one version per pubkey whatever its `d` tag: its `d` is ignored.
 */
export function addressOf(pubkey: string, kind: number, d: string): Buffer | undefined {
  if (!isVersioned(kind)) return undefined;
  const head = Buffer.allocUnsafe(34);
  head.write(pubkey, 0, 'hex');
  head.writeUInt16BE(kind, 32);
  return createHash('sha256')
    .update(head)
    .update(isReplaceable(kind) ? '' : d, 'utf8')
    .digest();
}

/** The advisory-lock key of an id or an address: its first 8 bytes as a signed 64-bit integer. */
export function lockKey(bytes: Buffer): bigint {
  return bytes.readBigInt64BE(0);
}

/** Distinct lock keys in ascending order (every transaction takes its locks in this one order). */
export function lockOrder(keys: readonly bigint[]): string[] {
  return [...new Set(keys)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(String);
}

/** A bytea[] array literal of these values (`{"\\x00ff",…}`). */
export function byteaArray(values: readonly Buffer[]): string {
  if (values.length === 0) return '{}';
  let out = '{';
  for (let i = 0; i < values.length; i++) out += `${i === 0 ? '' : ','}"\\\\x${values[i]!.toString('hex')}"`;
  return `${out}}`;
}

/** An integer array literal (`{1,2,3}`) of these safe integers (others are left out). */
export function intArray(values: readonly number[]): string {
  return `{${values.filter(Number.isSafeInteger).join(',')}}`;
}

/** A bytea[] literal of 64-char hex strings (ids, pubkeys), skipping any that are not. */
export function hexArray(values: readonly string[]): string {
  return byteaArray(values.filter(isHex64).map((v) => Buffer.from(v, 'hex')));
}
