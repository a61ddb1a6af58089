/**
 * What ORLY's policy file lets one reader see, as a ReadScope (src/protocol/read-scope.ts): per
 * reader (its NIP-42 pubkeys) and per kind, never per event. Only the access fields count for
 * reads (read_deny, read_allow, the follows whitelists, privileged); default_policy, the kind
 * filter and every validation field apply to writes only: readers see what was let in.
 *
 * One rule, for one reader (ORLY's order, pkg/policy/policy.go):
 *  1. the reader is in read_deny → hidden;
 *  2. the reader is in read_allow, or allowed by a follows whitelist or write_allow_follows (see
 *     policy-compiled.ts) → open, privileged or not;
 *  3. read_allow or a read follows whitelist is set → privileged: involvement required, else
 *     hidden;
 *  4. privileged alone → involvement required (the author or a p-tagged pubkey);
 *  5. otherwise open.
 * The global rule applies to every kind: hidden → `refused` (auth-required when the reader is
 * unauthenticated, since identifying could help; restricted otherwise), involvement →
 * `allInvolved`. A kind's rule adds its kind to hiddenKinds / involvedKinds. Kind 12345 (policy
 * updates) is hidden from everyone but the owners and policy admins. A reader with several
 * pubkeys is denied when any is denied, allowed when any is allowed.
 */
import { reason } from '../../../errors.js';
import type { ReadScope } from '../../../protocol/read-scope.js';
import {
  anyIn,
  type CompiledPolicy,
  type CompiledRule,
  grantAllows,
  isPolicyAdmin,
  POLICY_UPDATE_KIND,
} from './policy-compiled.js';

type Verdict = 'open' | 'involved' | 'hidden';

function verdict(rule: CompiledRule, authed: ReadonlySet<string>, follows: ReadonlySet<string>): Verdict {
  const grant = rule.read;
  if (anyIn(authed, grant.deny)) return 'hidden';
  if (grantAllows(grant, authed, follows)) return 'open';
  const privileged = rule.rule.privileged === true;
  if (grant.restricted) return privileged ? 'involved' : 'hidden';
  return privileged ? 'involved' : 'open';
}

export function readScope(
  policy: CompiledPolicy,
  authed: ReadonlySet<string>,
  follows: ReadonlySet<string>,
): ReadScope {
  const hiddenKinds = new Set<number>();
  const involvedKinds = new Set<number>();
  let allInvolved = false;
  let refused: string | undefined;
  if (policy.global !== undefined) {
    const v = verdict(policy.global, authed, follows);
    if (v === 'hidden') {
      refused =
        authed.size === 0
          ? reason(
              'auth-required',
              'policy: this relay serves events only to allowed readers: authenticate first',
            )
          : reason('restricted', 'policy: you are not allowed to read from this relay');
    } else if (v === 'involved') {
      allInvolved = true;
    }
  }
  for (const [kind, rule] of policy.rules) {
    const v = verdict(rule, authed, follows);
    if (v === 'hidden') hiddenKinds.add(kind);
    else if (v === 'involved') involvedKinds.add(kind);
  }
  if (![...authed].some((k) => isPolicyAdmin(policy, k))) {
    hiddenKinds.add(POLICY_UPDATE_KIND);
    involvedKinds.delete(POLICY_UPDATE_KIND);
  }
  return { ...(refused === undefined ? {} : { refused }), hiddenKinds, involvedKinds, allInvolved };
}
