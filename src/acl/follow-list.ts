/**
 * Reading a kind 3 follow list, one way for every consumer (the follows ACL, the policy file's
 * follows whitelists): the pubkeys of its `p` tags (64 hex, any case, kept lower-case), and
 * which of two lists of one author is current (NIP-01: newest created_at; equal: lowest id).
 */
import type { NostrEvent } from '../protocol/event.js';

const HEX64_ANY_CASE = /^[0-9a-fA-F]{64}$/;

/** The followed pubkeys of a kind 3 (lower-case, each once). */
export function followsOf(event: NostrEvent): ReadonlySet<string> {
  const out = new Set<string>();
  for (const tag of event.tags) {
    const value = tag[1];
    if (tag[0] === 'p' && typeof value === 'string' && HEX64_ANY_CASE.test(value))
      out.add(value.toLowerCase());
  }
  return out;
}

/** Does `candidate` replace the list known as (`createdAt`, `id`)? (none known: yes) */
export function replacesFollowList(
  candidate: Pick<NostrEvent, 'created_at' | 'id'>,
  current: { readonly createdAt: number; readonly id: string } | undefined,
): boolean {
  if (!current) return true;
  if (candidate.created_at !== current.createdAt) return candidate.created_at > current.createdAt;
  return candidate.id < current.id;
}
