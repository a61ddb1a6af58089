/**
 * ORLY's follow-list Syncer: every `intervalMs` (first after min(15 s, intervalMs)), fetch the
 * owners' and admins' kind 3 and kind 10002 from relays and store what is newer, so a follow
 * list published elsewhere reaches this relay.
 *
 * - Relays: the `r` tags of the owners' and admins' latest kind 10002 in the store (normalized,
 *   de-duplicated, at most MAX_RELAYS), without this relay's own names (ORLY_RELAY_URL,
 *   ORLY_RELAY_ADDRESSES, compared by host and port); when there are none, ORLY_BOOTSTRAP_RELAYS.
 *   No built-in public relays: nothing is dialled unless the operator set ORLY_BOOTSTRAP_RELAYS
 *   (FollowsAccessControl starts no refresher without it).
 * - At most CONCURRENCY relays at a time, each bounded by follow-list-fetch.ts (time, bytes,
 *   events; id and signature verified). The newest per author and kind over all relays is saved
 *   through the store (its replaceable rules apply: an older list than the stored one is
 *   refused), and each newly stored event is reported to `onStored` (the follow set is then
 *   recomputed as for any stored kind 3: a newer list without someone unfollows them).
 * - One run at a time; a tick during a run is skipped. Timers are unref'd; stop() aborts the
 *   sockets of a run and waits for it.
 */
import type { Logger } from '../logger.js';
import type { NostrEvent } from '../protocol/event.js';
import type { ClientStore } from '../store/event-store.js';
import { FETCHED_KINDS, type FetchLimits, fetchLists } from './follow-list-fetch.js';
import { isOwnRelay, normalizeRelayUrl } from './follows-config.js';

const CONCURRENCY = 4;
const MAX_RELAYS = 32;
const FIRST_RUN_MAX_DELAY_MS = 15_000;

export interface RefresherOptions {
  readonly store: ClientStore;
  /** The owners and admins, asked at each run. */
  readonly authors: () => readonly string[];
  /** Normalized URLs. */
  readonly bootstrapRelays: readonly string[];
  readonly ownHosts: readonly string[];
  readonly intervalMs: number;
  readonly onStored: (event: NostrEvent) => void;
  readonly logger?: Logger;
  readonly limits?: FetchLimits;
}

export interface RefreshSummary {
  readonly relays: readonly string[];
  /** Events newly stored. */
  readonly stored: number;
}

function newer(a: NostrEvent, b: NostrEvent | undefined): boolean {
  if (b === undefined) return true;
  if (a.created_at !== b.created_at) return a.created_at > b.created_at;
  return a.id < b.id;
}

export class FollowListRefresher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<RefreshSummary> | undefined;
  private readonly abort = new AbortController();

  constructor(private readonly options: RefresherOptions) {}

  start(): void {
    if (this.options.intervalMs <= 0 || this.abort.signal.aborted) return;
    this.schedule(Math.min(FIRST_RUN_MAX_DELAY_MS, this.options.intervalMs));
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.refresh()
        .catch((err: Error) => this.options.logger?.error({ err: err.message }, 'follow list refresh failed'))
        .finally(() => {
          if (!this.abort.signal.aborted) this.schedule(this.options.intervalMs);
        });
    }, ms);
    this.timer.unref();
  }

  /** One run now (or the one under way). */
  refresh(): Promise<RefreshSummary> {
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** The relays a run asks: the owners' and admins' kind 10002 `r` tags, else the bootstrap relays. */
  async relays(): Promise<string[]> {
    const authors = [...this.options.authors()];
    const latest = new Map<string, NostrEvent>();
    if (authors.length > 0) {
      for await (const { event } of this.options.store.query({ kinds: [10002], authors })) {
        if (event.kind === 10002 && newer(event, latest.get(event.pubkey))) latest.set(event.pubkey, event);
      }
    }
    const out: string[] = [];
    for (const ev of latest.values()) {
      for (const tag of ev.tags) {
        if (tag[0] !== 'r' || typeof tag[1] !== 'string') continue;
        const url = normalizeRelayUrl(tag[1]);
        if (url === undefined || out.includes(url) || isOwnRelay(url, this.options.ownHosts)) continue;
        out.push(url);
      }
    }
    const chosen =
      out.length > 0
        ? out
        : this.options.bootstrapRelays.filter((u) => !isOwnRelay(u, this.options.ownHosts));
    return chosen.slice(0, MAX_RELAYS);
  }

  private async run(): Promise<RefreshSummary> {
    const { logger, store, limits } = this.options;
    const authors = [...new Set(this.options.authors())];
    if (authors.length === 0) return { relays: [], stored: 0 };
    const relays = await this.relays();
    const best = new Map<string, NostrEvent>();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < relays.length && !this.abort.signal.aborted) {
        const url = relays[next++]!;
        const res = await fetchLists(url, authors, limits, this.abort.signal);
        const ok = res.end === 'eose' || res.end === 'limit';
        logger?.[ok ? 'info' : 'error'](
          {
            relay: url,
            fetched: res.events.length,
            received: res.received,
            rejected: res.rejected,
            end: res.end,
          },
          ok ? 'follow lists fetched' : 'follow list fetch incomplete',
        );
        for (const ev of res.events) {
          const key = `${ev.pubkey}:${ev.kind}`;
          if (newer(ev, best.get(key))) best.set(key, ev);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, relays.length) }, worker));
    let stored = 0;
    // Relay lists first: a run's kind 3s are then applied with this run's relay list stored.
    const events = [...best.values()].sort(
      (a, b) => FETCHED_KINDS.indexOf(b.kind) - FETCHED_KINDS.indexOf(a.kind),
    );
    for (const ev of events) {
      if (this.abort.signal.aborted) break;
      try {
        const res = await store.save(ev);
        if (res.stored && !res.duplicate) {
          stored++;
          this.options.onStored(ev);
        }
      } catch (err) {
        logger?.error({ err: (err as Error).message, id: ev.id }, 'could not store a fetched list');
      }
    }
    return { relays, stored };
  }

  async stop(): Promise<void> {
    this.abort.abort();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }
}
