/**
 * ACL mode "managed": explicit lists, edited over NIP-86 (managed-methods.ts) and kept in the
 * store's own database (managed-lists.ts).
 *
 * Writing (checkEvent), first rule that applies wins:
 * 1. a banned event id is refused (`blocked:`); 2. an allowed event id is accepted;
 * 3. owners and admins are accepted; 4. a banned author is refused;
 * 5. when the allowed-kinds list is not empty, other kinds are refused;
 * 6. an allowed author is accepted (even from a blocked IP, as in ORLY);
 * 7. a blocked IP is refused; 8. everyone else is refused: writing needs an explicit allow.
 * As in follows mode, the event's author is what is checked (the signature proves it), not the
 * NIP-42 authenticated pubkey. Owners and admins are exempt from the kind list (ORLY is not:
 * an operator who restricts kinds still publishes what the relay needs).
 *
 * Reading: a banned author's stored events are hidden from everyone but owners and admins
 * (hiddenAuthors), so a ban is undone by unbanpubkey; a banned event is removed from the store.
 * NIP-56 reports (kind 1984) from authors who may write name the events listed by
 * `listeventsneedingmoderation`: the relay reports what it stores (eventStored) and, when the
 * store has a change feed (orly-acl over orly-db), what other writers stored arrives by it.
 */

import { Reasons } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { isHex64, type NostrEvent } from '../../protocol/event.js';
import type { ChangeFeed, StateStore, StoreAdmin } from '../../store/event-store.js';
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
import { MAX_MODERATION, ManagedLists } from './managed-lists.js';
import { MANAGED_METHODS, ParamError } from './managed-methods.js';

const REPORT_KIND = 1984;

export interface ManagedOptions {
  readonly store: StateStore & Pick<StoreAdmin, 'deleteByIds'> & Partial<Pick<ChangeFeed, 'watch'>>;
  readonly owners: readonly string[];
  readonly admins: readonly string[];
  readonly logger?: Logger;
}

export class ManagedAccessControl implements AccessControl, AclManagement {
  readonly mode = 'managed';
  readonly management: AclManagement = this;
  private readonly privileged: Privileged;
  private unwatch: (() => void) | undefined;

  private constructor(
    private readonly lists: ManagedLists,
    private readonly options: ManagedOptions,
  ) {
    this.privileged = new Privileged(options.owners, options.admins);
  }

  static async create(options: ManagedOptions): Promise<ManagedAccessControl> {
    const acl = new ManagedAccessControl(await ManagedLists.load(options.store), options);
    // Events stored by other writers (orly-acl: by the relays); serial 0 = ephemeral, never stored.
    acl.unwatch = options.store.watch?.((stored) => {
      if (stored.serial > 0) acl.eventStored(stored.event);
    });
    return acl;
  }

  checkEvent(event: NostrEvent, requester: Requester): string | undefined {
    const { lists } = this;
    if (lists.has('banned-event', event.id)) return Reasons.eventBanned;
    if (lists.has('allowed-event', event.id)) return undefined;
    const author = event.pubkey;
    if (this.privileged.has(author)) return undefined;
    if (lists.has('banned-pubkey', author)) return Reasons.pubkeyBanned;
    if (lists.size('allowed-kind') > 0 && !lists.has('allowed-kind', String(event.kind)))
      return Reasons.kindNotAllowed(event.kind);
    if (lists.has('allowed-pubkey', author)) return undefined;
    if (lists.has('blocked-ip', requester.ip)) return Reasons.ipBlocked;
    return Reasons.managedOnly;
  }

  accessLevel(pubkey: string | undefined, ip: string): AccessLevel {
    if (pubkey !== undefined) {
      const level = this.privileged.level(pubkey);
      if (level !== undefined) return level;
      if (this.lists.has('banned-pubkey', pubkey)) return 'banned';
      if (this.lists.has('allowed-pubkey', pubkey)) return 'write';
    }
    return this.lists.has('blocked-ip', ip) ? 'blocked' : 'read';
  }

  hiddenAuthors(requester: Pick<Requester, 'authed'>): ReadonlySet<string> | undefined {
    if (this.lists.size('banned-pubkey') === 0) return undefined;
    return hiddenFor(this.readRestrictions(), requester);
  }

  readRestrictions(): ReadRestrictions {
    return { hidden: this.lists.keySet('banned-pubkey'), exempt: this.privileged.all };
  }

  /** Records the events a NIP-56 report names, from authors who may write here. */
  eventStored(event: NostrEvent): void {
    if (event.kind !== REPORT_KIND || this.lists.has('banned-pubkey', event.pubkey)) return;
    for (const tag of event.tags) {
      const id = tag[0] === 'e' ? tag[1]?.toLowerCase() : undefined;
      if (id === undefined || !isHex64(id)) continue;
      if (
        this.lists.has('moderation', id) ||
        this.lists.has('banned-event', id) ||
        this.lists.has('allowed-event', id)
      )
        continue;
      if (this.lists.size('moderation') >= MAX_MODERATION) {
        this.options.logger?.warn({ id }, 'moderation queue full: report dropped');
        return;
      }
      const reason = typeof tag[2] === 'string' ? tag[2].slice(0, 200) : 'reported';
      this.lists
        .set('moderation', id, reason || 'reported')
        .catch((err: Error) => this.options.logger?.error({ err: err.message }, 'could not record a report'));
    }
  }

  async manage(method: string, params: readonly unknown[], _caller: string): Promise<ManagementOutcome> {
    const run = MANAGED_METHODS.get(method);
    if (run === undefined) return { error: `unknown method: ${method.slice(0, 64)}` };
    try {
      return {
        result: await run(params, {
          lists: this.lists,
          deleteEvents: (ids) => this.options.store.deleteByIds(ids),
        }),
      };
    } catch (err) {
      if (err instanceof ParamError) return { error: `${method}: ${err.message}` };
      throw err;
    }
  }

  async relayInfo(): Promise<RelayInfoOverrides> {
    return this.lists.relayInfo();
  }

  async configure(update: AccessControlUpdate): Promise<void> {
    this.privileged.update(update);
  }

  async close(): Promise<void> {
    this.unwatch?.();
    this.unwatch = undefined;
  }
}
