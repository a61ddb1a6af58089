/**
 * What one REQ or COUNT may return, as the query executor (./query-executor.ts) applies it: the
 * relay's restricted kinds (ORLY_AUTH_RESTRICTED_KINDS) and, when the write policy restricts
 * this reader, its ReadScope (src/protocol/read-scope.ts) merged in. A reader the policy does
 * not restrict (or a relay without a policy) gets the executor's one base rules object: no
 * allocation, the same checks as before.
 */
import type { WritePolicy } from '../acl/policy/plugin-protocol.js';
import type { NostrEvent } from '../protocol/event.js';
import type { NormalizedFilter } from '../protocol/filter.js';
import { type ReadRules, type ReadScope, readRules, scopeAllows } from '../protocol/read-scope.js';
import { isVisibleTo, mayReturnRestricted } from '../protocol/visibility.js';
import type { StoredEvent } from '../store/event-store.js';

export interface RequestRules extends ReadRules {
  /** involvedKinds as a list (a query worker's request carries it). */
  readonly involvedList: readonly number[];
  /** Kinds the open part of a count leaves out (hidden and involved ones). */
  readonly uncounted: ReadonlySet<number>;
}

/** The rules of a reader without a scope: the relay's restricted kinds only. */
export function baseRules(restrictedKinds: ReadonlySet<number>): RequestRules {
  return {
    hiddenKinds: new Set(),
    involvedKinds: restrictedKinds,
    allInvolved: false,
    nothing: false,
    involvedList: [...restrictedKinds],
    uncounted: restrictedKinds,
  };
}

/** `base` when the scope is open (or absent), else the merged rules of this request. */
export function scopedRules(
  base: RequestRules,
  scope: ReadScope | undefined,
  authed: ReadonlySet<string>,
): RequestRules {
  if (scope === undefined) return base;
  const rules = readRules(scope, base.involvedKinds, authed);
  if (rules === undefined) return base;
  return {
    ...rules,
    involvedList: [...rules.involvedKinds],
    uncounted: new Set([...rules.hiddenKinds, ...rules.involvedKinds]),
  };
}

/**
 * Live delivery of `event`: undefined when the write policy scopes no reader (nothing to pay),
 * else whether a connection may be served it, its scope asked once per connection and event.
 */
export function liveScope(
  policy: WritePolicy | undefined,
  event: NostrEvent,
): ((reader: { readonly authed: ReadonlySet<string> }) => boolean) | undefined {
  if (policy?.readScope === undefined) return undefined;
  let answers: Map<object, boolean> | undefined;
  return (reader) => {
    answers ??= new Map();
    let allowed = answers.get(reader);
    if (allowed === undefined) {
      allowed = scopeAllows(policy.readScope?.(reader), event, reader.authed);
      answers.set(reader, allowed);
    }
    return allowed;
  };
}

/** Must each result of `filter` be checked for involvement (it may match an involved kind)? */
export function mayReturnInvolved(filter: NormalizedFilter, rules: RequestRules): boolean {
  return rules.allInvolved || mayReturnRestricted(filter, rules.involvedKinds);
}

/** Is this result withheld from the reader (hidden kind, no involvement where needed, hidden author)? */
export function withheld(
  stored: StoredEvent,
  rules: RequestRules,
  authed: ReadonlySet<string>,
  hiddenAuthors: ReadonlySet<string> | undefined,
): boolean {
  const kind = stored.kind;
  if (rules.hiddenKinds.has(kind)) return true;
  if ((rules.allInvolved || rules.involvedKinds.has(kind)) && !isVisibleTo(stored.event, authed)) return true;
  return hiddenAuthors?.has(stored.event.pubkey) === true;
}

/**
 * The involved part of `filters` that `authed` may read, for a count: each filter narrowed to
 * the involved kinds it can match (every kind it matches with allInvolved) and to events
 * authored by, or p-tagging, an authed pubkey. Counted with the hidden kinds excluded.
 */
export function readableInvolved(
  filters: readonly NormalizedFilter[],
  rules: RequestRules,
  authed: ReadonlySet<string>,
): NormalizedFilter[] {
  const { involvedKinds: involved, allInvolved } = rules;
  if (authed.size === 0 || (!allInvolved && involved.size === 0)) return [];
  const out: NormalizedFilter[] = [];
  for (const f of filters) {
    if (!mayReturnInvolved(f, rules)) continue;
    const narrowed: NormalizedFilter = allInvolved
      ? f
      : { ...f, kinds: f.kinds ? f.kinds.filter((k) => involved.has(k)) : [...involved] };
    const authors = f.authors ? f.authors.filter((a) => authed.has(a)) : [...authed];
    if (authors.length > 0) out.push({ ...narrowed, authors });
    const pTags = f.tags?.get('p');
    const recipients = pTags ? pTags.filter((p) => authed.has(p)) : [...authed];
    if (recipients.length > 0) {
      const tags = new Map(f.tags ?? []);
      tags.set('p', recipients);
      out.push({ ...narrowed, tags });
    }
  }
  return out;
}
