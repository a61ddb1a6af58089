/**
 * What a write policy (ORLY's policy file: read_allow / read_deny / privileged, kind 12345 kept
 * from non-admins) lets one reader see, as data the query paths apply: REQ and COUNT (the query
 * executor, the LMDB query workers), live delivery and NIP-77. Decided per reader (its NIP-42
 * pubkeys) and per kind only, never per event, so every path can apply it from an index key
 * (kind) plus, for involvement, the event's author and p tags (src/protocol/visibility.ts).
 *
 * It adds to the relay's own restrictions (ORLY_AUTH_RESTRICTED_KINDS, an ACL mode's hidden
 * authors); it never widens them.
 */
import type { NostrEvent } from './event.js';
import type { NormalizedFilter } from './filter.js';
import { isVisibleTo } from './visibility.js';

export interface ReadScope {
  /**
   * Set when this reader may read nothing at all: the complete NIP-01 reason for CLOSED /
   * NEG-ERR ("auth-required: ..." when authenticating could help, else "restricted: ...").
   */
  readonly refused?: string;
  /** Kinds never served to this reader. */
  readonly hiddenKinds: ReadonlySet<number>;
  /**
   * Kinds served to this reader only when it is the author or p-tagged (like the relay's
   * auth-restricted kinds); an unauthenticated reader sees none of them.
   */
  readonly involvedKinds: ReadonlySet<number>;
  /** Every kind (not only involvedKinds) needs involvement: a global `privileged` rule. */
  readonly allInvolved: boolean;
}

/** A scope that restricts nothing. */
export const OPEN_READ_SCOPE: ReadScope = Object.freeze({
  hiddenKinds: new Set<number>(),
  involvedKinds: new Set<number>(),
  allInvolved: false,
});

/** A scope from its parts as lists (a gRPC message's fields); undefined when it restricts nothing. */
export function scopeFromLists(
  hiddenKinds: readonly number[],
  involvedKinds: readonly number[],
  allInvolved: boolean,
): ReadScope | undefined {
  if (hiddenKinds.length === 0 && involvedKinds.length === 0 && !allInvolved) return undefined;
  return { hiddenKinds: new Set(hiddenKinds), involvedKinds: new Set(involvedKinds), allInvolved };
}

/** True when the scope restricts nothing (callers skip all per-event work). */
export function isOpenScope(scope: ReadScope | undefined): boolean {
  return (
    scope === undefined ||
    (scope.refused === undefined &&
      scope.hiddenKinds.size === 0 &&
      scope.involvedKinds.size === 0 &&
      !scope.allInvolved)
  );
}

/**
 * A reader's scope made concrete for one request, merged with the relay's own restricted kinds
 * (ORLY_AUTH_RESTRICTED_KINDS, which already need involvement).
 */
export interface ReadRules {
  /** Kinds never served: the scope's hidden kinds, and its involved kinds when the reader has no authed pubkey. */
  readonly hiddenKinds: ReadonlySet<number>;
  /** Kinds served only to their author or a p-tagged authed pubkey (hidden kinds left out). */
  readonly involvedKinds: ReadonlySet<number>;
  /** Every kind needs involvement. */
  readonly allInvolved: boolean;
  /** Nothing can be served: the scope refuses, or every kind needs involvement and the reader has no authed pubkey. */
  readonly nothing: boolean;
}

/**
 * The rules of one request: undefined when the scope is open (the caller keeps its restricted
 * kinds alone and pays nothing more). An unauthenticated reader could be involved in nothing, so
 * its involved kinds become hidden ones (a filter naming only those matches nothing, no scan).
 */
export function readRules(
  scope: ReadScope | undefined,
  restrictedKinds: ReadonlySet<number>,
  authed: ReadonlySet<string>,
): ReadRules | undefined {
  if (scope === undefined || isOpenScope(scope)) return undefined;
  const anonymous = authed.size === 0;
  const hiddenKinds = new Set(scope.hiddenKinds);
  if (anonymous) for (const k of scope.involvedKinds) hiddenKinds.add(k);
  const involvedKinds = new Set<number>();
  for (const k of restrictedKinds) if (!hiddenKinds.has(k)) involvedKinds.add(k);
  for (const k of scope.involvedKinds) if (!hiddenKinds.has(k)) involvedKinds.add(k);
  return {
    hiddenKinds,
    involvedKinds,
    allInvolved: scope.allInvolved,
    nothing: scope.refused !== undefined || (scope.allInvolved && anonymous),
  };
}

/**
 * The filter without hidden kinds: one naming kinds loses the hidden ones (and matches nothing
 * when none is left); one naming none has each result's kind checked (`checkEach`).
 */
export function withoutHiddenKinds(
  filter: NormalizedFilter,
  hidden: ReadonlySet<number>,
): { readonly filter: NormalizedFilter; readonly checkEach: boolean } {
  if (hidden.size === 0) return { filter, checkEach: false };
  if (filter.kinds === undefined) return { filter, checkEach: true };
  if (!filter.kinds.some((k) => hidden.has(k))) return { filter, checkEach: false };
  return { filter: { ...filter, kinds: filter.kinds.filter((k) => !hidden.has(k)) }, checkEach: false };
}

/** May `event` be served to a reader with this scope and these authed pubkeys (the scope alone)? */
export function scopeAllows(
  scope: ReadScope | undefined,
  event: NostrEvent,
  authed: ReadonlySet<string>,
): boolean {
  if (scope === undefined) return true;
  if (scope.refused !== undefined || scope.hiddenKinds.has(event.kind)) return false;
  if (scope.allInvolved || scope.involvedKinds.has(event.kind)) return isVisibleTo(event, authed);
  return true;
}
