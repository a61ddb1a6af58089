/**
 * The read-scope cache: one scope per set of authenticated pubkeys under one policy and follows
 * set, recomputed when either changes, and at most MAX_CACHED_SCOPES readers remembered (then it
 * starts over), so readers cycling through keys cannot grow it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePolicyDocument } from '../../../src/acl/policy/orly/policy-document.js';
import { compilePolicy } from '../../../src/acl/policy/orly/policy-rules.js';
import { MAX_CACHED_SCOPES, ReadScopeCache } from '../../../src/acl/policy/orly/read-scope-cache.js';

const hex = (n: number) => n.toString(16).padStart(64, '0');

test('remembered per reader; a new policy or follows set starts over; bounded', () => {
  const cache = new ReadScopeCache();
  const policy = compilePolicy(
    parsePolicyDocument(JSON.stringify({ rules: { '7': { read_allow: [hex(1)] } } })),
  );
  const follows = new Set<string>();
  const reader = new Set([hex(2)]);
  const first = cache.scope(policy, follows, reader);
  assert.ok(first.hiddenKinds.has(7));
  assert.equal(cache.scope(policy, follows, new Set([hex(2)])), first, 'the same reader: the same scope');
  assert.notEqual(cache.scope(policy, new Set<string>(), reader), first, 'another follows set: recomputed');
  const again = cache.scope(policy, follows, reader);
  for (let i = 0; i < MAX_CACHED_SCOPES; i++) cache.scope(policy, follows, new Set([hex(1000 + i)]));
  const after = cache.scope(policy, follows, reader);
  assert.notEqual(after, again, 'forgotten once the cache was full');
  assert.deepEqual(after, again);
});
