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
