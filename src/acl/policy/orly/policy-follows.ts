/**
 * The follows of the policy admins (ORLY's write_allow_follows / *_follows_whitelist): the
 * p tags of each admin's newest kind 3, loaded from the store when the policy is (re)loaded and
 * kept current from the kind 3 events the policy accepts (they are about to be stored). Bounded:
 * at most MAX_FOLLOWS pubkeys (beyond: logged once, the rest ignored).
 */
import type { Logger } from '../../../logger.js';
import type { NostrEvent } from '../../../protocol/event.js';
import type { ClientStore } from '../../../store/event-store.js';
import { followsOf, replacesFollowList } from '../../follow-list.js';

export const MAX_FOLLOWS = 100_000;

export class PolicyFollows {
  private admins: ReadonlySet<string> = new Set();
  /** Per admin: the created_at and p tags of the newest kind 3 seen. */
  private readonly lists = new Map<
    string,
    { readonly createdAt: number; readonly id: string; readonly follows: ReadonlySet<string> }
  >();
  private merged: ReadonlySet<string> = new Set();

  constructor(
    private readonly store: Pick<ClientStore, 'query'>,
    private readonly logger: Logger,
  ) {}

  /** The follows, merged; a new object whenever they change. */
  get set(): ReadonlySet<string> {
    return this.merged;
  }

  /** Loads the admins' newest kind 3 from the store (replacing what was known). */
  async load(admins: readonly string[]): Promise<void> {
    this.admins = new Set(admins);
    this.lists.clear();
    if (admins.length > 0) {
      for await (const stored of this.store.query({
        kinds: [3],
        authors: [...admins],
        limit: admins.length * 4,
      })) {
        this.take(stored.event);
      }
    }
    this.rebuild();
  }

  /** An accepted kind 3 from an admin, newer than the one known, replaces it. */
  offer(event: NostrEvent): void {
    if (event.kind !== 3 || !this.admins.has(event.pubkey)) return;
    if (this.take(event)) this.rebuild();
  }

  private take(event: NostrEvent): boolean {
    if (!replacesFollowList(event, this.lists.get(event.pubkey))) return false;
    this.lists.set(event.pubkey, { createdAt: event.created_at, id: event.id, follows: followsOf(event) });
    return true;
  }

  private rebuild(): void {
    const merged = new Set<string>();
    let dropped = 0;
    for (const { follows } of this.lists.values()) {
      for (const pubkey of follows) {
        if (merged.size < MAX_FOLLOWS) merged.add(pubkey);
        else if (!merged.has(pubkey)) dropped++;
      }
    }
    if (dropped > 0)
      this.logger.warn({ max: MAX_FOLLOWS, dropped }, 'policy follows over the limit; the rest ignored');
    this.merged = merged;
  }
}
