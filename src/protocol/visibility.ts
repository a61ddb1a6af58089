/**
 * Read access to restricted kinds (NIP-42; default kinds 4 and 1059): such an event is
 * served only to a connection authenticated as its author or as a p-tagged recipient.
 */
import type { NostrEvent } from './event.js';
import type { NormalizedFilter } from './filter.js';

export function isVisibleTo(event: NostrEvent, authed: ReadonlySet<string>): boolean {
  if (authed.size === 0) return false;
  if (authed.has(event.pubkey)) return true;
  for (const tag of event.tags) if (tag[0] === 'p' && tag[1] !== undefined && authed.has(tag[1])) return true;
  return false;
}

/** Restricted kinds a filter names explicitly. */
export function restrictedKindsNamed(filter: NormalizedFilter, restricted: ReadonlySet<number>): number[] {
  return filter.kinds ? filter.kinds.filter((k) => restricted.has(k)) : [];
}

/** Could results of this filter include restricted kinds (so each result must be checked)? */
export function mayReturnRestricted(filter: NormalizedFilter, restricted: ReadonlySet<number>): boolean {
  if (restricted.size === 0) return false;
  return filter.kinds === undefined || filter.kinds.some((k) => restricted.has(k));
}
