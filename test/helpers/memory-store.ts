/**
 * A deliberately naive in-memory EventStore: every query scans every event with matchFilter
 * and sorts. It implements the same duplicate / NIP-09 / replaceable / addressable / NIP-40
 * semantics as the LMDB store, written as plainly as possible, and serves as the reference
 * in differential tests. It implements the ClientStore, SyncSource, StoreAdmin and StateStore
 * roles (checked by test/contract/memory.test.ts; the state in a Map, listed by sorting its keys
 * in UTF-8 byte order), not ChangeFeed: it has a single writer.
 */
import { Reasons } from '../../src/errors.js';
import { type NostrEvent, serializeEvent } from '../../src/protocol/event.js';
import { compareNewestFirst, matchFilter, type NormalizedFilter } from '../../src/protocol/filter.js';
import type {
  ClientStore,
  CountResult,
  NegentropyItems,
  QueryOptions,
  SaveResult,
  StateStore,
  StoreAdmin,
  StoredEvent,
  StoreStats,
  SyncSource,
} from '../../src/store/event-store.js';
import {
  assertStateInput,
  compareStateKeys,
  stateEntriesProblem,
  stateKeyProblem,
  stateListProblem,
} from '../../src/store/state-limits.js';

const HEX64 = /^[0-9a-f]{64}$/;

function isReplaceableKind(kind: number): boolean {
  return kind === 0 || kind === 3 || (kind >= 10000 && kind < 20000);
}

function isAddressableKind(kind: number): boolean {
  return kind >= 30000 && kind < 40000;
}

function dOf(event: NostrEvent): string {
  const tag = event.tags.find((t) => t[0] === 'd');
  return tag?.[1] ?? '';
}

/** "kind:pubkey:d" of a replaceable or addressable event, else undefined. */
function addressOf(event: NostrEvent): string | undefined {
  if (isReplaceableKind(event.kind)) return `${event.kind}:${event.pubkey}:`;
  if (isAddressableKind(event.kind)) return `${event.kind}:${event.pubkey}:${dOf(event)}`;
  return undefined;
}

function expirationOf(event: NostrEvent): number | undefined {
  const tag = event.tags.find((t) => t[0] === 'expiration');
  if (!tag || tag[1] === undefined || !/^\d{1,15}$/.test(tag[1])) return undefined;
  return Number(tag[1]);
}

function expired(event: NostrEvent, now: number): boolean {
  const exp = expirationOf(event);
  return exp !== undefined && exp <= now;
}

/** NIP-09 `a` value -> normalized address, when it names a replaceable/addressable event. */
function parseAddressTag(value: string): { address: string; pubkey: string } | undefined {
  const parts = value.split(':');
  if (parts.length < 2) return undefined;
  const [kindText, pubkey] = parts as [string, string];
  const d = parts.slice(2).join(':');
  if (!/^\d{1,5}$/.test(kindText) || !HEX64.test(pubkey)) return undefined;
  const kind = Number(kindText);
  if (isAddressableKind(kind)) return { address: `${kind}:${pubkey}:${d}`, pubkey };
  if (isReplaceableKind(kind) && d === '') return { address: `${kind}:${pubkey}:`, pubkey };
  return undefined;
}

interface Entry {
  serial: number;
  raw: string;
  id: string;
  kind: number;
  event: NostrEvent;
}

export class MemoryEventStore implements ClientStore, SyncSource, StoreAdmin, StateStore {
  private readonly byId = new Map<string, Entry>();
  /** id -> pubkeys that asked for its deletion. */
  private readonly deletedIds = new Map<string, Set<string>>();
  /** address -> newest created_at of an `a` deletion naming it. */
  private readonly deletedAddresses = new Map<string, number>();
  private serial = 0;
  private open = true;
  private readonly state = new Map<string, string>();

  async save(event: NostrEvent): Promise<SaveResult> {
    if (!this.open) return { stored: false, reason: Reasons.storeFailed('the store is closed') };
    if (event.kind >= 20000 && event.kind < 30000) throw new Error('ephemeral events are not stored');
    const existing = this.byId.get(event.id);
    if (existing) return { stored: true, duplicate: true, serial: existing.serial, removed: [] };
    if (event.kind !== 5 && this.deletedIds.get(event.id)?.has(event.pubkey)) {
      return { stored: false, reason: Reasons.deleted };
    }
    const removed: string[] = [];
    const address = addressOf(event);
    if (address !== undefined) {
      const deletedAt = this.deletedAddresses.get(address);
      if (deletedAt !== undefined && deletedAt >= event.created_at)
        return { stored: false, reason: Reasons.deleted };
      for (const entry of [...this.byId.values()]) {
        if (addressOf(entry.event) !== address) continue;
        const old = entry.event;
        if (old.created_at > event.created_at || (old.created_at === event.created_at && old.id < event.id)) {
          return {
            stored: false,
            reason: isAddressableKind(event.kind) ? Reasons.olderAddressable : Reasons.olderReplaceable,
          };
        }
      }
      for (const entry of [...this.byId.values()]) {
        if (addressOf(entry.event) === address) {
          this.byId.delete(entry.event.id);
          removed.push(entry.event.id);
        }
      }
    }
    if (event.kind === 5) {
      for (const tag of event.tags) {
        const value = tag[1];
        if (value === undefined) continue;
        if (tag[0] === 'e' && HEX64.test(value)) {
          let deleters = this.deletedIds.get(value);
          if (!deleters) {
            deleters = new Set();
            this.deletedIds.set(value, deleters);
          }
          deleters.add(event.pubkey);
          const target = this.byId.get(value);
          if (target && target.event.pubkey === event.pubkey && target.event.kind !== 5) {
            this.byId.delete(value);
            removed.push(value);
          }
        } else if (tag[0] === 'a') {
          const parsed = parseAddressTag(value);
          if (!parsed || parsed.pubkey !== event.pubkey) continue;
          const before = this.deletedAddresses.get(parsed.address);
          if (before === undefined || before < event.created_at) {
            this.deletedAddresses.set(parsed.address, event.created_at);
          }
          for (const entry of [...this.byId.values()]) {
            if (addressOf(entry.event) === parsed.address && entry.event.created_at <= event.created_at) {
              this.byId.delete(entry.event.id);
              removed.push(entry.event.id);
            }
          }
        }
      }
    }
    const serial = ++this.serial;
    this.byId.set(event.id, { serial, raw: serializeEvent(event), id: event.id, kind: event.kind, event });
    return { stored: true, duplicate: false, serial, removed };
  }

  private matching(filter: NormalizedFilter, now: number): Entry[] {
    return [...this.byId.values()]
      .filter((e) => matchFilter(filter, e.event) && !expired(e.event, now))
      .sort((a, b) => compareNewestFirst(a.event, b.event));
  }

  async *query(filter: NormalizedFilter, options?: QueryOptions): AsyncIterable<StoredEvent> {
    const all = this.matching(filter, options?.now ?? Math.floor(Date.now() / 1000));
    const limited = filter.limit === undefined ? all : all.slice(0, filter.limit);
    for (const entry of limited) {
      if (options?.signal?.aborted) return;
      yield entry;
    }
  }

  async count(filters: readonly NormalizedFilter[], options?: QueryOptions): Promise<CountResult> {
    const now = options?.now ?? Math.floor(Date.now() / 1000);
    const max = options?.max ?? Number.POSITIVE_INFINITY;
    const maxScan = options?.maxScan ?? Number.POSITIVE_INFINITY;
    let n = 0;
    let scanned = 0;
    const exclude = options?.excludeKinds;
    for (const entry of this.byId.values()) {
      if (exclude?.has(entry.event.kind)) continue;
      if (++scanned > maxScan) return { count: n, approximate: true };
      if (!expired(entry.event, now) && filters.some((f) => matchFilter(f, entry.event))) n++;
      if (n >= max) return { count: max, approximate: true };
    }
    return { count: n, approximate: false };
  }

  async getById(id: string): Promise<StoredEvent | undefined> {
    return this.byId.get(id);
  }

  async deleteByIds(ids: readonly string[]): Promise<number> {
    let n = 0;
    for (const id of new Set(ids)) if (this.byId.delete(id)) n++;
    return n;
  }

  async *eventsSince(after: number, limit: number): AsyncIterable<StoredEvent> {
    const entries = [...this.byId.values()]
      .filter((e) => e.serial > after)
      .sort((a, b) => a.serial - b.serial);
    yield* entries.slice(0, Math.max(0, limit));
  }

  async lastSerial(): Promise<number> {
    return this.serial;
  }

  async negentropyItems(filter: NormalizedFilter, max: number): Promise<NegentropyItems | undefined> {
    const all = this.matching({ ...filter, limit: undefined }, Math.floor(Date.now() / 1000));
    if (all.length > max) return undefined;
    all.sort((a, b) =>
      a.event.created_at !== b.event.created_at
        ? a.event.created_at - b.event.created_at
        : a.event.id < b.event.id
          ? -1
          : a.event.id > b.event.id
            ? 1
            : 0,
    );
    const timestamps = new Float64Array(all.length);
    const ids = new Uint8Array(all.length * 32);
    all.forEach((e, i) => {
      timestamps[i] = e.event.created_at;
      ids.set(Buffer.from(e.event.id, 'hex'), i * 32);
    });
    return { count: all.length, timestamps, ids };
  }

  async purgeExpired(now: number): Promise<number> {
    let n = 0;
    for (const entry of [...this.byId.values()]) {
      if (expired(entry.event, now)) {
        this.byId.delete(entry.event.id);
        n++;
      }
    }
    return n;
  }

  async stats(): Promise<StoreStats> {
    let bytes = 0;
    for (const entry of this.byId.values()) bytes += Buffer.byteLength(entry.raw);
    return { events: this.byId.size, bytes, lastSerial: this.serial };
  }

  isOpen(): boolean {
    return this.open;
  }

  async getState(key: string): Promise<string | undefined> {
    assertStateInput('getState', stateKeyProblem(key));
    return this.state.get(key);
  }

  async putState(entries: ReadonlyArray<readonly [key: string, value: string | undefined]>): Promise<void> {
    assertStateInput('putState', stateEntriesProblem(entries));
    for (const [key, value] of entries) {
      if (value === undefined) this.state.delete(key);
      else this.state.set(key, value);
    }
  }

  async listState(prefix: string, limit: number, after?: string): Promise<Array<[string, string]>> {
    assertStateInput('listState', stateListProblem(prefix, limit, after));
    return [...this.state.entries()]
      .filter(([key]) => key.startsWith(prefix) && (after === undefined || compareStateKeys(key, after) > 0))
      .sort(([a], [b]) => compareStateKeys(a, b))
      .slice(0, limit);
  }

  async close(): Promise<void> {
    this.open = false;
  }
}
