/**
 * The access-control capability. Local mode uses `OpenAccessControl` (ACL mode "none");
 * the follows / managed / curating modes and the gRPC client (orly-acl) implement the same
 * interface, so the relay never knows which one it holds.
 *
 * Levels (ORLY's vocabulary): `owner` and `admin` are the configured ORLY_OWNERS / ORLY_ADMINS,
 * `write` may publish, `read` may only read, `none` is "not even that" (also the fail-closed
 * answer of a remote ACL that cannot be reached), `blocked` / `banned` are explicit denials
 * (managed / curating modes).
 */
import type { NostrEvent } from '../protocol/event.js';
import type { AclManagement } from './management.js';

export type AccessLevel = 'none' | 'read' | 'write' | 'admin' | 'owner' | 'blocked' | 'banned';

export const ACCESS_LEVELS: readonly AccessLevel[] = [
  'none',
  'read',
  'write',
  'admin',
  'owner',
  'blocked',
  'banned',
];

export function isAccessLevel(value: unknown): value is AccessLevel {
  return typeof value === 'string' && (ACCESS_LEVELS as readonly string[]).includes(value);
}

/** Who is asking: the pubkeys authenticated on the connection (NIP-42) and the client IP. */
export interface Requester {
  readonly authed: ReadonlySet<string>;
  readonly ip: string;
}

/** A runtime change of the privileged lists (the gRPC Configure RPC). */
export interface AccessControlUpdate {
  /** Lowercase hex pubkeys; replaces the owners list when given. */
  readonly owners?: readonly string[];
  /** Lowercase hex pubkeys; replaces the admins list when given. */
  readonly admins?: readonly string[];
  /** Re-read derived state (e.g. the admins' follow lists) from the store. */
  readonly reload?: boolean;
}

/** What readers must not be served: the data behind `hiddenAuthors`, for a copy kept elsewhere. */
export interface ReadRestrictions {
  /** Authors (lowercase hex) whose stored events are hidden. */
  readonly hidden: ReadonlySet<string>;
  /** Readers who see them anyway once authenticated (owners and admins). */
  readonly exempt: ReadonlySet<string>;
}

/** `hiddenAuthors` computed from ReadRestrictions: undefined when none apply to this requester. */
export function hiddenFor(
  restrictions: ReadRestrictions,
  requester: Pick<Requester, 'authed'>,
): ReadonlySet<string> | undefined {
  if (restrictions.hidden.size === 0) return undefined;
  for (const pubkey of requester.authed) if (restrictions.exempt.has(pubkey)) return undefined;
  return restrictions.hidden;
}

export interface AccessControl {
  readonly mode: string;
  /** May this requester publish this event? undefined = yes, else a NIP-01 reason ("blocked: ..."). */
  checkEvent(event: NostrEvent, requester: Requester): Promise<string | undefined> | string | undefined;
  /**
   * "Accept, but after a delay" (follows mode's throttle): asked once per EVENT, only after
   * checkEvent accepted it, and it charges that EVENT to the throttle; the relay waits the
   * returned ms before storing (0 = at once). A method of its own rather than a richer
   * checkEvent result: checkEvent's `string | undefined` stays the one contract every mode,
   * orly-acl's CheckAccess and their tests share, and a mode without a throttle has nothing to
   * implement. The gRPC client answers it from the same CheckAccess call (its `delay_ms`).
   */
  writeDelayMs?(event: NostrEvent, requester: Requester): Promise<number> | number;
  /** The level of a pubkey (undefined = unauthenticated) connecting from `ip`. */
  accessLevel(pubkey: string | undefined, ip: string): Promise<AccessLevel> | AccessLevel;
  /** Told about every stored event (e.g. follows mode refreshes on an admin's kind 3). */
  eventStored?(event: NostrEvent): void;
  /** Replaces owners/admins and/or reloads derived state. */
  configure?(update: AccessControlUpdate): Promise<void>;
  /**
   * Authors whose stored events this requester must not be served (banned, blacklisted), or
   * undefined when none are hidden from it. Synchronous: implementations keep it in memory.
   */
  hiddenAuthors?(requester: Pick<Requester, 'authed'>): ReadonlySet<string> | undefined;
  /**
   * Everything hiddenAuthors decides on, as data (orly-acl's GetReadRestrictions); the same sets
   * (by identity) while nothing changed, so a caller can tell a change by comparing them.
   */
  readRestrictions?(): ReadRestrictions;
  /** The NIP-86 management API of this mode, when it has one. */
  readonly management?: AclManagement;
  close(): Promise<void>;
}

export interface PrivilegedPubkeys {
  readonly owners?: readonly string[];
  readonly admins?: readonly string[];
}

/** ACL mode "none": everyone may write; configured owners and admins keep their level. */
export class OpenAccessControl implements AccessControl {
  readonly mode = 'none';
  private owners: ReadonlySet<string>;
  private admins: ReadonlySet<string>;

  constructor(privileged: PrivilegedPubkeys = {}) {
    this.owners = new Set(privileged.owners ?? []);
    this.admins = new Set(privileged.admins ?? []);
  }

  checkEvent(_event?: NostrEvent, _requester?: Requester): undefined {
    return undefined;
  }

  accessLevel(pubkey: string | undefined, _ip?: string): AccessLevel {
    if (pubkey !== undefined && this.owners.has(pubkey)) return 'owner';
    if (pubkey !== undefined && this.admins.has(pubkey)) return 'admin';
    return 'write';
  }

  async configure(update: AccessControlUpdate): Promise<void> {
    if (update.owners) this.owners = new Set(update.owners);
    if (update.admins) this.admins = new Set(update.admins);
  }

  async close(): Promise<void> {}
}
