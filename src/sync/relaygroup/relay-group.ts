/**
 * Relay-group configuration (orly-sync-relaygroup): kind 39105 events whose content names the
 * relays of a group, `{"relays":["wss://…", …]}`; the authoritative configuration decides the
 * peers of distributed sync. Pure code: the caller has already checked ids and signatures and
 * gives the events and the admins (ORLY_RELAY_GROUP_ADMINS, lowercase hex).
 *
 * Decisions (ORLY's own code differs, ../shared/docs/orly-ipc-spec.md §5.3):
 * - Kind 39105, as ORLY's protos and docs say (its manager uses 10008, a replaceable kind).
 *   The kind is addressable, but the `d` tag is not looked at: any `d` (none = "") is accepted,
 *   and the authoritative configuration is chosen across all of the admins' 39105 events, so two
 *   admins (or two `d` values) cannot keep two groups in force at once.
 * - Only an admin's event counts (ORLY ignores others the same way; its validation did not check
 *   the author); the error names the author.
 * - Content: at most 64 KiB of UTF-8, a JSON object whose `relays` is an array of 1 to 100
 *   strings (ORLY allows an empty list), each a ws://, wss://, http:// or https:// URL
 *   (src/sync/relay-url.ts), normalized, duplicates after normalization dropped (first kept).
 *   Other top-level keys are ignored, for configurations written by newer software. One bad URL
 *   makes the whole event invalid: an admin's typo is refused, never half applied.
 * - Authoritative: the valid admin event with the newest created_at; equal created_at: the lowest
 *   id (lowercase hex), NIP-01's replaceable rule (ORLY compares sha256 of the id instead).
 *   Invalid events are skipped, so a broken newer event leaves the older valid one in force.
 */
import { reason } from '../../errors.js';
import type { NostrEvent } from '../../protocol/event.js';
import { compareNewestFirst } from '../../protocol/filter.js';
import { normalizeRelayUrl } from '../relay-url.js';

export const RELAY_GROUP_KIND = 39105;
/** Largest accepted content, in UTF-8 bytes. */
export const MAX_RELAY_GROUP_CONTENT_BYTES = 64 * 1024;
/** Most entries in `relays` (before duplicates are removed). */
export const MAX_RELAY_GROUP_RELAYS = 100;

export type RelayGroupValidation =
  | { readonly valid: true; readonly relays: string[] }
  | { readonly valid: false; readonly error: string };

export interface RelayGroupConfig {
  /** Normalized, without duplicates, in the event's order. */
  readonly relays: string[];
  /** Lowercase hex id of the event it comes from. */
  readonly sourceEventId: string;
  /** That event's created_at (unix seconds). */
  readonly sourceTimestamp: number;
}

function invalid(problem: string): RelayGroupValidation {
  return { valid: false, error: reason('invalid', `relay group: ${problem}`) };
}

/**
 * Is `event` a relay-group configuration an admin may set? On success: its relays, normalized and
 * without duplicates. On failure: a NIP-01 reason ("invalid: …", "restricted: …").
 */
export function validateRelayGroupEvent(
  event: NostrEvent,
  admins: ReadonlySet<string>,
): RelayGroupValidation {
  if (event.kind !== RELAY_GROUP_KIND) {
    return invalid(`kind ${event.kind} is not a relay-group configuration (kind ${RELAY_GROUP_KIND})`);
  }
  if (!admins.has(event.pubkey)) {
    const why =
      admins.size === 0
        ? 'no relay-group admins are configured (ORLY_RELAY_GROUP_ADMINS)'
        : `${event.pubkey} is not a relay-group admin (ORLY_RELAY_GROUP_ADMINS)`;
    return { valid: false, error: reason('restricted', `relay group: ${why}`) };
  }
  if (typeof event.content !== 'string') return invalid('content is not a string');
  const bytes = Buffer.byteLength(event.content, 'utf8');
  if (bytes > MAX_RELAY_GROUP_CONTENT_BYTES) {
    return invalid(`content is ${bytes} bytes, the limit is ${MAX_RELAY_GROUP_CONTENT_BYTES}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(event.content);
  } catch {
    return invalid('content is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return invalid('content must be a JSON object {"relays":[...]}');
  }
  if (!Object.hasOwn(value, 'relays')) return invalid('content has no "relays" array');
  const list = (value as { relays: unknown }).relays;
  if (!Array.isArray(list)) return invalid('"relays" must be an array of URLs');
  if (list.length === 0) return invalid('"relays" is empty: name at least one relay');
  if (list.length > MAX_RELAY_GROUP_RELAYS) {
    return invalid(`"relays" has ${list.length} entries, the limit is ${MAX_RELAY_GROUP_RELAYS}`);
  }
  const relays = new Set<string>();
  for (let i = 0; i < list.length; i++) {
    const url = normalizeRelayUrl(list[i]);
    if (!url.ok) return invalid(`relays[${i}] ${url.problem}`);
    relays.add(url.url);
  }
  return { valid: true, relays: [...relays] };
}

/**
 * The configuration in force: the newest valid admin event (equal created_at: lowest id), or
 * undefined when there is none. An event is validated only when it would beat the best valid one
 * so far, so a long history of older events costs a comparison each.
 */
export function authoritativeConfig(
  events: Iterable<NostrEvent>,
  admins: ReadonlySet<string>,
): RelayGroupConfig | undefined {
  let best: NostrEvent | undefined;
  let relays: string[] = [];
  for (const event of events) {
    if (event.kind !== RELAY_GROUP_KIND || !admins.has(event.pubkey)) continue;
    if (best !== undefined && compareNewestFirst(event, best) >= 0) continue;
    const checked = validateRelayGroupEvent(event, admins);
    if (!checked.valid) continue;
    best = event;
    relays = checked.relays;
  }
  if (best === undefined) return undefined;
  return { relays, sourceEventId: best.id, sourceTimestamp: best.created_at };
}
