/**
 * Validating a hot reload of ORLY's policy file: a kind 12345 event whose content is the whole new
 * policy JSON. Pure: the runtime checks the id and signature before, and after an `ok` result
 * handles replay protection, rewrites policy.json atomically and swaps the compiled policy.
 *
 * In this version ONLY OWNERS may change the policy (the file's `owners` and the relay's
 * ORLY_OWNERS), judged by the event's author. ORLY also lets policy admins send updates that
 * only extend the policy; that is not implemented: a policy admin's update is refused like
 * anyone else's. The new document must parse (policy-document.ts rules), and when the current
 * file names owners the new one must still name at least one (ORLY's rule), so that no update
 * can lock the owners out of the file.
 */
import { reason } from '../../../errors.js';
import type { NostrEvent } from '../../../protocol/event.js';
import { type CompiledPolicy, POLICY_UPDATE_KIND } from './policy-compiled.js';
import { type PolicyDocument, PolicyError, parsePolicyDocument } from './policy-document.js';

export type PolicyUpdateResult =
  | { readonly ok: true; readonly document: PolicyDocument }
  /** `reason` is a complete NIP-01 message. */
  | { readonly ok: false; readonly reason: string };

export function validatePolicyUpdate(
  current: CompiledPolicy,
  event: NostrEvent,
  extraOwners: readonly string[],
): PolicyUpdateResult {
  if (event.kind !== POLICY_UPDATE_KIND) {
    return {
      ok: false,
      reason: reason('invalid', `policy: a policy update is a kind ${POLICY_UPDATE_KIND} event`),
    };
  }
  const owners = new Set([...current.owners, ...extraOwners.map((k) => k.toLowerCase())]);
  if (!owners.has(event.pubkey)) {
    return { ok: false, reason: reason('restricted', 'only owners may change the policy') };
  }
  let document: PolicyDocument;
  try {
    document = parsePolicyDocument(event.content);
  } catch (err) {
    if (!(err instanceof PolicyError)) throw err;
    return { ok: false, reason: reason('invalid', `policy: ${err.message}`) };
  }
  if ((current.document.owners?.length ?? 0) > 0 && (document.owners?.length ?? 0) === 0) {
    return { ok: false, reason: reason('invalid', 'policy: owners must not become empty') };
  }
  return { ok: true, document };
}
