/**
 * A relay-group configuration given as event JSON (orly-sync-relaygroup's ValidateRelayGroupEvent
 * and HandleRelayGroupEvent): parsed, checked as a NIP-01 event (shape, id, signature), then as a
 * configuration (relay-group.ts).
 *
 * Two kinds of "no": `malformed` when the text is not an event at all (not JSON, not an event
 * object, too large: the caller's mistake, INVALID_ARGUMENT over gRPC); an answer with
 * `valid: false` and a NIP-01 reason when it is an event but not a valid configuration (its id or
 * signature does not hold, wrong kind, not an admin, bad content). The signature, the costly
 * check, is verified last, only for events that pass everything else.
 */
import { verifySchnorr } from '../../crypto/schnorr.js';
import { Reasons } from '../../errors.js';
import { checkEventShape, computeEventId, type NostrEvent, nip01Event } from '../../protocol/event.js';
import { type RelayGroupValidation, validateRelayGroupEvent } from './relay-group.js';

/** Largest event JSON looked at, in UTF-8 bytes (the content alone may have 64 KiB). */
export const MAX_RELAY_GROUP_EVENT_JSON_BYTES = 256 * 1024;

export type RelayGroupEventCheck =
  | { readonly malformed: string }
  | { readonly event: NostrEvent; readonly validation: RelayGroupValidation };

export function checkRelayGroupEventJson(json: string, admins: ReadonlySet<string>): RelayGroupEventCheck {
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > MAX_RELAY_GROUP_EVENT_JSON_BYTES)
    return { malformed: `event_json is ${bytes} bytes, the limit is ${MAX_RELAY_GROUP_EVENT_JSON_BYTES}` };
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return { malformed: 'event_json is not valid JSON' };
  }
  const problem = checkEventShape(value);
  if (problem !== undefined) return { malformed: `event_json: ${problem}` };
  const event = nip01Event(value as NostrEvent);
  if (computeEventId(event) !== event.id)
    return { event, validation: { valid: false, error: Reasons.badId } };
  const validation = validateRelayGroupEvent(event, admins);
  if (validation.valid && !verifySchnorr(event.id, event.pubkey, event.sig))
    return { event, validation: { valid: false, error: Reasons.badSignature } };
  return { event, validation };
}
