/**
 * The write decision of ORLY's policy file (`checkWrite`), plus the policy core's public surface:
 * compiling (policy-compiled.ts) and the read scope (policy-read.ts) are re-exported here. Pure:
 * the clock, the submitter's NIP-42 pubkeys, the event's serialized size and the follows set are
 * given by the caller.
 *
 * Order (ORLY): the global rule → the kind filter → the kind's rule → default_policy for a kind
 * with no rule. The global rule always applies in addition to the kind's rule.
 *  - Kind filter: kind.blacklist refuses; an explicit (non-empty) kind.whitelist admits only its
 *    kinds; without one, when `rules` is non-empty and default_policy is "deny" or not given, the
 *    kinds that have a rule are an implicit whitelist. A kind in both lists is refused.
 *  - Within a rule, access first (so that a refused submitter costs no regular-expression work),
 *    then validation: size_limit, content_limit (UTF-8 bytes), max_age_of_event,
 *    max_age_event_in_future, max_expiry_duration / max_expiry (an `expiration` tag at most that
 *    long after created_at is required), must_have_tags, allowed_tags, protected_required,
 *    identifier_regex (every d tag, at least one), tag_validation (every present tag of the name).
 *    max_age_of_event, max_age_event_in_future and the expiry limits of 0 mean no limit, as in
 *    ORLY; size_limit and content_limit of 0 mean 0 bytes.
 *  - Access: allow lists are checked against the SUBMITTERS (the connection's NIP-42 pubkeys),
 *    not the event's author, as in ORLY. write_deny beats everything, and is checked against the
 *    submitters AND the author (stricter than ORLY, where a denied author's events could be
 *    stored by any other submitter or by an unauthenticated one). A non-empty write_allow (or a
 *    write follows whitelist, see policy-compiled.ts) is exclusive; `[]` or absent allows all.
 *    `write_allow_if_tagged`: an event not allowed by the lists is still accepted when its author
 *    is in write_allow or it p-tags a pubkey in write_allow (inbox style; no AUTH needed, the
 *    signature proves the author).
 *  - Owners and policy admins are exempt from NOTHING here: ORLY's policy engine has no owner
 *    bypass, so an owner who must pass a write_allow list is listed in it.
 * Reasons are complete NIP-01 messages: `auth-required:` when an allow list needs an identity
 * and the connection has none, `blocked:` for deny, allow lists, the kind filter and
 * default_policy, `invalid:` for every validation. The scripts to run (global, then the kind's,
 * deduplicated) and the byte-rate limits to apply (`global`, `kind:<n>`) come with an accept.
 */
import { reason } from '../../../errors.js';
import { firstTagValue, isProtected, type NostrEvent } from '../../../protocol/event.js';
import { anyIn, type CompiledPolicy, type CompiledRule, grantAllows } from './policy-compiled.js';
import { MAX_MATCH_LENGTH, matchPolicyRegex } from './policy-regex.js';

export {
  type CompiledPolicy,
  compilePolicy,
  followsAdmins,
  isPolicyAdmin,
  POLICY_UPDATE_KIND,
  policyScripts,
} from './policy-compiled.js';
export { readScope } from './policy-read.js';

export interface WriteRequest {
  /** Already id- and signature-checked. */
  readonly event: NostrEvent;
  /** Pubkeys the connection authenticated as (NIP-42); empty = unauthenticated. */
  readonly submitters: ReadonlySet<string>;
  /** Unix seconds. */
  readonly now: number;
  /** Bytes of the serialized event. */
  readonly size: number;
  /** Follows of the pubkeys `followsAdmins` names (the runtime keeps them). */
  readonly follows: ReadonlySet<string>;
}

export interface RateLimit {
  readonly key: string;
  readonly bytesPerSecond: number;
}

export type WriteDecision =
  | { readonly allow: true; readonly scripts: readonly string[]; readonly rateLimits: readonly RateLimit[] }
  /** `reason` is a complete NIP-01 message. */
  | { readonly allow: false; readonly reason: string };

export function checkWrite(policy: CompiledPolicy, req: WriteRequest): WriteDecision {
  const { kind } = req.event;
  const scripts: string[] = [];
  const rateLimits: RateLimit[] = [];
  const apply = (rule: CompiledRule): string | undefined => {
    const refused = checkAccess(rule, req) ?? checkEvent(rule, req);
    if (refused !== undefined) return refused;
    const { script, rateLimit } = rule.rule;
    if (script !== undefined && !scripts.includes(script)) scripts.push(script);
    if (rateLimit !== undefined) {
      rateLimits.push({
        key: rule.kind === undefined ? 'global' : `kind:${rule.kind}`,
        bytesPerSecond: rateLimit,
      });
    }
    return undefined;
  };

  if (policy.global !== undefined) {
    const refused = apply(policy.global);
    if (refused !== undefined) return { allow: false, reason: refused };
  }
  const filtered = kindFilter(policy, kind);
  if (filtered !== undefined) return { allow: false, reason: filtered };
  const rule = policy.rules.get(kind);
  if (rule !== undefined) {
    const refused = apply(rule);
    if (refused !== undefined) return { allow: false, reason: refused };
  } else if (policy.defaultDeny) {
    return { allow: false, reason: notAllowed(kind, 'it has no rule and default_policy is "deny"') };
  }
  return { allow: true, scripts, rateLimits };
}

function notAllowed(kind: number, why: string): string {
  return reason('blocked', `policy: kind ${kind} is not allowed (${why})`);
}

function kindFilter(policy: CompiledPolicy, kind: number): string | undefined {
  if (policy.blacklist.has(kind)) return notAllowed(kind, 'kind.blacklist');
  if (policy.whitelist !== undefined) {
    return policy.whitelist.has(kind) ? undefined : notAllowed(kind, 'not in kind.whitelist');
  }
  if (policy.implicitWhitelist && !policy.rules.has(kind)) return notAllowed(kind, 'it has no rule');
  return undefined;
}

/** " for kind 1" or " (global rule)": where a refusal comes from. */
function where(rule: CompiledRule): string {
  return rule.kind === undefined ? ' (global rule)' : ` for kind ${rule.kind}`;
}

function what(rule: CompiledRule): string {
  return rule.kind === undefined ? 'events' : `kind ${rule.kind} events`;
}

/** The field a refusal comes from: `write_allow`, or `global write_allow` for the global rule. */
function field(rule: CompiledRule, name: string): string {
  return rule.kind === undefined ? `global ${name}` : name;
}

function checkAccess(rule: CompiledRule, req: WriteRequest): string | undefined {
  const { event, submitters } = req;
  const grant = rule.write;
  if (grant.deny.has(event.pubkey) || anyIn(submitters, grant.deny)) {
    return reason(
      'blocked',
      `policy: this pubkey may not publish ${what(rule)} (${field(rule, 'write_deny')})`,
    );
  }
  if (!grant.restricted || grantAllows(grant, submitters, req.follows)) return undefined;
  if (rule.rule.writeAllowIfTagged === true && taggedOrAuthoredByAllowed(event, grant.allow))
    return undefined;
  const allowField = field(rule, grant.allow.size > 0 ? 'write_allow' : 'write follows whitelist');
  if (submitters.size === 0) {
    return reason(
      'auth-required',
      `policy: ${what(rule)} are only accepted from allowed pubkeys (${allowField}): authenticate first`,
    );
  }
  return reason('blocked', `policy: you are not allowed to publish ${what(rule)} (${allowField})`);
}

function taggedOrAuthoredByAllowed(event: NostrEvent, allow: ReadonlySet<string>): boolean {
  if (allow.has(event.pubkey)) return true;
  for (const tag of event.tags) if (tag[0] === 'p' && tag[1] !== undefined && allow.has(tag[1])) return true;
  return false;
}

function quoted(value: string): string {
  return value.length > 64 ? `${JSON.stringify(value.slice(0, 64))}...` : JSON.stringify(value);
}

function invalid(rule: CompiledRule, text: string): string {
  return reason('invalid', `policy: ${text}${where(rule)}`);
}

function checkEvent(rule: CompiledRule, req: WriteRequest): string | undefined {
  const { event, now, size } = req;
  const r = rule.rule;
  if (r.sizeLimit !== undefined && size > r.sizeLimit) {
    return invalid(rule, `event is ${size} bytes, more than ${r.sizeLimit}`);
  }
  if (r.contentLimit !== undefined && Buffer.byteLength(event.content, 'utf8') > r.contentLimit) {
    return invalid(rule, `content exceeds ${r.contentLimit} bytes`);
  }
  if (r.maxAgeOfEvent && event.created_at < now - r.maxAgeOfEvent) {
    return invalid(rule, `created_at is more than ${r.maxAgeOfEvent} seconds in the past`);
  }
  if (r.maxAgeEventInFuture && event.created_at > now + r.maxAgeEventInFuture) {
    return invalid(rule, `created_at is more than ${r.maxAgeEventInFuture} seconds in the future`);
  }
  return checkExpiry(rule, event) ?? checkTags(rule, event) ?? checkTagValues(rule, event);
}

function checkExpiry(rule: CompiledRule, event: NostrEvent): string | undefined {
  const max = rule.maxExpiry;
  if (!max) return undefined;
  const value = firstTagValue(event, 'expiration');
  if (value === undefined) return invalid(rule, 'an expiration tag is required');
  if (!/^\d{1,15}$/.test(value)) return invalid(rule, 'the expiration tag is not a unix timestamp');
  if (Number(value) - event.created_at > max) {
    const given = rule.rule.maxExpiryDuration === undefined ? '' : ` (${rule.rule.maxExpiryDuration})`;
    return invalid(rule, `expiration is more than ${max} seconds${given} after created_at`);
  }
  return undefined;
}

function checkTags(rule: CompiledRule, event: NostrEvent): string | undefined {
  const r = rule.rule;
  for (const name of r.mustHaveTags ?? []) {
    if (!event.tags.some((tag) => tag[0] === name))
      return invalid(rule, `missing required tag ${quoted(name)}`);
  }
  if (rule.allowedTags !== undefined) {
    for (const tag of event.tags) {
      if (!rule.allowedTags.has(tag[0]!)) return invalid(rule, `tag ${quoted(tag[0]!)} is not allowed`);
    }
  }
  if (r.protectedRequired === true && !isProtected(event)) {
    return invalid(rule, 'the event must be protected (a NIP-70 ["-"] tag)');
  }
  return undefined;
}

function checkTagValues(rule: CompiledRule, event: NostrEvent): string | undefined {
  if (rule.identifier !== undefined) {
    const dTags = event.tags.filter((tag) => tag[0] === 'd');
    if (dTags.length === 0) return invalid(rule, 'a d tag is required (identifier_regex)');
    for (const tag of dTags) {
      const refused = matchValue(rule, rule.identifier, 'd', tag[1] ?? '', 'identifier_regex');
      if (refused !== undefined) return refused;
    }
  }
  for (const [name, regex] of rule.tagValidation) {
    for (const tag of event.tags) {
      if (tag[0] !== name) continue;
      const refused = matchValue(rule, regex, name, tag[1] ?? '', 'tag_validation');
      if (refused !== undefined) return refused;
    }
  }
  return undefined;
}

function matchValue(rule: CompiledRule, regex: RegExp, name: string, value: string, field: string) {
  const result = matchPolicyRegex(regex, value);
  if (result === 'match') return undefined;
  if (result === 'too-long') {
    return invalid(
      rule,
      `tag ${quoted(name)} value is longer than ${MAX_MATCH_LENGTH} characters, too long to check against ${field}`,
    );
  }
  return invalid(rule, `tag ${quoted(name)} value ${quoted(value)} does not match ${field}`);
}
