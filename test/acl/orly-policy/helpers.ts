/**
 * Shared by the tests of ORLY's policy file (src/acl/policy/orly/): a policy compiled from a plain
 * JSON object, and a write request with the defaults a test rarely changes (the author as the
 * only submitter, the fixed BASE_TIME as now, the event's real serialized size, no follows).
 */
import { parsePolicyDocument } from '../../../src/acl/policy/orly/policy-document.js';
import {
  checkWrite,
  compilePolicy,
  type WriteDecision,
  type WriteRequest,
} from '../../../src/acl/policy/orly/policy-rules.js';
import { type NostrEvent, serializeEvent } from '../../../src/protocol/event.js';
import { BASE_TIME } from '../../helpers/events.js';

export function policyOf(json: object, extraOwners: readonly string[] = []) {
  return compilePolicy(parsePolicyDocument(JSON.stringify(json)), extraOwners);
}

export function writeOf(
  policy: ReturnType<typeof policyOf>,
  event: NostrEvent,
  options: Partial<Omit<WriteRequest, 'event'>> = {},
): WriteDecision {
  return checkWrite(policy, {
    event,
    submitters: options.submitters ?? new Set([event.pubkey]),
    now: options.now ?? BASE_TIME,
    size: options.size ?? Buffer.byteLength(serializeEvent(event), 'utf8'),
    follows: options.follows ?? new Set(),
  });
}

/** The reason of a refusal ('' when the write was allowed). */
export function reasonOf(decision: WriteDecision): string {
  return decision.allow ? '' : decision.reason;
}
