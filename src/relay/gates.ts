/**
 * The relay's access gates, before any query or signature check is paid for:
 *
 * - ORLY_AUTH_REQUIRED: REQ, COUNT, NEG-OPEN and EVENT need a completed NIP-42 AUTH on the
 *   connection (any one of its authenticated pubkeys will do); AUTH, CLOSE, NEG-MSG and NEG-CLOSE
 *   pass (an unauthenticated connection has no session for NEG-MSG to reach).
 * - ORLY_AUTH_TO_WRITE: EVENT alone needs AUTH.
 * - ORLY_MIN_POW_DIFFICULTY (NIP-13): an EVENT's id needs that many leading zero bits, and a
 *   `nonce` tag that commits to a target must commit to at least the minimum (a lower
 *   commitment that got lucky is refused too); a target that is not a number is refused.
 *
 * Owners and admins get no exemption: they authenticate like everyone else. Each gate answers
 * the reason to refuse (errors.ts `Reasons`) or undefined.
 */
import { Reasons } from '../errors.js';
import type { NostrEvent } from '../protocol/event.js';
import { committedTargets, powDifficulty } from '../protocol/pow.js';
import type { GatesConfig } from './config.js';

/** Why a REQ, COUNT or NEG-OPEN is refused on this connection, or undefined. */
export function readGate(gates: GatesConfig, authed: ReadonlySet<string>): string | undefined {
  return gates.authRequired && authed.size === 0 ? Reasons.authRequired : undefined;
}

/**
 * Why an EVENT is refused on this connection, or undefined. Call it once the id is known to
 * match the event (the PoW is the id's), before the signature is verified.
 */
export function writeGate(
  gates: GatesConfig,
  authed: ReadonlySet<string>,
  event: NostrEvent,
): string | undefined {
  if (authed.size === 0) {
    if (gates.authRequired) return Reasons.authRequired;
    if (gates.authToWrite) return Reasons.authToWrite;
  }
  return powShortfall(event, gates.minPowDifficulty);
}

function powShortfall(event: NostrEvent, min: number): string | undefined {
  if (min === 0) return undefined;
  const difficulty = powDifficulty(event.id);
  if (difficulty < min) return Reasons.powTooLow(difficulty, min);
  for (const target of committedTargets(event)) {
    if (!/^\d{1,9}$/.test(target)) return Reasons.powCommitmentInvalid(target);
    if (Number(target) < min) return Reasons.powCommitmentTooLow(Number(target), min);
  }
  return undefined;
}
