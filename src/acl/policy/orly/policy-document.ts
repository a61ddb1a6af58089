/**
 * ORLY's policy file (`ORLY_POLICY_PATH`, policy.json, and the content of a kind 12345 policy
 * update) as a typed, validated document: `parsePolicyDocument` reads it, `serializePolicyDocument`
 * writes it back with ORLY's snake_case names (what it writes parses to an equal document).
 * Decisions are in policy-rules.ts; the regular expressions' safety in policy-regex.ts.
 *
 * Strict where ORLY is lenient, since this is a security file: an unknown field anywhere is an
 * error naming it (a typo must not silently fail open), ORLY fields this relay does not implement
 * (`read_allow_permissive`, `write_allow_permissive`) are refused as "not supported", every
 * integer is a safe non-negative integer, every pubkey is checked (64 hex or npub, stored as
 * lowercase hex, duplicates dropped), and the document is bounded: 1 MiB of text, 1,000 rules,
 * 10,000 pubkeys per list, 1,000 entries per string list or tag_validation map, 10,000 regular
 * expressions in all, 1,024 characters per pattern. A JSON `null` counts as an absent field (what
 * Go's encoding/json writes for an empty list or map); `default_policy: ""` counts as absent too.
 * Every error is a PolicyError whose message starts with the JSON path, e.g.
 * `rules.30023.size_limit: must be a non-negative integer`.
 *
 * `read_follows_whitelist` / `write_follows_whitelist` take either `true` (the follows of the
 * policy admins, this relay's own form) or a pubkey list (ORLY's form: those pubkeys and their
 * follows).
 */
import { OrlyError } from '../../../errors.js';
import { parsePubkey } from '../../pubkeys.js';
import { parseIsoDuration } from './policy-duration.js';
import { compilePolicyRegex } from './policy-regex.js';

export class PolicyError extends OrlyError {
  readonly code: string = 'ORLY_POLICY';
  constructor(message: string) {
    super(message);
    this.name = 'PolicyError';
  }
}

export type DefaultPolicy = 'allow' | 'deny';

/** `true` = the follows of the policy admins; a list = these pubkeys and their follows. */
export type FollowsWhitelist = boolean | readonly string[];

/** One rule (`global` or `rules.<kind>`). Absent fields impose nothing. */
export interface PolicyRule {
  readonly description?: string;
  readonly sizeLimit?: number;
  readonly contentLimit?: number;
  readonly maxAgeOfEvent?: number;
  readonly maxAgeEventInFuture?: number;
  /** ISO-8601 text as given ("P7D"); validated, converted to seconds by compilePolicy. */
  readonly maxExpiryDuration?: string;
  readonly maxExpiry?: number;
  readonly mustHaveTags?: readonly string[];
  readonly allowedTags?: readonly string[];
  readonly protectedRequired?: boolean;
  readonly identifierRegex?: string;
  /** Tag name -> pattern. */
  readonly tagValidation?: ReadonlyMap<string, string>;
  readonly writeAllow?: readonly string[];
  readonly writeDeny?: readonly string[];
  readonly readAllow?: readonly string[];
  readonly readDeny?: readonly string[];
  readonly privileged?: boolean;
  readonly writeAllowFollows?: boolean;
  readonly readFollowsWhitelist?: FollowsWhitelist;
  readonly writeFollowsWhitelist?: FollowsWhitelist;
  /** Deprecated in ORLY: these pubkeys and their follows may read and write. */
  readonly followsWhitelistAdmins?: readonly string[];
  readonly writeAllowIfTagged?: boolean;
  readonly rateLimit?: number;
  readonly script?: string;
}

export interface PolicyDocument {
  /** Absent when the file does not give it (it then counts as "allow", except for the implicit whitelist). */
  readonly defaultPolicy?: DefaultPolicy;
  readonly kind?: { readonly whitelist?: readonly number[]; readonly blacklist?: readonly number[] };
  readonly owners?: readonly string[];
  readonly policyAdmins?: readonly string[];
  readonly policyFollowWhitelistEnabled?: boolean;
  readonly global?: PolicyRule;
  readonly rules?: ReadonlyMap<number, PolicyRule>;
}

export const MAX_DOCUMENT_BYTES = 1024 * 1024;
export const MAX_RULES = 1000;
export const MAX_PUBKEYS_PER_LIST = 10_000;
export const MAX_STRING_LIST = 1000;
export const MAX_REGEXES = 10_000;
const MAX_TAG_NAME = 256;
const MAX_PATH = 4096;

type FieldKind =
  | 'string'
  | 'uint'
  | 'positive'
  | 'bool'
  | 'duration'
  | 'tagNames'
  | 'regex'
  | 'tagRegexes'
  | 'pubkeys'
  | 'follows'
  | 'path';

/** Every rule field: its JSON name, its PolicyRule key, its kind. The order is the written order. */
const RULE_FIELDS: readonly (readonly [string, keyof PolicyRule, FieldKind])[] = [
  ['description', 'description', 'string'],
  ['script', 'script', 'path'],
  ['write_allow', 'writeAllow', 'pubkeys'],
  ['write_deny', 'writeDeny', 'pubkeys'],
  ['read_allow', 'readAllow', 'pubkeys'],
  ['read_deny', 'readDeny', 'pubkeys'],
  ['privileged', 'privileged', 'bool'],
  ['write_allow_follows', 'writeAllowFollows', 'bool'],
  ['read_follows_whitelist', 'readFollowsWhitelist', 'follows'],
  ['write_follows_whitelist', 'writeFollowsWhitelist', 'follows'],
  ['follows_whitelist_admins', 'followsWhitelistAdmins', 'pubkeys'],
  ['write_allow_if_tagged', 'writeAllowIfTagged', 'bool'],
  ['size_limit', 'sizeLimit', 'uint'],
  ['content_limit', 'contentLimit', 'uint'],
  ['max_age_of_event', 'maxAgeOfEvent', 'uint'],
  ['max_age_event_in_future', 'maxAgeEventInFuture', 'uint'],
  ['max_expiry_duration', 'maxExpiryDuration', 'duration'],
  ['max_expiry', 'maxExpiry', 'uint'],
  ['must_have_tags', 'mustHaveTags', 'tagNames'],
  ['allowed_tags', 'allowedTags', 'tagNames'],
  ['protected_required', 'protectedRequired', 'bool'],
  ['identifier_regex', 'identifierRegex', 'regex'],
  ['tag_validation', 'tagValidation', 'tagRegexes'],
  ['rate_limit', 'rateLimit', 'positive'],
];
const RULE_FIELD_BY_JSON = new Map(RULE_FIELDS.map((f) => [f[0], f]));
/** ORLY fields this relay refuses rather than silently ignoring. */
const UNSUPPORTED = new Set(['read_allow_permissive', 'write_allow_permissive']);

interface Context {
  regexes: number;
}

function fail(path: string, message: string): never {
  throw new PolicyError(`${path}: ${message}`);
}

function objectAt(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'must be an object');
  return value as Record<string, unknown>;
}

function arrayAt(value: unknown, path: string, max: number): unknown[] {
  if (!Array.isArray(value)) fail(path, 'must be an array');
  if (value.length > max) fail(path, `has ${value.length} entries, the limit is ${max}`);
  return value;
}

function uintAt(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    fail(path, 'must be a non-negative integer');
  }
  return value;
}

function boolAt(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') fail(path, 'must be true or false');
  return value;
}

function stringAt(value: unknown, path: string): string {
  if (typeof value !== 'string') fail(path, 'must be a string');
  return value;
}

function pubkeysAt(value: unknown, path: string): string[] {
  const out = new Set<string>();
  arrayAt(value, path, MAX_PUBKEYS_PER_LIST).forEach((entry, i) => {
    try {
      out.add(parsePubkey(stringAt(entry, `${path}[${i}]`)));
    } catch (err) {
      if (err instanceof PolicyError) throw err;
      fail(`${path}[${i}]`, (err as Error).message);
    }
  });
  return [...out];
}

function tagNameAt(value: unknown, path: string): string {
  const name = stringAt(value, path);
  if (name === '' || name.length > MAX_TAG_NAME)
    fail(path, `must be a tag name of 1 to ${MAX_TAG_NAME} characters`);
  return name;
}

function regexAt(value: unknown, path: string, ctx: Context): string {
  const pattern = stringAt(value, path);
  if (++ctx.regexes > MAX_REGEXES) fail(path, `more than ${MAX_REGEXES} regular expressions in the document`);
  const check = compilePolicyRegex(pattern);
  if (!check.ok) fail(path, check.problem);
  return pattern;
}

function fieldAt(kind: FieldKind, value: unknown, path: string, ctx: Context): unknown {
  switch (kind) {
    case 'string':
      return stringAt(value, path);
    case 'uint':
      return uintAt(value, path);
    case 'positive':
      if (uintAt(value, path) === 0) fail(path, 'must be a positive integer');
      return value;
    case 'bool':
      return boolAt(value, path);
    case 'duration': {
      const parsed = parseIsoDuration(stringAt(value, path));
      if (!parsed.ok) fail(path, parsed.problem);
      return value;
    }
    case 'tagNames':
      return arrayAt(value, path, MAX_STRING_LIST).map((v, i) => tagNameAt(v, `${path}[${i}]`));
    case 'regex':
      return regexAt(value, path, ctx);
    case 'tagRegexes': {
      const entries = Object.entries(objectAt(value, path));
      if (entries.length > MAX_STRING_LIST) {
        fail(path, `has ${entries.length} entries, the limit is ${MAX_STRING_LIST}`);
      }
      return new Map(
        entries.map(([tag, v]) => [tagNameAt(tag, `${path}.${tag}`), regexAt(v, `${path}.${tag}`, ctx)]),
      );
    }
    case 'pubkeys':
      return pubkeysAt(value, path);
    case 'follows':
      return typeof value === 'boolean' ? value : pubkeysAt(value, path);
    case 'path': {
      const p = stringAt(value, path);
      if (!p.startsWith('/') || p.length > MAX_PATH || p.includes('\0')) {
        fail(path, `must be an absolute path of at most ${MAX_PATH} characters`);
      }
      return p;
    }
  }
}

function parseRule(value: unknown, path: string, ctx: Context): PolicyRule {
  const rule: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(objectAt(value, path))) {
    const fieldPath = `${path}.${name}`;
    if (UNSUPPORTED.has(name)) fail(fieldPath, 'not supported by this relay');
    const field = RULE_FIELD_BY_JSON.get(name);
    if (field === undefined) fail(fieldPath, 'unknown field');
    if (v === null) continue;
    rule[field[1]] = fieldAt(field[2], v, fieldPath, ctx);
  }
  return rule as PolicyRule;
}

function kindAt(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) {
    fail(path, 'must be an integer between 0 and 65535');
  }
  return value;
}

function parseKindFilter(value: unknown): NonNullable<PolicyDocument['kind']> {
  const filter: { whitelist?: number[]; blacklist?: number[] } = {};
  for (const [name, v] of Object.entries(objectAt(value, 'kind'))) {
    if (name !== 'whitelist' && name !== 'blacklist') fail(`kind.${name}`, 'unknown field');
    if (v === null) continue;
    filter[name] = arrayAt(v, `kind.${name}`, 65536).map((k, i) => kindAt(k, `kind.${name}[${i}]`));
  }
  return filter;
}

function parseRules(value: unknown, ctx: Context): Map<number, PolicyRule> {
  const entries = Object.entries(objectAt(value, 'rules'));
  if (entries.length > MAX_RULES) fail('rules', `has ${entries.length} rules, the limit is ${MAX_RULES}`);
  const rules = new Map<number, PolicyRule>();
  for (const [key, rule] of entries) {
    if (!/^(0|[1-9]\d{0,4})$/.test(key) || Number(key) > 65535) {
      fail(`rules.${key}`, 'a rule key must be a kind number between 0 and 65535');
    }
    rules.set(Number(key), parseRule(rule, `rules.${key}`, ctx));
  }
  return rules;
}

const TOP_LEVEL = new Set([
  'default_policy',
  'kind',
  'owners',
  'policy_admins',
  'policy_follow_whitelist_enabled',
  'global',
  'rules',
]);

/** Parses and validates a policy file's text. Throws PolicyError naming the JSON path. */
export function parsePolicyDocument(text: string): PolicyDocument {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_DOCUMENT_BYTES) {
    throw new PolicyError(`(document): ${bytes} bytes, the limit is ${MAX_DOCUMENT_BYTES}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new PolicyError(`(document): not valid JSON: ${(err as Error).message}`);
  }
  const ctx: Context = { regexes: 0 };
  const doc: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(objectAt(json, '(document)'))) {
    if (!TOP_LEVEL.has(name)) fail(name, 'unknown field');
    if (v === null) continue;
    switch (name) {
      case 'default_policy':
        if (v === '') continue;
        if (v !== 'allow' && v !== 'deny') fail(name, 'must be "allow" or "deny"');
        doc.defaultPolicy = v;
        break;
      case 'kind':
        doc.kind = parseKindFilter(v);
        break;
      case 'owners':
        doc.owners = pubkeysAt(v, name);
        break;
      case 'policy_admins':
        doc.policyAdmins = pubkeysAt(v, name);
        break;
      case 'policy_follow_whitelist_enabled':
        doc.policyFollowWhitelistEnabled = boolAt(v, name);
        break;
      case 'global':
        doc.global = parseRule(v, name, ctx);
        break;
      case 'rules':
        doc.rules = parseRules(v, ctx);
        break;
    }
  }
  return doc as PolicyDocument;
}

function ruleToJson(rule: PolicyRule): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [json, key] of RULE_FIELDS) {
    const value = rule[key];
    if (value === undefined) continue;
    out[json] = value instanceof Map ? Object.fromEntries(value) : value;
  }
  return out;
}

/** The document as ORLY's JSON (snake_case, 2-space indent); parses back to an equal document. */
export function serializePolicyDocument(doc: PolicyDocument): string {
  const out: Record<string, unknown> = {};
  if (doc.defaultPolicy !== undefined) out.default_policy = doc.defaultPolicy;
  if (doc.kind !== undefined) out.kind = doc.kind;
  if (doc.owners !== undefined) out.owners = doc.owners;
  if (doc.policyAdmins !== undefined) out.policy_admins = doc.policyAdmins;
  if (doc.policyFollowWhitelistEnabled !== undefined) {
    out.policy_follow_whitelist_enabled = doc.policyFollowWhitelistEnabled;
  }
  if (doc.global !== undefined) out.global = ruleToJson(doc.global);
  if (doc.rules !== undefined) {
    const kinds = [...doc.rules.keys()].sort((a, b) => a - b);
    out.rules = Object.fromEntries(kinds.map((k) => [String(k), ruleToJson(doc.rules!.get(k)!)]));
  }
  return `${JSON.stringify(out, null, 2)}\n`;
}
