/**
 * ACL mode "curating" (ORLY's pkg/acl/curating.go, spec §7.5), with ORLY's INTENDED rules
 * enforced on the EVENT path (as built, ORLY never calls them there). Configured by a kind
 * 30078 `d=curating-config` event of an owner or admin (curating-config.ts); lists and counters
 * in the store's own database (curating-state.ts, curating-counters.ts); NIP-86 methods in
 * curating-methods.ts.
 *
 * Writing (checkEvent), first rule that applies wins; the event's author is checked (its
 * signature proves it), the IP is the connection's:
 * 1. a config event of an owner or admin: accepted when its tags parse, else `invalid:` (the
 *    config in force stays). It is applied once STORED (eventStored, or the store's change feed in
 *    orly-acl), so a config the store refuses (older than the author's last one) never applies;
 *    among the authors' configs the one with the latest created_at is in force;
 * 2. not configured: refused (`blocked: curating mode not configured ...`);
 * 3. an event id flagged as spam: refused;
 * 4. owners and admins: accepted;
 * 5. a blacklisted author: refused;
 * 6. an IP with a block in force: refused, naming when it ends;
 * 7. a kind outside the allow list (kinds, ranges, categories): refused;
 * 8. a trusted author: accepted;
 * 9. an unclassified author with `daily_limit` events today (UTC), or an IP with
 *    `ip_daily_limit` events today: `rate-limited:`; each DISTINCT pubkey that trips a limit
 *    from an IP is an offense of that IP: the first blocks it for `first_ban_hours`, any later
 *    one for `second_ban_hours`;
 * 10. otherwise the event is counted (pubkey and IP) and accepted. Counted when accepted here,
 *    so an event the store then finds a duplicate still counts.
 * Levels: owner, admin; a blacklisted pubkey `banned`; an IP with a block in force `blocked`
 * (its WebSocket upgrade is refused with 403); everyone else `write`.
 * Reading: blacklisted authors' stored events are hidden from everyone but owners and admins.
 * Hourly (and at start): expired IP blocks, forgotten offenses and counters of days older than
 * 7 are removed.
 */
import { Reasons } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { NostrEvent } from '../../protocol/event.js';
import type { ChangeFeed, ClientStore, StateStore, StoreAdmin } from '../../store/event-store.js';
import {
  type AccessControl,
  type AccessControlUpdate,
  type AccessLevel,
  hiddenFor,
  type ReadRestrictions,
  type Requester,
} from '../access-control.js';
import type { AclManagement, ManagementOutcome, RelayInfoOverrides } from '../management.js';
import { Privileged } from '../privileged.js';
import { CONFIG_D_TAG, CONFIG_KIND, isConfigEvent, parseCuratingConfig } from './curating-config.js';
import { CuratingCounters } from './curating-counters.js';
import { CURATING_METHODS, type CuratingMethodDeps } from './curating-methods.js';
import { CuratingState } from './curating-state.js';
import { ParamError } from './params.js';

export const SWEEP_INTERVAL_MS = 3_600_000;

export interface CuratingOptions {
  readonly store: StateStore &
    Pick<ClientStore, 'query' | 'count' | 'getById'> &
    Pick<StoreAdmin, 'deleteByIds'> &
    Partial<Pick<ChangeFeed, 'watch'>>;
  readonly owners: readonly string[];
  readonly admins: readonly string[];
  readonly logger?: Logger;
  /** The clock, ms since the epoch (tests move it). Default Date.now. */
  readonly now?: () => number;
}

export class CuratingAccessControl implements AccessControl, AclManagement {
  readonly mode = 'curating';
  readonly management: AclManagement = this;
  private readonly privileged: Privileged;
  private unwatch: (() => void) | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private readonly deps: CuratingMethodDeps;

  private constructor(
    private readonly state: CuratingState,
    private readonly counters: CuratingCounters,
    private readonly options: CuratingOptions,
  ) {
    this.privileged = new Privileged(options.owners, options.admins);
    this.now = options.now ?? Date.now;
    const { store } = options;
    this.deps = {
      state,
      counters,
      now: () => this.seconds(),
      query: (filter, queryOptions) => store.query(filter, queryOptions),
      count: (filters, countOptions) => store.count(filters, countOptions),
      getById: (id) => store.getById(id),
      deleteEvents: (ids) => store.deleteByIds(ids),
      classified: (pubkey) =>
        this.privileged.has(pubkey) || state.is('trusted', pubkey) || state.is('blacklisted', pubkey),
      seen: (pubkey, events, last) => counters.merge(pubkey, events, last),
    };
  }

  static async create(options: CuratingOptions): Promise<CuratingAccessControl> {
    const now = options.now ?? Date.now;
    const state = await CuratingState.load(options.store);
    const counters = await CuratingCounters.load(options.store, now, options.logger);
    const acl = new CuratingAccessControl(state, counters, options);
    await acl.catchUpConfig();
    await acl.sweep();
    // Config events stored by other writers (orly-acl: by the relays); serial 0 = ephemeral.
    acl.unwatch = options.store.watch?.((stored) => {
      if (stored.serial > 0) acl.eventStored(stored.event);
    });
    acl.sweepTimer = setInterval(() => {
      acl.sweep().catch((err: Error) => options.logger?.warn({ err: err.message }, 'curating sweep failed'));
    }, SWEEP_INTERVAL_MS);
    acl.sweepTimer.unref();
    return acl;
  }

  private seconds(): number {
    return Math.floor(this.now() / 1000);
  }

  checkEvent(event: NostrEvent, requester: Requester): Promise<string | undefined> | string | undefined {
    const author = event.pubkey;
    const privileged = this.privileged.has(author);
    if (privileged && isConfigEvent(event)) {
      const parsed = parseCuratingConfig(event.tags);
      return parsed.ok ? undefined : Reasons.curatingConfigInvalid(parsed.problem);
    }
    const { state } = this;
    const applied = state.config;
    const kinds = state.kinds;
    if (applied === undefined || kinds === undefined) return Reasons.curatingNotConfigured;
    if (state.isSpam(event.id)) return Reasons.curatingSpam;
    if (privileged) return undefined;
    if (state.is('blacklisted', author)) return Reasons.curatingBlacklisted;
    const now = this.seconds();
    const { ip } = requester;
    const block = state.activeBlock(ip, now);
    if (block !== undefined) return Reasons.curatingIpBlocked(new Date(block.expiresAt * 1000).toISOString());
    if (!kinds.allows(event.kind)) return Reasons.curatingKindNotAllowed(event.kind, kinds.empty);
    if (state.is('trusted', author)) return undefined;
    const { config } = applied;
    if (this.counters.pubkeyCount(author) >= config.dailyLimit)
      return this.tripped(ip, author, Reasons.curatingDailyLimit(config.dailyLimit), now);
    if (ip !== '' && this.counters.ipCount(ip) >= config.ipDailyLimit)
      return this.tripped(ip, author, Reasons.curatingIpDailyLimit(config.ipDailyLimit), now);
    if (!this.counters.canCount(author, ip)) return Reasons.curatingTooManyUsers;
    this.counters.count(author, ip);
    return undefined;
  }

  /** A limit tripped by `pubkey` from `ip`: an offense of the IP when the pubkey is new to it. */
  private async tripped(ip: string, pubkey: string, reason: string, now: number): Promise<string> {
    const config = this.state.config?.config;
    if (ip === '' || config === undefined) return reason;
    const offense = this.state.recordOffense(ip, pubkey, reason, now, {
      first: config.firstBanHours,
      second: config.secondBanHours,
    });
    if (offense === undefined) return reason;
    this.options.logger?.info(
      { ip, pubkey, until: new Date(offense.block.expiresAt * 1000).toISOString() },
      'curating: IP blocked after an offense',
    );
    try {
      await offense.written;
    } catch (err) {
      this.options.logger?.error({ err: (err as Error).message, ip }, 'curating: IP block not recorded');
    }
    return reason;
  }

  accessLevel(pubkey: string | undefined, ip: string): AccessLevel {
    if (pubkey !== undefined) {
      const level = this.privileged.level(pubkey);
      if (level !== undefined) return level;
      if (this.state.is('blacklisted', pubkey)) return 'banned';
    }
    return this.state.activeBlock(ip, this.seconds()) === undefined ? 'write' : 'blocked';
  }

  hiddenAuthors(requester: Pick<Requester, 'authed'>): ReadonlySet<string> | undefined {
    return hiddenFor(this.readRestrictions(), requester);
  }

  readRestrictions(): ReadRestrictions {
    return { hidden: this.state.blacklistSet(), exempt: this.privileged.all };
  }

  /** Applies a stored config event of an owner or admin (other events are of no concern here). */
  eventStored(event: NostrEvent): void {
    if (!isConfigEvent(event) || !this.privileged.has(event.pubkey)) return;
    this.applyConfig(event).catch((err: Error) =>
      this.options.logger?.error({ err: err.message, id: event.id }, 'curating config not recorded'),
    );
  }

  private async applyConfig(event: NostrEvent): Promise<void> {
    const parsed = parseCuratingConfig(event.tags);
    if (!parsed.ok) {
      // Stored without this mode's check (another relay's mode, an import): not applied.
      this.options.logger?.warn({ id: event.id, problem: parsed.problem }, 'curating config ignored');
      return;
    }
    const current = this.state.config;
    if (current !== undefined && (current.eventId === event.id || event.created_at < current.createdAt))
      return;
    await this.state.setConfig({
      eventId: event.id,
      pubkey: event.pubkey,
      createdAt: event.created_at,
      configuredAt: this.seconds(),
      config: parsed.config,
    });
    const empty = this.state.kinds?.empty === true;
    this.options.logger?.[empty ? 'warn' : 'info'](
      { id: event.id, by: event.pubkey, ...(empty ? { allows: 'no kinds' } : {}) },
      'curating config applied',
    );
  }

  /**
   * Applies the newest stored config of the owners and admins when it is newer than the one in
   * force: one committed while this instance was not following (orly-acl down, a crash between
   * the store's commit and the state's write).
   */
  private async catchUpConfig(): Promise<void> {
    if (this.privileged.all.size === 0) return;
    let newest: NostrEvent | undefined;
    for await (const stored of this.options.store.query({
      kinds: [CONFIG_KIND],
      authors: [...this.privileged.all],
      tags: new Map([['d', [CONFIG_D_TAG]]]),
    })) {
      const event = stored.event;
      if (!parseCuratingConfig(event.tags).ok) continue;
      if (newest === undefined || event.created_at > newest.created_at) newest = event;
    }
    const current = this.state.config;
    if (newest !== undefined && (current === undefined || newest.created_at > current.createdAt))
      await this.applyConfig(newest);
  }

  /** Removes expired IP blocks, forgotten offenses and old days' counters. */
  async sweep(): Promise<void> {
    await this.state.sweep(this.seconds());
    await this.counters.sweep();
  }

  async manage(method: string, params: readonly unknown[], _caller: string): Promise<ManagementOutcome> {
    const run = CURATING_METHODS.get(method);
    if (run === undefined) return { error: `unknown method: ${method.slice(0, 64)}` };
    try {
      return { result: await run(params, this.deps) };
    } catch (err) {
      if (err instanceof ParamError) return { error: `${method}: ${err.message}` };
      throw err;
    }
  }

  /** Curating mode sets no relay information. */
  async relayInfo(): Promise<RelayInfoOverrides> {
    return {};
  }

  async configure(update: AccessControlUpdate): Promise<void> {
    this.privileged.update(update);
    if (update.reload) await this.catchUpConfig();
  }

  /** Stops following the store and the sweep; writes the pending counters. */
  async close(): Promise<void> {
    this.unwatch?.();
    this.unwatch = undefined;
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    try {
      await this.counters.close();
    } catch (err) {
      this.options.logger?.error({ err: (err as Error).message }, 'curating counters not written at close');
    }
  }
}
