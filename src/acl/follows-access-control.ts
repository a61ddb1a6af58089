/**
 * ACL mode "follows": the relay accepts events from its owners, its admins and every pubkey
 * they follow; everything else is refused with `blocked:`. Reads stay open.
 *
 * Decisions:
 * - The EVENT's author (event.pubkey) is what is checked, not the NIP-42 authenticated
 *   pubkey: the event is signed (the relay verifies the signature before asking), so the
 *   author is proven, and a followed author's event may be delivered by any client (a
 *   re-broadcaster, a backfill). Authenticating as an admin does not allow publishing other
 *   people's events; backfills go through `orly import`. The prefix is `blocked:` because
 *   authenticating cannot change the answer (it is not `auth-required:`).
 * - The follow set is the union of the `p` tags of the latest kind 3 of every owner AND admin
 *   (ORLY uses the admins' lists only; owners are at least as trusted, so their follows count).
 *   Only 64-hex `p` values are taken (upper case is normalized to lower case).
 * - It is loaded from the store at start (one query: kinds [3], authors owners+admins) and
 *   kept current three ways: `eventStored(event)` (the in-process relay reports every stored
 *   event), `store.watch` when the store offers a change feed (remote orly-db: orly-acl learns
 *   about kind 3s stored by the relay), and a periodic reload (the change feed does not replay
 *   what was committed while it was disconnected, e.g. across an orly-db restart). A newer kind 3 of a privileged author replaces its
 *   list at once, without a store round trip; a kind 5 from one triggers a full reload (it may
 *   have deleted a kind 3). Unfollows therefore take effect immediately (ORLY's refresh is
 *   additive only).
 * - Levels: owner, admin, write (followed), read (everyone else, unauthenticated included);
 *   with the throttle on, everyone else is `write` (ORLY's behaviour).
 * - Throttle (ORLY_FOLLOWS_THROTTLE, follows-throttle.ts): unfollowed authors are accepted, and
 *   `writeDelayMs` charges each of their EVENTs to the IP's and the author's leaky accumulator
 *   and returns the delay the relay waits before storing it. Owners, admins and followed
 *   authors are never delayed. The same object decides in orly-acl, which sends the delay back
 *   in CheckAccess's answer, so the throttle works in split mode too (ORLY does not apply it
 *   behind a gRPC ACL).
 * - Refresh (ORLY_BOOTSTRAP_RELAYS, ORLY_FOLLOW_LIST_FREQUENCY; follow-list-refresh.ts): the
 *   owners' and admins' kind 3 and 10002 are fetched periodically from their own relay lists or
 *   the bootstrap relays, verified, saved through the store and applied like any stored kind 3
 *   (so unfollows take effect, unlike ORLY's additive refresh). It runs here, in the object that
 *   owns the follow set: once per relay in local mode, once in orly-acl in split mode. Without
 *   ORLY_BOOTSTRAP_RELAYS nothing is fetched: the relay never dials out on its own.
 */
import { Reasons } from '../errors.js';
import type { Logger } from '../logger.js';
import type { NostrEvent } from '../protocol/event.js';
import type { ChangeFeed, ClientStore } from '../store/event-store.js';
import type { AccessControl, AccessControlUpdate, AccessLevel, Requester } from './access-control.js';
import { followsOf, replacesFollowList } from './follow-list.js';
import type { FetchLimits } from './follow-list-fetch.js';
import { FollowListRefresher } from './follow-list-refresh.js';
import type { FollowsSettings } from './follows-config.js';
import { FollowsThrottle, type ThrottleOptions } from './follows-throttle.js';

export const FOLLOWS_DENIED = Reasons.followsOnly;

export interface FollowsOptions {
  /** Queried for kind 3 lists; its change feed, when it has one, is followed. */
  readonly store: ClientStore & Partial<ChangeFeed>;
  /** Lowercase hex pubkeys. */
  readonly owners: readonly string[];
  /** Lowercase hex pubkeys. */
  readonly admins: readonly string[];
  readonly logger?: Logger;
  /** Full reload from the store every this many ms (0 = never). Default 60 s. */
  readonly reloadIntervalMs?: number;
  /** The throttle and refresh variables (follows-config.ts); none: no throttle, no refresh. */
  readonly settings?: FollowsSettings;
  /** Overrides of the throttle's options (tests: a clock, a key bound). */
  readonly throttleOptions?: Partial<ThrottleOptions>;
  /** Bounds of each relay's fetch (tests). */
  readonly fetchLimits?: FetchLimits;
}

interface FollowList {
  readonly createdAt: number;
  readonly id: string;
  readonly follows: ReadonlySet<string>;
}

export class FollowsAccessControl implements AccessControl {
  readonly mode = 'follows';
  private owners: ReadonlySet<string>;
  private admins: ReadonlySet<string>;
  /** Latest kind 3 per privileged author. */
  private lists = new Map<string, FollowList>();
  private follows: ReadonlySet<string> = new Set();
  private reloading: Promise<void> | undefined;
  private reloadRequested = false;
  /** Kind 3s reported while a reload runs, re-applied on top of its result. */
  private appliedDuringReload: NostrEvent[] | undefined;
  private unwatch: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly throttle: FollowsThrottle | undefined;
  /** The periodic fetch from relays; undefined without ORLY_BOOTSTRAP_RELAYS or with frequency 0. */
  readonly refresher: FollowListRefresher | undefined;

  private constructor(private readonly options: FollowsOptions) {
    this.owners = new Set(options.owners);
    this.admins = new Set(options.admins);
    const settings = options.settings;
    if (settings?.throttle)
      this.throttle = new FollowsThrottle({ ...settings.throttle, ...options.throttleOptions });
    if (settings && settings.bootstrapRelays.length > 0 && settings.refreshIntervalMs > 0) {
      this.refresher = new FollowListRefresher({
        store: options.store,
        authors: () => [...this.owners, ...this.admins],
        bootstrapRelays: settings.bootstrapRelays,
        ownHosts: settings.ownHosts,
        intervalMs: settings.refreshIntervalMs,
        onStored: (event) => this.eventStored(event),
        ...(options.logger ? { logger: options.logger.child({ component: 'follow-list-refresh' }) } : {}),
        ...(options.fetchLimits ? { limits: options.fetchLimits } : {}),
      });
    }
  }

  /** Loads the follow set (a store error fails the creation) and starts following changes. */
  static async create(options: FollowsOptions): Promise<FollowsAccessControl> {
    const acl = new FollowsAccessControl(options);
    await acl.reload();
    if (options.store.watch) acl.unwatch = options.store.watch((stored) => acl.eventStored(stored.event));
    const every = options.reloadIntervalMs ?? 60_000;
    if (every > 0) {
      acl.timer = setInterval(() => acl.backgroundReload('periodic'), every);
      acl.timer.unref();
    }
    acl.refresher?.start();
    return acl;
  }

  /** Number of followed pubkeys (owners and admins not counted unless followed). */
  get followCount(): number {
    return this.follows.size;
  }

  private isPrivileged(pubkey: string): boolean {
    return this.owners.has(pubkey) || this.admins.has(pubkey);
  }

  private levelOf(pubkey: string): AccessLevel {
    if (this.owners.has(pubkey)) return 'owner';
    if (this.admins.has(pubkey)) return 'admin';
    if (this.follows.has(pubkey)) return 'write';
    return this.throttle ? 'write' : 'read';
  }

  private isTrusted(pubkey: string): boolean {
    return this.isPrivileged(pubkey) || this.follows.has(pubkey);
  }

  checkEvent(event: NostrEvent, _requester: Requester): string | undefined {
    return this.throttle || this.isTrusted(event.pubkey) ? undefined : FOLLOWS_DENIED;
  }

  /** Throttle on: charges an accepted EVENT of an unfollowed author and returns its delay, ms; else 0. */
  writeDelayMs(event: NostrEvent, requester: Requester): number {
    if (!this.throttle || this.isTrusted(event.pubkey)) return 0;
    return this.throttle.charge(requester.ip, event.pubkey);
  }

  accessLevel(pubkey: string | undefined, _ip: string): AccessLevel {
    if (pubkey === undefined) return this.throttle ? 'write' : 'read';
    return this.levelOf(pubkey);
  }

  eventStored(event: NostrEvent): void {
    if (this.closed || !this.isPrivileged(event.pubkey)) return;
    if (event.kind === 3) {
      this.appliedDuringReload?.push(event);
      if (this.apply(event)) {
        this.rebuild();
        this.options.logger?.info(
          { author: event.pubkey, follows: this.follows.size },
          'follow list updated from a new kind 3',
        );
      }
    } else if (event.kind === 5) {
      this.backgroundReload('deletion by an owner or admin');
    }
  }

  async configure(update: AccessControlUpdate): Promise<void> {
    let changed = false;
    if (update.owners) {
      this.owners = new Set(update.owners);
      changed = true;
    }
    if (update.admins) {
      this.admins = new Set(update.admins);
      changed = true;
    }
    // New privileged authors' lists must be read from the store.
    if (changed || update.reload) await this.reload();
  }

  /** Re-reads every privileged author's latest kind 3. Concurrent calls share one run. */
  reload(): Promise<void> {
    this.reloadRequested = true;
    this.reloading ??= this.runReloads().finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  private async runReloads(): Promise<void> {
    while (this.reloadRequested && !this.closed) {
      this.reloadRequested = false;
      await this.loadOnce();
    }
  }

  private async loadOnce(): Promise<void> {
    const authors = [...new Set([...this.owners, ...this.admins])];
    this.appliedDuringReload = [];
    const fresh = new Map<string, FollowList>();
    try {
      if (authors.length > 0) {
        for await (const stored of this.options.store.query({ kinds: [3], authors })) {
          const ev = stored.event;
          if (ev.kind !== 3 || !authors.includes(ev.pubkey)) continue;
          if (replacesFollowList(ev, fresh.get(ev.pubkey)))
            fresh.set(ev.pubkey, { createdAt: ev.created_at, id: ev.id, follows: followsOf(ev) });
        }
      }
    } finally {
      const during = this.appliedDuringReload;
      this.appliedDuringReload = undefined;
      if (during) for (const ev of during) this.apply(ev, fresh);
    }
    this.lists = fresh;
    this.rebuild();
    this.options.logger?.info(
      { owners: this.owners.size, admins: this.admins.size, lists: fresh.size, follows: this.follows.size },
      'follow lists loaded',
    );
  }

  private backgroundReload(why: string): void {
    if (this.closed) return;
    this.reload().catch((err: Error) =>
      this.options.logger?.error({ err: err.message, why }, 'follow list reload failed; keeping the old set'),
    );
  }

  /** Records a kind 3 if it is the newest of its author. */
  private apply(event: NostrEvent, into: Map<string, FollowList> = this.lists): boolean {
    if (!replacesFollowList(event, into.get(event.pubkey))) return false;
    into.set(event.pubkey, { createdAt: event.created_at, id: event.id, follows: followsOf(event) });
    return true;
  }

  private rebuild(): void {
    const union = new Set<string>();
    for (const [author, list] of this.lists) {
      if (!this.isPrivileged(author)) continue;
      for (const pk of list.follows) union.add(pk);
    }
    this.follows = union;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.refresher?.stop();
    this.unwatch?.();
    this.unwatch = undefined;
    if (this.timer) clearInterval(this.timer);
    await this.reloading?.catch(() => undefined);
  }
}
