/**
 * What ORLY's policy file lets a reader see (readScope, src/acl/policy/orly/policy-read.ts):
 * read_deny, exclusive read_allow, privileged alone and with read_allow, the follows grants, the
 * global rule as a refusal or as "everything needs involvement", kind 12345 kept from everyone
 * but owners and policy admins, and the write-only fields leaving reads alone.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  followsAdmins,
  isPolicyAdmin,
  POLICY_UPDATE_KIND,
  readScope,
} from '../../../src/acl/policy/orly/policy-rules.js';
import { isOpenScope } from '../../../src/protocol/read-scope.js';
import { hexOf } from '../../helpers/events.js';
import { policyOf } from './helpers.js';

const OWNER = hexOf(1);
const ADMIN = hexOf(2);
const ALICE = hexOf(3);
const BOB = hexOf(4);
const CAROL = hexOf(5);
const EXTRA_OWNER = hexOf(6);
const NONE = new Set<string>();

const as = (...keys: string[]) => new Set(keys);

describe('policy read scope: kind rules', () => {
  it('restricts nothing but kind 12345 without rules', () => {
    const p = policyOf({ owners: [OWNER] });
    const scope = readScope(p, as(ALICE), NONE);
    assert.deepEqual([...scope.hiddenKinds], [POLICY_UPDATE_KIND]);
    assert.equal(scope.refused, undefined);
    assert.equal(scope.allInvolved, false);
    assert.equal(scope.involvedKinds.size, 0);
  });

  it('kind 12345 is served only to owners (file and ORLY_OWNERS) and policy admins', () => {
    const p = policyOf({ owners: [OWNER], policy_admins: [ADMIN] }, [EXTRA_OWNER]);
    assert.ok(readScope(p, NONE, NONE).hiddenKinds.has(POLICY_UPDATE_KIND));
    assert.ok(readScope(p, as(ALICE), NONE).hiddenKinds.has(POLICY_UPDATE_KIND));
    for (const k of [OWNER, ADMIN, EXTRA_OWNER]) {
      assert.ok(isOpenScope(readScope(p, as(k), NONE)), k);
      assert.ok(isPolicyAdmin(p, k));
    }
    assert.ok(isOpenScope(readScope(p, as(ALICE, ADMIN), NONE)));
    assert.equal(isPolicyAdmin(p, ALICE), false);
    const privileged = policyOf({ rules: { [POLICY_UPDATE_KIND]: { privileged: true } } });
    const scope = readScope(privileged, as(ALICE), NONE);
    assert.ok(scope.hiddenKinds.has(POLICY_UPDATE_KIND));
    assert.equal(scope.involvedKinds.has(POLICY_UPDATE_KIND), false);
  });

  it('read_deny hides the kind from the denied reader only', () => {
    const p = policyOf({ rules: { '1': { read_deny: [ALICE] } } });
    assert.ok(readScope(p, as(ALICE), NONE).hiddenKinds.has(1));
    assert.ok(readScope(p, as(ALICE, BOB), NONE).hiddenKinds.has(1));
    assert.equal(readScope(p, as(BOB), NONE).hiddenKinds.has(1), false);
    assert.equal(readScope(p, NONE, NONE).hiddenKinds.has(1), false);
  });

  it('read_allow is exclusive; read_deny beats it', () => {
    const p = policyOf({ rules: { '1': { read_allow: [ALICE, BOB], read_deny: [BOB] } } });
    assert.equal(readScope(p, as(ALICE), NONE).hiddenKinds.has(1), false);
    assert.ok(readScope(p, as(BOB), NONE).hiddenKinds.has(1));
    assert.ok(readScope(p, as(CAROL), NONE).hiddenKinds.has(1));
    assert.ok(readScope(p, NONE, NONE).hiddenKinds.has(1));
  });

  it('privileged alone requires involvement; with read_allow the listed read everything', () => {
    const alone = policyOf({ rules: { '4': { privileged: true } } });
    const s = readScope(alone, as(ALICE), NONE);
    assert.ok(s.involvedKinds.has(4));
    assert.equal(s.hiddenKinds.has(4), false);
    const both = policyOf({ rules: { '4': { privileged: true, read_allow: [ALICE] } } });
    const listed = readScope(both, as(ALICE), NONE);
    assert.equal(listed.involvedKinds.has(4) || listed.hiddenKinds.has(4), false);
    const other = readScope(both, as(BOB), NONE);
    assert.ok(other.involvedKinds.has(4));
    assert.equal(other.hiddenKinds.has(4), false);
  });

  it('follows read where write_allow_follows (enabled), read_follows_whitelist or follows_whitelist_admins say so', () => {
    const follows = as(CAROL);
    const legacy = policyOf({
      policy_admins: [ADMIN],
      policy_follow_whitelist_enabled: true,
      rules: { '1': { read_allow: [ALICE], write_allow_follows: true } },
    });
    assert.equal(readScope(legacy, as(CAROL), follows).hiddenKinds.has(1), false);
    assert.ok(readScope(legacy, as(BOB), follows).hiddenKinds.has(1));
    assert.deepEqual(followsAdmins(legacy), [ADMIN]);

    const disabled = policyOf({
      policy_admins: [ADMIN],
      rules: { '1': { read_allow: [ALICE], write_allow_follows: true } },
    });
    assert.ok(readScope(disabled, as(CAROL), follows).hiddenKinds.has(1));
    assert.deepEqual(followsAdmins(disabled), []);

    const readList = policyOf({ rules: { '1': { read_follows_whitelist: [BOB] } } });
    assert.equal(readScope(readList, as(BOB), follows).hiddenKinds.has(1), false);
    assert.equal(readScope(readList, as(CAROL), follows).hiddenKinds.has(1), false);
    assert.ok(readScope(readList, as(ALICE), follows).hiddenKinds.has(1));
    assert.deepEqual(followsAdmins(readList), [BOB]);

    const writeOnly = policyOf({ policy_admins: [ADMIN], rules: { '1': { write_follows_whitelist: true } } });
    assert.equal(readScope(writeOnly, as(ALICE), follows).hiddenKinds.has(1), false);

    const both = policyOf({ rules: { '1': { follows_whitelist_admins: [ADMIN] } } });
    assert.equal(readScope(both, as(CAROL), follows).hiddenKinds.has(1), false);
    assert.ok(readScope(both, as(ALICE), follows).hiddenKinds.has(1));
    assert.deepEqual(followsAdmins(both), [ADMIN]);
  });

  it('write-only fields, the kind filter and default_policy leave reads alone', () => {
    const p = policyOf({
      default_policy: 'deny',
      kind: { whitelist: [1], blacklist: [7] },
      rules: { '1': { write_allow: [ALICE], size_limit: 10, identifier_regex: '^a$' } },
    });
    const scope = readScope(p, as(BOB), NONE);
    assert.deepEqual([...scope.hiddenKinds], [POLICY_UPDATE_KIND]);
    assert.equal(scope.involvedKinds.size, 0);
    assert.deepEqual(followsAdmins(p), []);
  });
});

describe('policy read scope: the global rule', () => {
  it('a global read_allow refuses everyone else: auth-required when unauthenticated, restricted otherwise', () => {
    const p = policyOf({ global: { read_allow: [ALICE] } });
    assert.equal(readScope(p, as(ALICE), NONE).refused, undefined);
    assert.equal(
      readScope(p, NONE, NONE).refused,
      'auth-required: policy: this relay serves events only to allowed readers: authenticate first',
    );
    assert.equal(
      readScope(p, as(BOB), NONE).refused,
      'restricted: policy: you are not allowed to read from this relay',
    );
  });

  it('a global read_deny refuses the denied reader', () => {
    const p = policyOf({ global: { read_deny: [BOB] } });
    assert.match(readScope(p, as(BOB), NONE).refused ?? '', /^restricted: /);
    assert.equal(readScope(p, as(ALICE), NONE).refused, undefined);
  });

  it('a global privileged rule makes every kind need involvement, combined with the kind rules', () => {
    const p = policyOf({
      global: { privileged: true },
      rules: { '1': { read_deny: [ALICE] }, '4': { privileged: true } },
    });
    const scope = readScope(p, as(ALICE), NONE);
    assert.equal(scope.allInvolved, true);
    assert.equal(scope.refused, undefined);
    assert.ok(scope.hiddenKinds.has(1));
    assert.ok(scope.involvedKinds.has(4));
  });
});
