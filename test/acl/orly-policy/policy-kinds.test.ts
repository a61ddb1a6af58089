/**
 * The write decision of ORLY's policy file (checkWrite, src/acl/policy/orly/policy-rules.ts) around
 * the rules: the kind filter (blacklist, whitelist, the implicit whitelist of the rules'
 * kinds), default_policy, the global rule applied in addition to the kind's, and the scripts and
 * rate limits an accept carries. Real signed events.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newKey, signedEvent } from '../../helpers/events.js';
import { policyOf, reasonOf, writeOf } from './helpers.js';

const alice = newKey();
const bob = newKey();
const carol = newKey();
const NONE = new Set<string>();

describe('policy write: kind filter and default policy', () => {
  it('kind.blacklist refuses, also when whitelisted', () => {
    const p = policyOf({ kind: { blacklist: [7] } });
    assert.equal(
      reasonOf(writeOf(p, signedEvent(alice, { kind: 7 }))),
      'blocked: policy: kind 7 is not allowed (kind.blacklist)',
    );
    assert.equal(writeOf(p, signedEvent(alice, { kind: 1 })).allow, true);
    const both = policyOf({ kind: { whitelist: [7], blacklist: [7] } });
    assert.equal(writeOf(both, signedEvent(alice, { kind: 7 })).allow, false);
  });

  it('kind.whitelist admits only its kinds, and wins over the implicit whitelist', () => {
    const p = policyOf({ kind: { whitelist: [1, 7] }, rules: { '1': {} } });
    assert.equal(writeOf(p, signedEvent(alice, { kind: 7 })).allow, true);
    assert.equal(
      reasonOf(writeOf(p, signedEvent(alice, { kind: 3 }))),
      'blocked: policy: kind 3 is not allowed (not in kind.whitelist)',
    );
  });

  it('rules without a whitelist are an implicit whitelist unless default_policy is "allow"', () => {
    const rules = { '1': { content_limit: 100 } };
    const unset = policyOf({ rules });
    assert.equal(
      reasonOf(writeOf(unset, signedEvent(alice, { kind: 7 }))),
      'blocked: policy: kind 7 is not allowed (it has no rule)',
    );
    assert.equal(writeOf(unset, signedEvent(alice, { kind: 1 })).allow, true);
    assert.equal(
      writeOf(policyOf({ default_policy: 'deny', rules }), signedEvent(alice, { kind: 7 })).allow,
      false,
    );
    assert.equal(
      writeOf(policyOf({ default_policy: 'allow', rules }), signedEvent(alice, { kind: 7 })).allow,
      true,
    );
    assert.equal(writeOf(policyOf({}), signedEvent(alice, { kind: 7 })).allow, true);
  });

  it('default_policy "deny" refuses kinds that have no rule', () => {
    const p = policyOf({ default_policy: 'deny', kind: { whitelist: [1, 7] }, rules: { '1': {} } });
    assert.equal(writeOf(p, signedEvent(alice, { kind: 1 })).allow, true);
    assert.equal(
      reasonOf(writeOf(p, signedEvent(alice, { kind: 7 }))),
      'blocked: policy: kind 7 is not allowed (it has no rule and default_policy is "deny")',
    );
    assert.equal(writeOf(policyOf({ default_policy: 'deny' }), signedEvent(alice)).allow, false);
  });
});

describe('policy write: global rule, scripts and rate limits', () => {
  it('the global rule applies in addition to the kind rule, and first', () => {
    const p = policyOf({
      global: { content_limit: 10, write_deny: [carol.pubkey] },
      rules: { '1': { must_have_tags: ['t'] } },
    });
    assert.equal(writeOf(p, signedEvent(alice, { tags: [['t', 'x']], content: 'ok' })).allow, true);
    assert.equal(
      reasonOf(writeOf(p, signedEvent(alice, { tags: [['t', 'x']], content: 'far too long' }))),
      'invalid: policy: content exceeds 10 bytes (global rule)',
    );
    assert.equal(
      reasonOf(writeOf(p, signedEvent(alice, { content: 'ok' }))),
      'invalid: policy: missing required tag "t" for kind 1',
    );
    assert.equal(
      reasonOf(writeOf(p, signedEvent(carol, { kind: 7 }))),
      'blocked: policy: this pubkey may not publish events (global write_deny)',
    );
    const allowAll = policyOf({ global: { write_allow: [bob.pubkey] } });
    assert.equal(
      reasonOf(writeOf(allowAll, signedEvent(alice), { submitters: NONE })),
      'auth-required: policy: events are only accepted from allowed pubkeys (global write_allow): authenticate first',
    );
  });

  it('returns the scripts (global first, deduplicated) and the rate limits of the rules applied', () => {
    const p = policyOf({
      global: { script: '/opt/global.sh', rate_limit: 5000 },
      rules: {
        '1': { script: '/opt/notes.sh', rate_limit: 1000 },
        '7': { script: '/opt/global.sh' },
      },
    });
    assert.deepEqual(writeOf(p, signedEvent(alice, { kind: 1 })), {
      allow: true,
      scripts: ['/opt/global.sh', '/opt/notes.sh'],
      rateLimits: [
        { key: 'global', bytesPerSecond: 5000 },
        { key: 'kind:1', bytesPerSecond: 1000 },
      ],
    });
    assert.deepEqual(writeOf(p, signedEvent(alice, { kind: 7 })), {
      allow: true,
      scripts: ['/opt/global.sh'],
      rateLimits: [{ key: 'global', bytesPerSecond: 5000 }],
    });
  });
});
