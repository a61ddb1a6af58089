/**
 * The LMDB store's write path, run inside one write transaction per save: all reads and checks
 * first (duplicates, NIP-09 tombstones, replaceable/addressable versions), then all writes, so a
 * rejected save leaves nothing behind; NIP-09 deletions and the removal of a stored event with
 * every index entry that refers to it.
 */
import { Reasons } from '../../errors.js';
import { dTag, expirationOf, type NostrEvent, serializeEvent } from '../../protocol/event.js';
import { isAddressable, isVersioned, KIND_DELETION } from '../../protocol/kinds.js';
import type { SaveResult } from '../event-store.js';
import { hexToBytes, readSerial, readU64, serialBytes, writeU64 } from './codec.js';
import { deletionTargets } from './deletion.js';
import { addressKey, EventIndexKeys, expiryKey, indexedTags, tombstoneKey } from './index-keys.js';
import { EMPTY, type LmdbTables } from './tables.js';

/** What save computes before entering the write transaction. */
export interface PreparedEvent {
  readonly event: NostrEvent;
  readonly raw: string;
  readonly id: Buffer;
  readonly pubkey: Buffer;
  readonly indexKeys: EventIndexKeys;
  readonly address: Buffer | undefined;
  readonly expiration: number | undefined;
}

export function prepare(
  event: NostrEvent,
  raw = serializeEvent(event),
  tags: readonly [string, string][] = indexedTags(event),
): PreparedEvent {
  const id = hexToBytes(event.id);
  const pubkey = hexToBytes(event.pubkey);
  return {
    event,
    raw,
    id,
    pubkey,
    indexKeys: new EventIndexKeys(event, id, pubkey, tags),
    address: isVersioned(event.kind) ? addressKey(pubkey, event.kind, dTag(event)) : undefined,
    expiration: expirationOf(event),
  };
}

/** Runs inside the write transaction: all checks first, then all writes. */
export function applySave(t: LmdbTables, p: PreparedEvent, nextSerial: () => number): SaveResult {
  const { event } = p;
  const existing = t.ids.get(p.id);
  if (existing !== undefined) {
    return { stored: true, duplicate: true, serial: readSerial(existing, 0), removed: [] };
  }
  if (event.kind !== KIND_DELETION && t.deletedIds.doesExist(tombstoneKey(p.id, p.pubkey))) {
    return { stored: false, reason: Reasons.deleted };
  }
  let replaced: { serial: number; event: NostrEvent } | undefined;
  if (p.address !== undefined) {
    const deletedAt = t.deletedAddrs.get(p.address);
    if (deletedAt !== undefined && readU64(deletedAt, 0) >= event.created_at) {
      return { stored: false, reason: Reasons.deleted };
    }
    const current = t.versions.get(p.address);
    if (current !== undefined) {
      const serial = readSerial(current, 0);
      const old = t.loadEvent(serial);
      if (old !== undefined) {
        if (old.created_at > event.created_at || (old.created_at === event.created_at && old.id < event.id)) {
          return {
            stored: false,
            reason: isAddressable(event.kind) ? Reasons.olderAddressable : Reasons.olderReplaceable,
          };
        }
        replaced = { serial, event: old };
      }
    }
  }

  const removed: string[] = [];
  if (replaced !== undefined) {
    removeStored(t, replaced.serial, replaced.event);
    removed.push(replaced.event.id);
  }
  if (event.kind === KIND_DELETION) applyDeletion(t, event, p.pubkey, removed);

  const serial = nextSerial();
  const serialValue = serialBytes(serial);
  t.events.putSync(serial, p.raw);
  t.ids.putSync(p.id, serialValue);
  for (const key of p.indexKeys.keys(serial)) t.index.putSync(key, EMPTY);
  if (p.address !== undefined) t.versions.putSync(p.address, serialValue);
  if (p.expiration !== undefined) t.expiry.putSync(expiryKey(p.expiration, p.id), serialValue);
  return { stored: true, duplicate: false, serial, removed };
}

/** NIP-09, inside the write transaction of the deletion request itself. */
export function applyDeletion(t: LmdbTables, deletion: NostrEvent, deleter: Buffer, removed: string[]): void {
  const { ids, addresses } = deletionTargets(deletion);
  for (const id of ids) {
    const idBytes = hexToBytes(id);
    t.deletedIds.putSync(tombstoneKey(idBytes, deleter), EMPTY);
    const value = t.ids.get(idBytes);
    if (value === undefined) continue;
    const serial = readSerial(value, 0);
    const target = t.loadEvent(serial);
    if (target === undefined || target.pubkey !== deletion.pubkey || target.kind === KIND_DELETION) continue;
    removeStored(t, serial, target);
    removed.push(target.id);
  }
  for (const address of addresses) {
    const key = addressKey(deleter, address.kind, address.d)!;
    const previous = t.deletedAddrs.get(key);
    if (previous === undefined || readU64(previous, 0) < deletion.created_at) {
      const at = Buffer.allocUnsafe(8);
      writeU64(at, 0, deletion.created_at);
      t.deletedAddrs.putSync(key, at);
    }
    const current = t.versions.get(key);
    if (current === undefined) continue;
    const serial = readSerial(current, 0);
    const target = t.loadEvent(serial);
    if (target === undefined || target.created_at > deletion.created_at) continue;
    removeStored(t, serial, target);
    removed.push(target.id);
  }
}

export function removeById(t: LmdbTables, id: Buffer): boolean {
  const value = t.ids.get(id);
  if (value === undefined) return false;
  const serial = readSerial(value, 0);
  const event = t.loadEvent(serial);
  if (event === undefined) {
    t.ids.removeSync(id);
    return false;
  }
  removeStored(t, serial, event);
  return true;
}

/** Removes one stored event and every entry that refers to it (inside a write transaction). */
export function removeStored(t: LmdbTables, serial: number, event: NostrEvent): void {
  const id = hexToBytes(event.id);
  const pubkey = hexToBytes(event.pubkey);
  t.events.removeSync(serial);
  t.ids.removeSync(id);
  for (const key of new EventIndexKeys(event, id, pubkey).keys(serial)) t.index.removeSync(key);
  const address = isVersioned(event.kind) ? addressKey(pubkey, event.kind, dTag(event)) : undefined;
  if (address !== undefined) {
    const current = t.versions.get(address);
    if (current !== undefined && readSerial(current, 0) === serial) t.versions.removeSync(address);
  }
  const expiration = expirationOf(event);
  if (expiration !== undefined) t.expiry.removeSync(expiryKey(expiration, id));
}

/**
 * Removes up to `limit` events whose NIP-40 expiration is before `end` (inside a write
 * transaction); `more` when there may be others.
 */
export function purgeExpiredBatch(
  t: LmdbTables,
  end: Buffer,
  limit: number,
): { count: number; more: boolean } {
  const batch = [...t.expiry.getRange({ end, limit })];
  let count = 0;
  for (const { key, value } of batch) {
    const serial = readSerial(value, 0);
    const event = t.loadEvent(serial);
    if (event === undefined) {
      t.expiry.removeSync(key);
      continue;
    }
    removeStored(t, serial, event);
    count++;
  }
  return { count, more: batch.length === limit };
}
