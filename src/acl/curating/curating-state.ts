/**
 * The durable lists of ACL mode "curating", kept in memory for every decision and written
 * through to the event store's own database (the StateStore role: LMDB locally, orly-db in
 * split mode) under `acl/curating/`: in memory at once, undone if the write fails (as
 * managed-lists.ts). The per-event counters and the unclassified users are apart
 * (curating-counters.ts): they change with every event and are written in batches.
 *
 * Keys (values JSON):
 * - `trusted/<pubkey>` {text (note), at}, `blacklisted/<pubkey>` {text (reason), at}: mutually
 *   exclusive (setting one removes the other), lowercase hex;
 * - `spam/<event id>` {pubkey, reason, at};
 * - `blocked-ip/<ip>` {reason, expiresAt, at}: timed IP blocks;
 * - `offense/<ip>` {count, pubkeys, last, forgetAt}: the distinct pubkeys that tripped a limit
 *   from that IP. An offense record outlives its block by OFFENSE_MEMORY_SECONDS (7 days), so a
 *   new offense after a block ended escalates to the second ban; then it is forgotten;
 * - `config` {eventId, pubkey, createdAt, configuredAt, config}: the applied configuration.
 * Times are unix seconds. Blocks and offense records are made by clients' traffic: each table
 * holds at most MAX_IP_RECORDS entries (the oldest is dropped to make room) and the sweep
 * removes the expired ones. The other lists are edited by owners and admins only.
 */
import type { StateStore } from '../../store/event-store.js';
import { type CuratingConfig, configFromJson, KindAllowList } from './curating-config.js';
import { commit, StateTable, type TableChange } from './curating-table.js';

const PREFIX = 'acl/curating/';
const CONFIG_KEY = `${PREFIX}config`;
/** How long an IP's offenses are remembered after its last block ended. */
export const OFFENSE_MEMORY_SECONDS = 7 * 86_400;
/** The most IP blocks, and the most offense records, kept. */
export const MAX_IP_RECORDS = 100_000;
/** The most distinct offending pubkeys remembered per IP (the count goes on). */
const MAX_OFFENSE_PUBKEYS = 100;

export interface PubkeyEntry {
  /** The note (trusted) or reason (blacklisted). */
  readonly text: string;
  readonly at: number;
}

export interface SpamEntry {
  readonly pubkey: string;
  readonly reason: string;
  readonly at: number;
}

export interface IpBlock {
  readonly reason: string;
  readonly expiresAt: number;
  readonly at: number;
}

export interface Offense {
  readonly count: number;
  readonly pubkeys: readonly string[];
  readonly last: number;
  readonly forgetAt: number;
}

export interface AppliedConfig {
  readonly eventId: string;
  readonly pubkey: string;
  /** The config event's created_at. */
  readonly createdAt: number;
  /** When this relay applied it. */
  readonly configuredAt: number;
  readonly config: CuratingConfig;
}

export type Classification = 'trusted' | 'blacklisted';

type Json = Record<string, unknown>;
const str = (v: unknown) => (typeof v === 'string' ? v : '');
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const obj = (v: unknown): Json | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;

const parsePubkeyEntry = (v: unknown): PubkeyEntry | undefined => {
  const o = obj(v);
  return o && { text: str(o.text), at: num(o.at) };
};
const parseSpam = (v: unknown): SpamEntry | undefined => {
  const o = obj(v);
  return o && { pubkey: str(o.pubkey), reason: str(o.reason), at: num(o.at) };
};
const parseBlock = (v: unknown): IpBlock | undefined => {
  const o = obj(v);
  return o && { reason: str(o.reason), expiresAt: num(o.expiresAt), at: num(o.at) };
};
const parseOffense = (v: unknown): Offense | undefined => {
  const o = obj(v);
  if (o === undefined) return undefined;
  const pubkeys = Array.isArray(o.pubkeys) ? o.pubkeys.filter((p): p is string => typeof p === 'string') : [];
  return { count: num(o.count), pubkeys, last: num(o.last), forgetAt: num(o.forgetAt) };
};

function parseApplied(value: string | undefined): AppliedConfig | undefined {
  if (value === undefined) return undefined;
  let o: Json | undefined;
  try {
    o = obj(JSON.parse(value));
  } catch {
    return undefined;
  }
  const config = configFromJson(o?.config);
  if (o === undefined || config === undefined || str(o.eventId) === '') return undefined;
  return {
    eventId: str(o.eventId),
    pubkey: str(o.pubkey),
    createdAt: num(o.createdAt),
    configuredAt: num(o.configuredAt),
    config,
  };
}

/** Drops the oldest entry of a full table about to get a new key. */
function makeRoom<T>(table: StateTable<T>, key: string): TableChange[] {
  if (table.has(key) || table.size < MAX_IP_RECORDS) return [];
  const oldest = table.first();
  return oldest === undefined ? [] : [table.put(oldest[0], undefined)];
}

export class CuratingState {
  private readonly tables = {
    trusted: new StateTable(`${PREFIX}trusted/`, parsePubkeyEntry),
    blacklisted: new StateTable(`${PREFIX}blacklisted/`, parsePubkeyEntry),
  } as const;
  private readonly spam = new StateTable(`${PREFIX}spam/`, parseSpam);
  private readonly blocks = new StateTable(`${PREFIX}blocked-ip/`, parseBlock);
  private readonly offenses = new StateTable(`${PREFIX}offense/`, parseOffense);
  private applied: AppliedConfig | undefined;
  private allowList: KindAllowList | undefined;

  private constructor(private readonly state: StateStore) {}

  /** Reads everything from the state. */
  static async load(state: StateStore): Promise<CuratingState> {
    const s = new CuratingState(state);
    for (const table of [s.tables.trusted, s.tables.blacklisted, s.spam, s.blocks, s.offenses])
      await table.load(state);
    s.useConfig(parseApplied(await state.getState(CONFIG_KEY)));
    return s;
  }

  // Trusted and blacklisted pubkeys.

  is(list: Classification, pubkey: string): boolean {
    return this.tables[list].has(pubkey);
  }

  list(list: Classification): Array<[string, PubkeyEntry]> {
    return [...this.tables[list].entries()];
  }

  /** The blacklisted pubkeys, the same set while the list does not change. */
  blacklistSet(): ReadonlySet<string> {
    return this.tables.blacklisted.keySet();
  }

  /** Puts `pubkey` on `list` and off the other one, durably. */
  async classify(list: Classification, pubkey: string, text: string, now: number): Promise<void> {
    const other: Classification = list === 'trusted' ? 'blacklisted' : 'trusted';
    await commit(this.state, [
      this.tables[list].put(pubkey, { text, at: now }),
      this.tables[other].put(pubkey, undefined),
    ]);
  }

  /** Takes `pubkey` off `list`, durably; false when it was not on it. */
  async unclassify(list: Classification, pubkey: string): Promise<boolean> {
    if (!this.tables[list].has(pubkey)) return false;
    await commit(this.state, [this.tables[list].put(pubkey, undefined)]);
    return true;
  }

  // Spam-flagged events.

  isSpam(id: string): boolean {
    return this.spam.has(id);
  }

  spamList(): Array<[string, SpamEntry]> {
    return [...this.spam.entries()];
  }

  async markSpam(id: string, entry: SpamEntry): Promise<void> {
    await commit(this.state, [this.spam.put(id, entry)]);
  }

  async unmarkSpam(id: string): Promise<boolean> {
    if (!this.spam.has(id)) return false;
    await commit(this.state, [this.spam.put(id, undefined)]);
    return true;
  }

  // Timed IP blocks and offenses.

  /** The block of `ip` in force at `now`, if any. */
  activeBlock(ip: string, now: number): IpBlock | undefined {
    const block = this.blocks.get(ip);
    return block !== undefined && block.expiresAt > now ? block : undefined;
  }

  /** The blocks in force at `now`. */
  activeBlocks(now: number): Array<[string, IpBlock]> {
    return [...this.blocks.entries()].filter(([, block]) => block.expiresAt > now);
  }

  offense(ip: string): Offense | undefined {
    return this.offenses.get(ip);
  }

  /**
   * Records that `pubkey` tripped a limit from `ip`. A pubkey already counted for this IP adds
   * nothing (undefined). Otherwise the offense count grows and the IP is blocked: the first
   * offense for `firstHours`, any later one for `secondHours`. In memory at once; the promise
   * settles with the write (undone if it fails).
   */
  recordOffense(
    ip: string,
    pubkey: string,
    why: string,
    now: number,
    hours: { readonly first: number; readonly second: number },
  ): { readonly block: IpBlock; readonly written: Promise<void> } | undefined {
    const before = this.offenses.get(ip);
    if (before?.pubkeys.includes(pubkey)) return undefined;
    const count = (before?.count ?? 0) + 1;
    const expiresAt = now + (count === 1 ? hours.first : hours.second) * 3600;
    const block: IpBlock = { reason: `offense ${count}: ${why}`, expiresAt, at: now };
    const offense: Offense = {
      count,
      pubkeys: [...(before?.pubkeys ?? []), pubkey].slice(-MAX_OFFENSE_PUBKEYS),
      last: now,
      forgetAt: expiresAt + OFFENSE_MEMORY_SECONDS,
    };
    const changes = [
      ...makeRoom(this.blocks, ip),
      this.blocks.put(ip, block),
      ...makeRoom(this.offenses, ip),
      this.offenses.put(ip, offense),
    ];
    return { block, written: commit(this.state, changes) };
  }

  /** Lifts the block of `ip` and forgets its offenses, durably; false when it had neither. */
  async unblock(ip: string): Promise<boolean> {
    if (!this.blocks.has(ip) && !this.offenses.has(ip)) return false;
    await commit(this.state, [this.blocks.put(ip, undefined), this.offenses.put(ip, undefined)]);
    return true;
  }

  /** Removes the blocks expired at `now` and the offense records to forget; how many entries went. */
  async sweep(now: number): Promise<number> {
    const changes: TableChange[] = [];
    for (const [ip, block] of [...this.blocks.entries()])
      if (block.expiresAt <= now) changes.push(this.blocks.put(ip, undefined));
    for (const [ip, offense] of [...this.offenses.entries()])
      if (offense.forgetAt <= now) changes.push(this.offenses.put(ip, undefined));
    for (let i = 0; i < changes.length; i += 1000) await commit(this.state, changes.slice(i, i + 1000));
    return changes.length;
  }

  // The configuration.

  get config(): AppliedConfig | undefined {
    return this.applied;
  }

  /** The allow list of the applied config (undefined while not configured). */
  get kinds(): KindAllowList | undefined {
    return this.allowList;
  }

  /** Applies a configuration, durably (in memory at once, the previous one back if the write fails). */
  async setConfig(applied: AppliedConfig): Promise<void> {
    const before = this.applied;
    this.useConfig(applied);
    try {
      await this.state.putState([[CONFIG_KEY, JSON.stringify(applied)]]);
    } catch (err) {
      if (this.applied === applied) this.useConfig(before);
      throw err;
    }
  }

  private useConfig(applied: AppliedConfig | undefined): void {
    this.applied = applied;
    this.allowList = applied === undefined ? undefined : new KindAllowList(applied.config);
  }
}
