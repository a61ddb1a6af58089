/**
 * Live-subscription index: finds the subscriptions a new event may match without scanning
 * every subscription. Each filter is filed under its most selective field (ids, then authors,
 * then one tag letter, then kinds; filters with none of those go in a catch-all list), and an
 * event looks up only the buckets for its own id, pubkey, tags and kind. Candidates are then
 * checked with the exact matcher, and each subscription is reported at most once per event.
 */
import type { NostrEvent } from '../protocol/event.js';
import { matchFilter, type NormalizedFilter } from '../protocol/filter.js';

export interface Indexable {
  readonly filters: readonly NormalizedFilter[];
  /** Scratch field used to report a subscription once per event; owned by the index. */
  lastMatchEpoch: number;
}

type Bucket<S> = Map<string | number, Set<Entry<S>>>;

interface Entry<S> {
  readonly sub: S;
  readonly filter: NormalizedFilter;
}

interface Filing<S> {
  readonly bucket: Bucket<S> | undefined;
  readonly keys: readonly (string | number)[];
  readonly entry: Entry<S>;
}

export class SubscriptionIndex<S extends Indexable> {
  private readonly byId: Bucket<S> = new Map();
  private readonly byAuthor: Bucket<S> = new Map();
  private readonly byTag: Bucket<S> = new Map();
  private readonly byKind: Bucket<S> = new Map();
  private readonly catchAll = new Set<Entry<S>>();
  private readonly filings = new Map<S, Filing<S>[]>();
  private epoch = 0;

  get size(): number {
    return this.filings.size;
  }

  add(sub: S): void {
    if (this.filings.has(sub)) this.remove(sub);
    const filings: Filing<S>[] = [];
    for (const filter of sub.filters) {
      const entry: Entry<S> = { sub, filter };
      const [bucket, keys] = this.placement(filter);
      if (bucket === undefined) this.catchAll.add(entry);
      else
        for (const key of keys) {
          let set = bucket.get(key);
          if (!set) {
            set = new Set();
            bucket.set(key, set);
          }
          set.add(entry);
        }
      filings.push({ bucket, keys, entry });
    }
    this.filings.set(sub, filings);
  }

  remove(sub: S): void {
    const filings = this.filings.get(sub);
    if (!filings) return;
    this.filings.delete(sub);
    for (const { bucket, keys, entry } of filings) {
      if (bucket === undefined) {
        this.catchAll.delete(entry);
        continue;
      }
      for (const key of keys) {
        const set = bucket.get(key);
        if (!set) continue;
        set.delete(entry);
        if (set.size === 0) bucket.delete(key);
      }
    }
  }

  /** Calls `deliver` once for every subscription with a filter matching the event. */
  forEachMatch(event: NostrEvent, deliver: (sub: S) => void): void {
    const epoch = ++this.epoch;
    const visit = (set: Set<Entry<S>> | undefined) => {
      if (!set) return;
      for (const { sub, filter } of set) {
        if (sub.lastMatchEpoch === epoch) continue;
        if (!matchFilter(filter, event)) continue;
        sub.lastMatchEpoch = epoch;
        deliver(sub);
      }
    };
    if (this.byId.size > 0) visit(this.byId.get(event.id));
    if (this.byAuthor.size > 0) visit(this.byAuthor.get(event.pubkey));
    if (this.byTag.size > 0) {
      for (const tag of event.tags) {
        const name = tag[0];
        if (name !== undefined && name.length === 1 && tag.length > 1)
          visit(this.byTag.get(`${name}:${tag[1]}`));
      }
    }
    if (this.byKind.size > 0) visit(this.byKind.get(event.kind));
    visit(this.catchAll);
  }

  private placement(filter: NormalizedFilter): [Bucket<S> | undefined, readonly (string | number)[]] {
    if (filter.ids) return [this.byId, filter.ids];
    if (filter.authors) return [this.byAuthor, filter.authors];
    if (filter.tags && filter.tags.size > 0) {
      const [letter, values] = filter.tags.entries().next().value as [string, readonly string[]];
      return [this.byTag, values.map((v) => `${letter}:${v}`)];
    }
    if (filter.kinds) return [this.byKind, filter.kinds];
    return [undefined, []];
  }
}
