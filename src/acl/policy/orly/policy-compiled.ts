/**
 * A policy document (policy-document.ts) compiled for deciding: pubkey lists as sets, the
 * regular expressions compiled (policy-regex.ts), max_expiry_duration in seconds, the kind filter
 * resolved, and who may read and write under each rule. Built once per load or hot reload; the
 * decisions (policy-rules.ts, policy-read.ts) only look things up. Pure code.
 *
 * Follows (ORLY's semantics, pkg/policy/policy.go):
 *  - `write_allow_follows` lets the follows of the `policy_admins` read and write under its rule,
 *    and only when `policy_follow_whitelist_enabled` is true (ORLY's master switch); it does not
 *    restrict anyone by itself.
 *  - `read_follows_whitelist` / `write_follows_whitelist` are whitelists for one side: `true` =
 *    the policy admins' follows, a pubkey list = those pubkeys and their follows.
 *  - `follows_whitelist_admins` (deprecated) is the same for both sides.
 * The relay keeps ONE follows set: the union of the follows of every pubkey `followsAdmins`
 * returns. So a rule's own list (ORLY keeps one follows set per list) admits the follows of every
 * listed admin, not only its own: a widening accepted to keep one set (documented, not hidden).
 */
import { type PolicyDocument, PolicyError, type PolicyRule } from './policy-document.js';
import { parseIsoDuration } from './policy-duration.js';
import { compilePolicyRegex } from './policy-regex.js';

/** The kind of ORLY's policy-update events (their content is the whole new policy file). */
export const POLICY_UPDATE_KIND = 12345;

/** Who a rule lets through on one side. */
export interface Grant {
  readonly allow: ReadonlySet<string>;
  readonly deny: ReadonlySet<string>;
  /** Pubkeys of follows whitelists, allowed themselves. */
  readonly listed: ReadonlySet<string>;
  /** The follows set counts as allowed. */
  readonly viaFollows: boolean;
  /** Someone not allowed is refused (for reads: or served only what involves them, when privileged). */
  readonly restricted: boolean;
}

export interface CompiledRule {
  /** The rule's kind; undefined for the global rule. */
  readonly kind: number | undefined;
  readonly rule: PolicyRule;
  readonly write: Grant;
  readonly read: Grant;
  /** max_expiry_duration (or the legacy max_expiry) in seconds; undefined or 0 = no limit. */
  readonly maxExpiry: number | undefined;
  readonly identifier: RegExp | undefined;
  readonly tagValidation: ReadonlyMap<string, RegExp>;
  readonly allowedTags: ReadonlySet<string> | undefined;
}

export interface CompiledPolicy {
  readonly document: PolicyDocument;
  /** The file's owners and the relay's ORLY_OWNERS. */
  readonly owners: ReadonlySet<string>;
  readonly policyAdmins: ReadonlySet<string>;
  readonly global: CompiledRule | undefined;
  readonly rules: ReadonlyMap<number, CompiledRule>;
  readonly blacklist: ReadonlySet<number>;
  /** An explicit, non-empty kind.whitelist. */
  readonly whitelist: ReadonlySet<number> | undefined;
  /** No explicit whitelist, rules exist, default_policy not "allow": kinds without a rule are refused. */
  readonly implicitWhitelist: boolean;
  readonly defaultDeny: boolean;
  readonly followsAdmins: readonly string[];
}

function listed(value: PolicyRule['readFollowsWhitelist']): readonly string[] {
  return Array.isArray(value) ? value : [];
}

function isOn(value: PolicyRule['readFollowsWhitelist']): boolean {
  return value === true || (Array.isArray(value) && value.length > 0);
}

function compileRule(rule: PolicyRule, kind: number | undefined, doc: PolicyDocument): CompiledRule {
  const path = kind === undefined ? 'global' : `rules.${kind}`;
  const legacy = rule.followsWhitelistAdmins ?? [];
  const adminFollows = rule.writeAllowFollows === true && doc.policyFollowWhitelistEnabled === true;
  const side = (
    allow: readonly string[] | undefined,
    deny: readonly string[] | undefined,
    whitelist: PolicyRule['readFollowsWhitelist'],
  ): Grant => ({
    allow: new Set(allow),
    deny: new Set(deny),
    listed: new Set([...listed(whitelist), ...legacy]),
    viaFollows: adminFollows || isOn(whitelist) || legacy.length > 0,
    restricted: (allow?.length ?? 0) > 0 || isOn(whitelist) || legacy.length > 0,
  });
  let maxExpiry = rule.maxExpiry;
  if (rule.maxExpiryDuration !== undefined) {
    const parsed = parseIsoDuration(rule.maxExpiryDuration);
    if (!parsed.ok) throw new PolicyError(`${path}.max_expiry_duration: ${parsed.problem}`);
    maxExpiry = parsed.seconds;
  }
  const regex = (pattern: string, at: string): RegExp => {
    const check = compilePolicyRegex(pattern);
    if (!check.ok) throw new PolicyError(`${at}: ${check.problem}`);
    return check.regex;
  };
  const tagValidation = new Map<string, RegExp>();
  for (const [tag, pattern] of rule.tagValidation ?? []) {
    tagValidation.set(tag, regex(pattern, `${path}.tag_validation.${tag}`));
  }
  return {
    kind,
    rule,
    write: side(rule.writeAllow, rule.writeDeny, rule.writeFollowsWhitelist),
    read: side(rule.readAllow, rule.readDeny, rule.readFollowsWhitelist),
    maxExpiry,
    identifier:
      rule.identifierRegex === undefined
        ? undefined
        : regex(rule.identifierRegex, `${path}.identifier_regex`),
    tagValidation,
    allowedTags:
      rule.allowedTags === undefined || rule.allowedTags.length === 0 ? undefined : new Set(rule.allowedTags),
  };
}

/** Compiles a document; `extraOwners` are the relay's ORLY_OWNERS (owners = the union). */
export function compilePolicy(doc: PolicyDocument, extraOwners: readonly string[] = []): CompiledPolicy {
  const global = doc.global === undefined ? undefined : compileRule(doc.global, undefined, doc);
  const rules = new Map<number, CompiledRule>();
  for (const [kind, rule] of doc.rules ?? []) rules.set(kind, compileRule(rule, kind, doc));
  const whitelist = doc.kind?.whitelist?.length ? new Set(doc.kind.whitelist) : undefined;
  const all = [...(global === undefined ? [] : [global]), ...rules.values()];
  return {
    document: doc,
    owners: new Set([...(doc.owners ?? []), ...extraOwners.map((k) => k.toLowerCase())]),
    policyAdmins: new Set(doc.policyAdmins),
    global,
    rules,
    blacklist: new Set(doc.kind?.blacklist),
    whitelist,
    implicitWhitelist: whitelist === undefined && rules.size > 0 && doc.defaultPolicy !== 'allow',
    defaultDeny: doc.defaultPolicy === 'deny',
    followsAdmins: collectFollowsAdmins(doc, all),
  };
}

function collectFollowsAdmins(doc: PolicyDocument, rules: readonly CompiledRule[]): string[] {
  const out = new Set<string>();
  const enabled = doc.policyFollowWhitelistEnabled === true;
  for (const { rule } of rules) {
    const usesAdmins =
      (rule.writeAllowFollows === true && enabled) ||
      rule.readFollowsWhitelist === true ||
      rule.writeFollowsWhitelist === true;
    if (usesAdmins) for (const k of doc.policyAdmins ?? []) out.add(k);
    for (const k of listed(rule.readFollowsWhitelist)) out.add(k);
    for (const k of listed(rule.writeFollowsWhitelist)) out.add(k);
    for (const k of rule.followsWhitelistAdmins ?? []) out.add(k);
  }
  return [...out];
}

/** An owner (the file's or ORLY_OWNERS) or one of the file's policy_admins. */
export function isPolicyAdmin(policy: CompiledPolicy, pubkey: string): boolean {
  return policy.owners.has(pubkey) || policy.policyAdmins.has(pubkey);
}

/**
 * The pubkeys whose kind 3 follows make up the `follows` set the decisions are given: the policy
 * admins when a rule uses their follows, and every pubkey of a follows whitelist. Empty when no
 * rule uses follows (the runtime then keeps none).
 */
export function followsAdmins(policy: CompiledPolicy): string[] {
  return [...policy.followsAdmins];
}

/** Whether any of `keys` is allowed on one side of a rule (allow list, follows whitelists, follows). */
export function grantAllows(grant: Grant, keys: ReadonlySet<string>, follows: ReadonlySet<string>): boolean {
  for (const k of keys) {
    if (grant.allow.has(k) || grant.listed.has(k) || (grant.viaFollows && follows.has(k))) return true;
  }
  return false;
}

export function anyIn(keys: ReadonlySet<string>, set: ReadonlySet<string>): boolean {
  for (const k of keys) if (set.has(k)) return true;
  return false;
}

/** The scripts the policy runs (absolute paths, the global rule's first, each once). */
export function policyScripts(policy: CompiledPolicy): string[] {
  const scripts = new Set<string>();
  const doc = policy.document;
  if (doc.global?.script !== undefined) scripts.add(doc.global.script);
  for (const rule of doc.rules?.values() ?? []) if (rule.script !== undefined) scripts.add(rule.script);
  return [...scripts];
}
