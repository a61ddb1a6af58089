/**
 * NIP-13 proof of work: an event's difficulty is the number of leading zero bits of its id;
 * a `["nonce", <counter>, <target>]` tag commits to the target difficulty the miner aimed at.
 * Pure code, no I/O.
 */
import type { NostrEvent } from './event.js';

/** Leading zero bits of a lowercase hex id ("002f…" -> 10, "000000000e9d…" -> 36). */
export function powDifficulty(id: string): number {
  let bits = 0;
  for (let i = 0; i < id.length; i++) {
    const nibble = Number.parseInt(id[i]!, 16);
    if (nibble !== 0) return bits + Math.clz32(nibble) - 28;
    bits += 4;
  }
  return bits;
}

/**
 * The committed target difficulties of an event: the third element of every `nonce` tag that
 * has one, as sent (a string; whether it is a number is for the caller to judge).
 */
export function committedTargets(event: Pick<NostrEvent, 'tags'>): string[] {
  const targets: string[] = [];
  for (const tag of event.tags) {
    if (tag[0] === 'nonce' && tag.length >= 3) targets.push(tag[2]!);
  }
  return targets;
}
