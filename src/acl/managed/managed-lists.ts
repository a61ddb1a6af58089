/**
 * The lists of ACL mode "managed", kept in memory for every decision and written through to
 * the event store's own database (the StateStore role: LMDB locally, orly-db in split mode), so
 * they survive restarts and are never a second database. Keys: `acl/managed/<list>/<key>`,
 * values JSON `{"reason","at"}`; relay information set over NIP-86 under `acl/relay-info/<field>`.
 *
 * Every list is edited by owners and admins only, except `moderation` (events reported by users
 * with NIP-56 kind 1984), which anyone can grow: it is bounded (MAX_MODERATION entries; further
 * reports are dropped until the operator clears some).
 */
import type { StateStore } from '../../store/event-store.js';
import type { RelayInfoOverrides } from '../management.js';

export type ManagedList =
  | 'banned-pubkey'
  | 'allowed-pubkey'
  | 'banned-event'
  | 'allowed-event'
  | 'blocked-ip'
  | 'allowed-kind'
  | 'moderation';

const LISTS: readonly ManagedList[] = [
  'banned-pubkey',
  'allowed-pubkey',
  'banned-event',
  'allowed-event',
  'blocked-ip',
  'allowed-kind',
  'moderation',
];

export interface ListEntry {
  readonly reason: string;
  /** Unix seconds when it was added. */
  readonly at: number;
}

const PREFIX = 'acl/managed/';
const INFO_PREFIX = 'acl/relay-info/';
const INFO_FIELDS = ['name', 'description', 'icon'] as const;
const PAGE = 10_000;
export const MAX_MODERATION = 10_000;

export class ManagedLists {
  private readonly lists = new Map<ManagedList, Map<string, ListEntry>>();
  /** keySet() results, dropped when their list changes. */
  private readonly keySets = new Map<ManagedList, ReadonlySet<string>>();
  private info: RelayInfoOverrides = {};

  private constructor(private readonly state: StateStore) {
    for (const list of LISTS) this.lists.set(list, new Map());
  }

  /** Reads every list from the store. */
  static async load(state: StateStore): Promise<ManagedLists> {
    const lists = new ManagedLists(state);
    for (const list of LISTS) {
      const prefix = `${PREFIX}${list}/`;
      const into = lists.lists.get(list)!;
      let after: string | undefined;
      for (;;) {
        const page = await state.listState(prefix, PAGE, after);
        for (const [key, value] of page) into.set(key.slice(prefix.length), parseEntry(value));
        if (page.length < PAGE) break;
        after = page[page.length - 1]![0];
      }
    }
    const info: Record<string, string> = {};
    for (const [key, value] of await state.listState(INFO_PREFIX, PAGE))
      info[key.slice(INFO_PREFIX.length)] = value;
    lists.info = info;
    return lists;
  }

  has(list: ManagedList, key: string): boolean {
    return this.lists.get(list)!.has(key);
  }

  size(list: ManagedList): number {
    return this.lists.get(list)!.size;
  }

  /** The keys of a list as a set (kept until the list changes). */
  keySet(list: ManagedList): ReadonlySet<string> {
    let keys = this.keySets.get(list);
    if (keys === undefined) {
      keys = new Set(this.lists.get(list)!.keys());
      this.keySets.set(list, keys);
    }
    return keys;
  }

  entries(list: ManagedList): Array<[string, ListEntry]> {
    return [...this.lists.get(list)!.entries()];
  }

  /** Adds or updates an entry, durably, and removes `key` from `exclusive` (a list it cannot be on at the same time). */
  async set(list: ManagedList, key: string, reason: string, exclusive?: ManagedList): Promise<void> {
    const entry: ListEntry = { reason, at: Math.floor(Date.now() / 1000) };
    const writes: Array<[string, string | undefined]> = [[`${PREFIX}${list}/${key}`, JSON.stringify(entry)]];
    if (exclusive !== undefined) writes.push([`${PREFIX}${exclusive}/${key}`, undefined]);
    // In memory at once (decisions see it from now on), undone if the write fails.
    const before = this.lists.get(list)!.get(key);
    const wasExclusive = exclusive === undefined ? undefined : this.lists.get(exclusive)!.get(key);
    this.put(list, key, entry);
    if (exclusive !== undefined) this.put(exclusive, key, undefined);
    try {
      await this.state.putState(writes);
    } catch (err) {
      this.put(list, key, before);
      if (exclusive !== undefined) this.put(exclusive, key, wasExclusive);
      throw err;
    }
  }

  /** Removes an entry, durably; false when it was not there. */
  async remove(list: ManagedList, key: string): Promise<boolean> {
    const before = this.lists.get(list)!.get(key);
    if (before === undefined) return false;
    this.put(list, key, undefined);
    try {
      await this.state.putState([[`${PREFIX}${list}/${key}`, undefined]]);
    } catch (err) {
      this.put(list, key, before);
      throw err;
    }
    return true;
  }

  /** Sets (entry) or deletes (undefined) in memory. */
  private put(list: ManagedList, key: string, entry: ListEntry | undefined): void {
    const map = this.lists.get(list)!;
    if (entry === undefined) {
      if (map.delete(key)) this.keySets.delete(list);
      return;
    }
    map.set(key, entry);
    this.keySets.delete(list);
  }

  relayInfo(): RelayInfoOverrides {
    return this.info;
  }

  async setRelayInfo(field: (typeof INFO_FIELDS)[number], value: string): Promise<void> {
    await this.state.putState([[`${INFO_PREFIX}${field}`, value]]);
    this.info = { ...this.info, [field]: value };
  }
}

function parseEntry(value: string): ListEntry {
  try {
    const parsed = JSON.parse(value) as Partial<ListEntry>;
    return { reason: typeof parsed.reason === 'string' ? parsed.reason : '', at: Number(parsed.at) || 0 };
  } catch {
    return { reason: '', at: 0 };
  }
}
