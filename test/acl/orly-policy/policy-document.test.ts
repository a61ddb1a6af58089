/**
 * Reading and writing ORLY's policy file (src/acl/policy/orly/policy-document.ts): every field
 * parsed into the typed document, the round trip through serializePolicyDocument, and the errors,
 * each naming its JSON path: unknown and unsupported fields, wrong types, unsafe or invalid
 * regular expressions, years and months in durations, the bounds of the document.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nip19 } from 'nostr-tools';
import { compilePolicy } from '../../../src/acl/policy/orly/policy-compiled.js';
import {
  MAX_DOCUMENT_BYTES,
  type PolicyDocument,
  PolicyError,
  parsePolicyDocument,
  serializePolicyDocument,
} from '../../../src/acl/policy/orly/policy-document.js';
import { parseIsoDuration } from '../../../src/acl/policy/orly/policy-duration.js';
import { hexOf } from '../../helpers/events.js';

const A = hexOf(1);
const B = hexOf(2);
const C = hexOf(3);

/** A document using every field. */
const FULL = {
  default_policy: 'deny',
  kind: { whitelist: [0, 1, 3, 7, 30023], blacklist: [4] },
  owners: [A],
  policy_admins: [B],
  policy_follow_whitelist_enabled: true,
  global: {
    description: 'everything',
    size_limit: 65536,
    content_limit: 32768,
    max_age_of_event: 86400,
    max_age_event_in_future: 300,
    rate_limit: 100000,
    script: '/etc/orly/global.sh',
    write_deny: [C],
    tag_validation: { t: '^[a-z0-9-]{1,32}$' },
  },
  rules: {
    '1': {
      description: 'notes',
      write_allow: [A, B],
      read_allow: [A],
      read_deny: [C],
      privileged: true,
      write_allow_follows: true,
      write_allow_if_tagged: true,
      must_have_tags: ['t'],
      allowed_tags: ['t', 'p', 'e'],
      max_expiry_duration: 'P1DT12H',
    },
    '7': { max_expiry: 3600, protected_required: true, read_follows_whitelist: true },
    '30023': {
      identifier_regex: '^[a-z0-9-]{1,64}$',
      write_follows_whitelist: [C],
      follows_whitelist_admins: [A],
      script: '/etc/orly/articles.sh',
    },
  },
};

function errorOf(json: unknown): string {
  try {
    parsePolicyDocument(typeof json === 'string' ? json : JSON.stringify(json));
  } catch (err) {
    assert.ok(err instanceof PolicyError, String(err));
    assert.equal(err.code, 'ORLY_POLICY');
    return err.message;
  }
  assert.fail('parsed without error');
}

describe('policy document: parsing', () => {
  it('parses every field into the typed document', () => {
    const doc = parsePolicyDocument(JSON.stringify(FULL));
    assert.equal(doc.defaultPolicy, 'deny');
    assert.deepEqual(doc.kind, { whitelist: [0, 1, 3, 7, 30023], blacklist: [4] });
    assert.deepEqual(doc.owners, [A]);
    assert.deepEqual(doc.policyAdmins, [B]);
    assert.equal(doc.policyFollowWhitelistEnabled, true);
    assert.equal(doc.global?.sizeLimit, 65536);
    assert.equal(doc.global?.rateLimit, 100000);
    assert.deepEqual(doc.global?.tagValidation, new Map([['t', '^[a-z0-9-]{1,32}$']]));
    assert.deepEqual([...(doc.rules?.keys() ?? [])], [1, 7, 30023]);
    const note = doc.rules?.get(1);
    assert.deepEqual(note?.writeAllow, [A, B]);
    assert.equal(note?.writeAllowIfTagged, true);
    assert.equal(note?.maxExpiryDuration, 'P1DT12H');
    assert.equal(doc.rules?.get(7)?.readFollowsWhitelist, true);
    assert.deepEqual(doc.rules?.get(30023)?.writeFollowsWhitelist, [C]);
    assert.equal(compilePolicy(doc).rules.get(1)?.maxExpiry, 129600);
  });

  it('round-trips through serializePolicyDocument with ORLY names', () => {
    const doc = parsePolicyDocument(JSON.stringify(FULL));
    const text = serializePolicyDocument(doc);
    assert.deepEqual(JSON.parse(text), FULL);
    assert.match(text, /^\{\n {2}"default_policy": "deny",\n/);
    assert.deepEqual(parsePolicyDocument(text), doc);
    const empty: PolicyDocument = {};
    assert.deepEqual(parsePolicyDocument(serializePolicyDocument(empty)), empty);
  });

  it('normalizes pubkeys: npub decoded, hex lowercased, duplicates dropped', () => {
    const npub = nip19.npubEncode(A);
    const doc = parsePolicyDocument(JSON.stringify({ owners: [npub, A.toUpperCase(), B] }));
    assert.deepEqual(doc.owners, [A, B]);
  });

  it('reads null as absent, and default_policy "" as not given', () => {
    const doc = parsePolicyDocument(
      JSON.stringify({ default_policy: '', rules: null, global: { write_allow: null, description: '' } }),
    );
    assert.deepEqual(doc, { global: { description: '' } });
  });
});

describe('policy document: errors name the JSON path', () => {
  it('refuses unknown fields anywhere', () => {
    assert.equal(errorOf({ default_polcy: 'deny' }), 'default_polcy: unknown field');
    assert.equal(errorOf({ rules: { '1': { size_limt: 5 } } }), 'rules.1.size_limt: unknown field');
    assert.equal(errorOf({ global: { writeAllow: [] } }), 'global.writeAllow: unknown field');
    assert.equal(errorOf({ kind: { whitelist: [1], greylist: [2] } }), 'kind.greylist: unknown field');
  });

  it('refuses the ORLY fields it does not implement', () => {
    assert.equal(
      errorOf({ global: { read_allow_permissive: true } }),
      'global.read_allow_permissive: not supported by this relay',
    );
    assert.equal(
      errorOf({ rules: { '1': { write_allow_permissive: false } } }),
      'rules.1.write_allow_permissive: not supported by this relay',
    );
  });

  it('refuses wrong types', () => {
    assert.equal(
      errorOf({ rules: { '30023': { size_limit: '10' } } }),
      'rules.30023.size_limit: must be a non-negative integer',
    );
    assert.equal(
      errorOf({ global: { content_limit: -1 } }),
      'global.content_limit: must be a non-negative integer',
    );
    assert.equal(
      errorOf({ global: { max_age_of_event: 1.5 } }),
      'global.max_age_of_event: must be a non-negative integer',
    );
    assert.equal(
      errorOf({ global: { max_expiry: 2 ** 53 } }),
      'global.max_expiry: must be a non-negative integer',
    );
    assert.equal(errorOf({ global: { rate_limit: 0 } }), 'global.rate_limit: must be a positive integer');
    assert.equal(errorOf({ global: { privileged: 'yes' } }), 'global.privileged: must be true or false');
    assert.equal(
      errorOf({ policy_follow_whitelist_enabled: 1 }),
      'policy_follow_whitelist_enabled: must be true or false',
    );
    assert.equal(errorOf({ global: { description: 5 } }), 'global.description: must be a string');
    assert.equal(errorOf({ global: { must_have_tags: 't' } }), 'global.must_have_tags: must be an array');
    assert.equal(
      errorOf({ global: { allowed_tags: [''] } }),
      'global.allowed_tags[0]: must be a tag name of 1 to 256 characters',
    );
    assert.equal(
      errorOf({ global: { tag_validation: ['^a$'] } }),
      'global.tag_validation: must be an object',
    );
    assert.equal(
      errorOf({ global: { read_follows_whitelist: 'yes' } }),
      'global.read_follows_whitelist: must be an array',
    );
    assert.equal(errorOf({ default_policy: 'maybe' }), 'default_policy: must be "allow" or "deny"');
    assert.equal(
      errorOf({ kind: { whitelist: [70000] } }),
      'kind.whitelist[0]: must be an integer between 0 and 65535',
    );
    assert.equal(errorOf({ global: [] }), 'global: must be an object');
    assert.equal(errorOf({ rules: { '1': null } }), 'rules.1: must be an object');
    assert.equal(errorOf([]), '(document): must be an object');
    assert.match(errorOf('{"owners": ['), /^\(document\): not valid JSON: /);
  });

  it('refuses bad pubkeys, naming the entry', () => {
    assert.equal(errorOf({ owners: [A, 'abc'] }), 'owners[1]: expected 64 hex characters or an npub1... key');
    assert.equal(
      errorOf({ rules: { '1': { write_allow: [5] } } }),
      'rules.1.write_allow[0]: must be a string',
    );
    assert.match(errorOf({ policy_admins: ['npub1qqqqqqqq'] }), /^policy_admins\[0\]: /);
  });

  it('refuses bad rule keys, scripts and regular expressions', () => {
    assert.equal(
      errorOf({ rules: { abc: {} } }),
      'rules.abc: a rule key must be a kind number between 0 and 65535',
    );
    assert.equal(
      errorOf({ rules: { '65536': {} } }),
      'rules.65536: a rule key must be a kind number between 0 and 65535',
    );
    assert.equal(
      errorOf({ rules: { '01': {} } }),
      'rules.01: a rule key must be a kind number between 0 and 65535',
    );
    assert.equal(
      errorOf({ global: { script: 'policy.sh' } }),
      'global.script: must be an absolute path of at most 4096 characters',
    );
    assert.equal(
      errorOf({ global: { tag_validation: { t: '(a+)+$' } } }),
      'global.tag_validation.t: unsafe regular expression (nested quantifier)',
    );
    assert.match(
      errorOf({ rules: { '1': { identifier_regex: '(abc' } } }),
      /^rules\.1\.identifier_regex: invalid regular expression: /,
    );
    assert.equal(
      errorOf({ global: { identifier_regex: '(?<=a)b' } }),
      'global.identifier_regex: unsupported regular expression: lookahead and lookbehind are not allowed',
    );
  });

  it('refuses years and months in durations, and malformed ones', () => {
    for (const d of ['P1M', 'P1Y', 'P1Y2M3D', 'P1MT1H']) {
      assert.match(
        errorOf({ global: { max_expiry_duration: d } }),
        /^global\.max_expiry_duration: years and months are not fixed lengths/,
        d,
      );
    }
    for (const d of ['P', 'PT', '7D', 'P1.5D', 'P1D2H', 'p1d', '']) {
      assert.match(
        errorOf({ global: { max_expiry_duration: d } }),
        /^global\.max_expiry_duration: must be an ISO-8601 duration/,
        d,
      );
    }
  });

  it('refuses documents over the bounds', () => {
    const many = Array.from({ length: 10_001 }, (_, i) => hexOf(i));
    assert.equal(errorOf({ owners: many }), 'owners: has 10001 entries, the limit is 10000');
    const rules = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [String(i), {}]));
    assert.equal(errorOf({ rules }), 'rules: has 1001 rules, the limit is 1000');
    const tags = Array.from({ length: 1001 }, (_, i) => `t${i}`);
    assert.equal(
      errorOf({ global: { must_have_tags: tags } }),
      'global.must_have_tags: has 1001 entries, the limit is 1000',
    );
    const validation = Object.fromEntries(tags.map((t) => [t, '^a$']));
    assert.equal(
      errorOf({ global: { tag_validation: validation } }),
      'global.tag_validation: has 1001 entries, the limit is 1000',
    );
    assert.equal(
      errorOf({ global: { identifier_regex: 'a'.repeat(1025) } }),
      'global.identifier_regex: regular expression is longer than 1024 characters',
    );
    const big = JSON.stringify({ global: { description: 'x'.repeat(MAX_DOCUMENT_BYTES) } });
    assert.equal(errorOf(big), `(document): ${big.length} bytes, the limit is ${MAX_DOCUMENT_BYTES}`);
  });
});

describe('policy document: ISO-8601 durations', () => {
  it('converts fixed-length units to seconds', () => {
    const cases: [string, number][] = [
      ['P7D', 604800],
      ['PT1H30M', 5400],
      ['P1DT12H', 129600],
      ['PT1M', 60],
      ['PT45S', 45],
      ['P2W', 1209600],
    ];
    for (const [text, seconds] of cases)
      assert.deepEqual(parseIsoDuration(text), { ok: true, seconds }, text);
  });
});
