/**
 * The per-event counters of ACL mode "curating": events accepted today (UTC) per unclassified
 * pubkey and per IP address, and the unclassified users seen (pubkey, events accepted in all,
 * last one). They change with every event, so they are NOT written one transaction per event:
 * they are kept in memory (for the decisions) and the changed entries are written to the
 * StateStore at most once a second, in batches, and on close(). A crash therefore loses at most
 * the last second of counts (a few events more get through that day); nothing else.
 *
 * Keys (under `acl/curating/`): `count/<YYYY-MM-DD>/p/<pubkey>` and `count/<YYYY-MM-DD>/ip/<ip>`
 * (decimal counts; the date first, so the days to drop are one prefix scan), and
 * `unclassified/<pubkey>` ({"events","last"}).
 *
 * Bounds (everything here grows with clients' traffic):
 * - only today's counters are in memory: at a new UTC day they start from zero (yesterday's
 *   stay in the state until the sweep drops days older than RETENTION_DAYS), at most
 *   MAX_COUNTERS_PER_DAY pubkeys and as many IPs a day (canCount() says when a new one cannot be
 *   tracked: the caller refuses it);
 * - at most MAX_UNCLASSIFIED unclassified users, the least recently seen dropped first.
 */
import type { Logger } from '../../logger.js';
import type { StateStore } from '../../store/event-store.js';

const PREFIX = 'acl/curating/';
const COUNT_PREFIX = `${PREFIX}count/`;
const USER_PREFIX = `${PREFIX}unclassified/`;
export const RETENTION_DAYS = 7;
export const MAX_COUNTERS_PER_DAY = 250_000;
export const MAX_UNCLASSIFIED = 100_000;
export const FLUSH_MS = 1000;
/** Entries per putState of a flush. */
const BATCH = 1000;
const PAGE = 10_000;
const DAY_MS = 86_400_000;

export interface UnclassifiedUser {
  /** Events accepted from it in all. */
  readonly events: number;
  /** Unix seconds of the last one. */
  readonly last: number;
}

/** The UTC date of a moment (ms), YYYY-MM-DD. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Every entry under `prefix`, read `pageSize` at a time. */
async function* listAll(
  state: StateStore,
  prefix: string,
  pageSize = PAGE,
): AsyncGenerator<readonly [string, string]> {
  let after: string | undefined;
  for (;;) {
    const page = await state.listState(prefix, pageSize, after);
    yield* page;
    if (page.length < pageSize) return;
    after = page[page.length - 1]![0];
  }
}

export class CuratingCounters {
  private day: string;
  private pubkeys = new Map<string, number>();
  private ips = new Map<string, number>();
  /** Least recently seen first. */
  private readonly users = new Map<string, UnclassifiedUser>();
  /** State writes not yet flushed (a key's latest value; undefined deletes it). */
  private pending = new Map<string, string | undefined>();
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly state: StateStore,
    private readonly now: () => number,
    private readonly logger: Logger | undefined,
  ) {
    this.day = utcDay(now());
  }

  /** Reads today's counters and the unclassified users from the state. */
  static async load(state: StateStore, now: () => number, logger?: Logger): Promise<CuratingCounters> {
    const counters = new CuratingCounters(state, now, logger);
    const today = `${COUNT_PREFIX}${counters.day}/`;
    for await (const [key, value] of listAll(state, today)) {
      const rest = key.slice(today.length);
      const count = Number(value);
      if (!Number.isSafeInteger(count) || count < 0) continue;
      if (rest.startsWith('p/')) counters.pubkeys.set(rest.slice(2), count);
      else if (rest.startsWith('ip/')) counters.ips.set(rest.slice(3), count);
    }
    for await (const [key, value] of listAll(state, USER_PREFIX)) {
      try {
        const parsed = JSON.parse(value) as Partial<UnclassifiedUser>;
        counters.users.set(key.slice(USER_PREFIX.length), {
          events: Number(parsed.events) || 0,
          last: Number(parsed.last) || 0,
        });
      } catch {}
    }
    // Least recently seen first, as touch() keeps it.
    const sorted = [...counters.users].sort((a, b) => a[1].last - b[1].last);
    counters.users.clear();
    for (const [pubkey, user] of sorted) counters.users.set(pubkey, user);
    return counters;
  }

  /** Starts a new day's counters when the UTC date changed. */
  private roll(): void {
    const day = utcDay(this.now());
    if (day === this.day) return;
    this.day = day;
    this.pubkeys = new Map();
    this.ips = new Map();
  }

  /** Events counted today for this pubkey. */
  pubkeyCount(pubkey: string): number {
    this.roll();
    return this.pubkeys.get(pubkey) ?? 0;
  }

  /** Events counted today from this IP. */
  ipCount(ip: string): number {
    this.roll();
    return this.ips.get(ip) ?? 0;
  }

  /** False when a pubkey or IP not yet counted today cannot be (MAX_COUNTERS_PER_DAY reached). */
  canCount(pubkey: string, ip: string): boolean {
    this.roll();
    if (!this.pubkeys.has(pubkey) && this.pubkeys.size >= MAX_COUNTERS_PER_DAY) return false;
    return ip === '' || this.ips.has(ip) || this.ips.size < MAX_COUNTERS_PER_DAY;
  }

  /** Counts one accepted event of an unclassified pubkey (from `ip`, '' when unknown). */
  count(pubkey: string, ip: string): void {
    this.roll();
    const nowMs = this.now();
    const byPubkey = (this.pubkeys.get(pubkey) ?? 0) + 1;
    this.pubkeys.set(pubkey, byPubkey);
    this.pending.set(`${COUNT_PREFIX}${this.day}/p/${pubkey}`, String(byPubkey));
    if (ip !== '') {
      const byIp = (this.ips.get(ip) ?? 0) + 1;
      this.ips.set(ip, byIp);
      this.pending.set(`${COUNT_PREFIX}${this.day}/ip/${ip}`, String(byIp));
    }
    const user = this.users.get(pubkey);
    this.touch(pubkey, { events: (user?.events ?? 0) + 1, last: Math.floor(nowMs / 1000) });
    this.schedule();
  }

  /** Sets an unclassified user's record (most recently seen), dropping the least recent beyond the cap. */
  private touch(pubkey: string, user: UnclassifiedUser): void {
    this.users.delete(pubkey);
    this.users.set(pubkey, user);
    this.pending.set(`${USER_PREFIX}${pubkey}`, JSON.stringify(user));
    while (this.users.size > MAX_UNCLASSIFIED) {
      const [oldest] = this.users.keys();
      this.users.delete(oldest!);
      this.pending.set(`${USER_PREFIX}${oldest}`, undefined);
    }
  }

  /** Merges what a scan of the stored events found (scanpubkeys): the larger count, the later event. */
  merge(pubkey: string, events: number, last: number): void {
    const user = this.users.get(pubkey);
    if (user !== undefined && user.events >= events && user.last >= last) return;
    this.touch(pubkey, {
      events: Math.max(user?.events ?? 0, events),
      last: Math.max(user?.last ?? 0, last),
    });
    this.schedule();
  }

  /** Drops a pubkey from the unclassified users (it was trusted or blacklisted). */
  forget(pubkey: string): void {
    if (!this.users.delete(pubkey)) return;
    this.pending.set(`${USER_PREFIX}${pubkey}`, undefined);
    this.schedule();
  }

  /** The unclassified users, most events first (then the most recent), at most `limit`. */
  unclassified(limit: number): Array<[string, UnclassifiedUser]> {
    return [...this.users].sort((a, b) => b[1].events - a[1].events || b[1].last - a[1].last).slice(0, limit);
  }

  private schedule(): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush().catch((err: Error) =>
        this.logger?.warn({ err: err.message }, 'curating counters not written, retrying in a second'),
      );
    }, FLUSH_MS);
    this.timer.unref();
  }

  /** Writes the changed entries now (after any flush already running). */
  flush(): Promise<void> {
    const run = this.chain.then(() => this.writePending());
    this.chain = run.catch(() => {});
    return run;
  }

  private async writePending(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    const entries = [...batch];
    try {
      for (let i = 0; i < entries.length; i += BATCH) await this.state.putState(entries.slice(i, i + BATCH));
    } catch (err) {
      // Written again at the next flush, unless changed meanwhile (then the newer value is).
      for (const [key, value] of entries) if (!this.pending.has(key)) this.pending.set(key, value);
      this.schedule();
      throw err;
    }
  }

  /** Deletes the counters of days older than RETENTION_DAYS from the state; how many keys went. */
  async sweep(): Promise<number> {
    const cutoff = `${COUNT_PREFIX}${utcDay(this.now() - RETENTION_DAYS * DAY_MS)}/`;
    let removed = 0;
    let batch: Array<[string, undefined]> = [];
    // Small pages: usually the first key is already a day to keep.
    for await (const [key] of listAll(this.state, COUNT_PREFIX, BATCH)) {
      // Keys sort by date: the first key of a day kept ends the scan.
      if (key >= cutoff) break;
      batch.push([key, undefined]);
      if (batch.length === BATCH) {
        await this.state.putState(batch);
        removed += batch.length;
        batch = [];
      }
    }
    if (batch.length > 0) await this.state.putState(batch);
    return removed + batch.length;
  }

  /** Stops the flush timer and writes what is pending. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}
