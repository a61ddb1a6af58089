/**
 * Builds the AccessControl for an ACL mode. Used by orly-acl (and by the relay in local mode).
 *
 * Implemented modes: `none` (OpenAccessControl: everyone writes), `follows`
 * (FollowsAccessControl: owners, admins and the accounts they follow write; reads open),
 * `managed` (ManagedAccessControl: explicit lists edited over NIP-86, kept in the store's own
 * database through its StateStore role) and `curating` (CuratingAccessControl: a kind 30078
 * config event, kind allow list, per-pubkey and per-IP daily limits, timed IP blocks, trusted
 * and blacklisted pubkeys over NIP-86; state in the StateStore too).
 *
 * How ORLY's other modes fit, without changing the relay or the wire:
 * - `paid`: accessLevel/checkEvent look up subscriptions; its lists in the StateStore.
 * Each is one more case below and one more name in ACL_MODES.
 */
import { ConfigError } from '../config/env.js';
import type { Logger } from '../logger.js';
import type { EventStore } from '../store/event-store.js';
import { type AccessControl, OpenAccessControl } from './access-control.js';
import { CuratingAccessControl } from './curating/curating-access-control.js';
import { FollowsAccessControl } from './follows-access-control.js';
import type { FollowsSettings } from './follows-config.js';
import { ManagedAccessControl } from './managed/managed-access-control.js';

export const ACL_MODES = ['none', 'follows', 'managed', 'curating'] as const;
export type AclMode = (typeof ACL_MODES)[number];

/** ORLY modes that are recognised but not implemented here (for a precise error message). */
const NOT_IMPLEMENTED = ['paid', 'social'];

export function isAclMode(value: string): value is AclMode {
  return (ACL_MODES as readonly string[]).includes(value);
}

/** Validates a mode name read from `variable`; the error names the variable and the valid modes. */
export function parseAclMode(raw: string, variable: string): AclMode {
  const mode = raw.trim().toLowerCase();
  if (isAclMode(mode)) return mode;
  const why = NOT_IMPLEMENTED.includes(mode)
    ? `ACL mode ${JSON.stringify(mode)} is not implemented yet`
    : mode === 'curation'
      ? 'unknown ACL mode "curation" (the mode is named "curating")'
      : `unknown ACL mode ${JSON.stringify(raw)}`;
  throw new ConfigError(variable, `${why}; available modes: ${ACL_MODES.join(', ')}`);
}

export interface AccessControlDeps {
  /** Required by `follows` (it reads the owners' and admins' kind 3 lists), `managed` and `curating` (their state). */
  readonly store?: EventStore;
  readonly owners?: readonly string[];
  readonly admins?: readonly string[];
  readonly logger?: Logger;
  /** follows: periodic full reload, ms (0 = off). */
  readonly reloadIntervalMs?: number;
  /** follows: throttle and refresh from relays (loadFollowsSettings); none: neither. */
  readonly follows?: FollowsSettings;
}

export async function createAccessControl(mode: AclMode, deps: AccessControlDeps): Promise<AccessControl> {
  const owners = deps.owners ?? [];
  const admins = deps.admins ?? [];
  switch (mode) {
    case 'none':
      return new OpenAccessControl({ owners, admins });
    case 'follows': {
      if (!deps.store) throw new Error('ACL mode "follows" needs an event store');
      if (owners.length === 0 && admins.length === 0) {
        deps.logger?.warn(
          'ACL mode "follows" without ORLY_OWNERS or ORLY_ADMINS: nobody may publish (reads stay open)',
        );
      }
      return FollowsAccessControl.create({
        store: deps.store,
        owners,
        admins,
        ...(deps.logger ? { logger: deps.logger } : {}),
        ...(deps.reloadIntervalMs !== undefined ? { reloadIntervalMs: deps.reloadIntervalMs } : {}),
        ...(deps.follows ? { settings: deps.follows } : {}),
      });
    }
    case 'managed': {
      if (!deps.store) throw new Error('ACL mode "managed" needs an event store');
      if (owners.length === 0 && admins.length === 0) {
        deps.logger?.warn(
          'ACL mode "managed" without ORLY_OWNERS or ORLY_ADMINS: nobody can manage the relay (NIP-86), nobody may publish',
        );
      }
      return ManagedAccessControl.create({
        store: deps.store,
        owners,
        admins,
        ...(deps.logger ? { logger: deps.logger } : {}),
      });
    }
    case 'curating': {
      if (!deps.store) throw new Error('ACL mode "curating" needs an event store');
      if (owners.length === 0 && admins.length === 0) {
        deps.logger?.warn(
          'ACL mode "curating" without ORLY_OWNERS or ORLY_ADMINS: nobody can publish its config event or manage it (NIP-86), nobody may publish',
        );
      }
      return CuratingAccessControl.create({
        store: deps.store,
        owners,
        admins,
        ...(deps.logger ? { logger: deps.logger } : {}),
      });
    }
    default: {
      const never: never = mode;
      throw new Error(`unhandled ACL mode ${String(never)}`);
    }
  }
}
