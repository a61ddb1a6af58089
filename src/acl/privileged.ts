/**
 * A mode's owners and admins (ORLY_OWNERS / ORLY_ADMINS, replaced at run time by Configure):
 * their level, and both together as one set (readRestrictions' exempt set: a new set object
 * whenever they change, so a copy elsewhere can tell a change by identity).
 */
import type { AccessControlUpdate } from './access-control.js';

export class Privileged {
  private owners: ReadonlySet<string>;
  private admins: ReadonlySet<string>;
  /** Owners and admins together. */
  all: ReadonlySet<string>;

  constructor(owners: readonly string[], admins: readonly string[]) {
    this.owners = new Set(owners);
    this.admins = new Set(admins);
    this.all = new Set([...owners, ...admins]);
  }

  has(pubkey: string): boolean {
    return this.all.has(pubkey);
  }

  /** 'owner', 'admin', or undefined for anyone else. */
  level(pubkey: string): 'owner' | 'admin' | undefined {
    if (this.owners.has(pubkey)) return 'owner';
    return this.admins.has(pubkey) ? 'admin' : undefined;
  }

  update(update: AccessControlUpdate): void {
    if (update.owners) this.owners = new Set(update.owners);
    if (update.admins) this.admins = new Set(update.admins);
    if (update.owners || update.admins) this.all = new Set([...this.owners, ...this.admins]);
  }
}
