/**
 * The policy's per-rule rate limiter: a bucket holds one second of bytes and refills with time;
 * at most MAX_BUCKETS (rule, author) buckets are kept, the least recently used evicted first, so
 * authors cycling through keys cannot grow it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_BUCKETS, PolicyRateLimiter } from '../../../src/acl/policy/orly/policy-rate-limit.js';

test('a bucket holds one second of bytes and refills with time', () => {
  const limiter = new PolicyRateLimiter();
  assert.equal(limiter.take('kind:1', 'a', 1000, 800, 0), true);
  assert.equal(limiter.take('kind:1', 'a', 1000, 800, 0), false, 'only 200 bytes left');
  assert.equal(limiter.take('kind:1', 'a', 1000, 800, 600), true, '600 ms later: 800 bytes');
  assert.equal(
    limiter.take('kind:1', 'a', 1000, 1001, 10_000),
    false,
    'more than a second of bytes never passes',
  );
  assert.equal(limiter.take('kind:1', 'b', 1000, 800, 600), true, 'each author has a bucket');
});

test(`at most ${MAX_BUCKETS} buckets: the least recently used goes first`, () => {
  const limiter = new PolicyRateLimiter();
  assert.equal(limiter.take('global', 'first', 100, 100, 0), true);
  assert.equal(limiter.take('global', 'first', 100, 100, 0), false, 'drained');
  for (let i = 0; i < MAX_BUCKETS; i++) limiter.take('global', `author-${i}`, 100, 1, 0);
  // "first" was evicted: it starts again with a full bucket, though no time has passed.
  assert.equal(limiter.take('global', 'first', 100, 100, 0), true);
  // The most recently used ones are still there (drained by their take of 1 byte: 99 left).
  assert.equal(limiter.take('global', `author-${MAX_BUCKETS - 1}`, 100, 100, 0), false);
});
