/**
 * The regular expressions of ORLY's policy file (src/acl/policy/orly/policy-regex.ts): the
 * patterns that could stall V8's backtracking engine are refused with a message saying why,
 * ordinary ones compile, matching is Go's unanchored search, values over 1,024 characters are
 * never matched, and the worst inputs for the accepted patterns finish in milliseconds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compilePolicyRegex,
  MAX_MATCH_LENGTH,
  MAX_PATTERN_LENGTH,
  matchPolicyRegex,
} from '../../../src/acl/policy/orly/policy-regex.js';

function problemOf(pattern: string): string {
  const check = compilePolicyRegex(pattern);
  return check.ok ? '' : check.problem;
}

function compiled(pattern: string): RegExp {
  const check = compilePolicyRegex(pattern);
  assert.ok(check.ok, `${pattern}: ${check.ok ? '' : check.problem}`);
  return check.regex;
}

describe('policy regex: refused patterns', () => {
  it('refuses nested quantifiers (safe-regex2)', () => {
    assert.equal(problemOf('(a+)+$'), 'unsafe regular expression (nested quantifier)');
    assert.equal(problemOf('(.*a){20}'), 'unsafe regular expression (nested quantifier)');
    assert.equal(problemOf('^(?:[0-9a-f]{2})+$'), 'unsafe regular expression (nested quantifier)');
  });

  it('refuses more than 25 quantifiers', () => {
    assert.equal(problemOf('a?'.repeat(26)), 'unsafe regular expression (more than 25 quantifiers)');
  });

  it('refuses alternatives under a repetition that may start alike', () => {
    for (const p of ['(a|a)*b', '(a|ab)*c', '((a|a)b)*c', '(\\d|x)+', '(a|)*', '(?i)^(Foo|foo)+$']) {
      assert.match(problemOf(p), /alternatives inside a repeated group/, p);
    }
  });

  it('refuses backreferences and lookaround (RE2 has neither)', () => {
    for (const p of ['\\1', '(a)\\1', '(?<n>a)\\k<n>']) {
      assert.equal(
        problemOf(p),
        'unsupported regular expression: backreferences (\\1, \\k<name>) are not allowed',
      );
    }
    for (const p of ['(?=a)b', '(?!a)b', '(?<=a)b', '(?<!a)b']) {
      assert.equal(problemOf(p), 'unsupported regular expression: lookahead and lookbehind are not allowed');
    }
  });

  it('refuses polynomial backtracking', () => {
    for (const p of ['.*.*.*x', '\\d*\\d*x', '[a-z]{1,64}[a-z]{1,64}x', 'a?'.repeat(12) + 'a'.repeat(12)]) {
      assert.match(problemOf(p), /too much backtracking/, p);
    }
  });

  it('refuses invalid syntax with the JavaScript error, and Go-only escapes loudly', () => {
    assert.match(problemOf('(abc'), /^invalid regular expression: .*Unterminated group/);
    assert.match(problemOf('\\z'), /^invalid regular expression: .*Invalid escape/);
    assert.match(problemOf('[[:alpha:]]'), /^invalid regular expression/);
  });

  it('refuses patterns over 1,024 characters', () => {
    assert.equal(MAX_PATTERN_LENGTH, 1024);
    assert.equal(problemOf('a'.repeat(1025)), 'regular expression is longer than 1024 characters');
    assert.ok(compilePolicyRegex('a'.repeat(1024)).ok);
  });
});

describe('policy regex: accepted patterns and matching', () => {
  it('accepts ordinary patterns', () => {
    for (const p of [
      '^[a-z0-9-]{1,64}$',
      '^[0-9a-f]{64}$',
      '^\\d{4}-\\d{2}-\\d{2}$',
      '^https?://[^/]+/.*$',
      'foo.*bar',
      '(foo|bar)+',
      '^(a|b|c)*$',
      '\\p{L}+',
      '^\\u{1F600}+$',
    ]) {
      compiled(p);
    }
  });

  it('matches unanchored, like Go MatchString, with the u flag', () => {
    const re = compiled('[a-z]+');
    assert.equal(matchPolicyRegex(re, 'ABC def'), 'match');
    assert.equal(matchPolicyRegex(re, 'ABC 123'), 'no-match');
    assert.equal(matchPolicyRegex(compiled('^.$'), '😀'), 'match');
  });

  it('turns a leading Go flag group into JavaScript flags', () => {
    const re = compiled('(?i)^abc$');
    assert.equal(re.flags, 'iu');
    assert.equal(matchPolicyRegex(re, 'ABC'), 'match');
    assert.equal(compiled('(?is)^a.b$').flags, 'isu');
  });

  it('never matches values over 1,024 characters', () => {
    const re = compiled('a');
    assert.equal(matchPolicyRegex(re, 'a'.repeat(MAX_MATCH_LENGTH)), 'match');
    assert.equal(matchPolicyRegex(re, 'a'.repeat(MAX_MATCH_LENGTH + 1)), 'too-long');
  });

  it('runs the worst inputs of accepted patterns fast', () => {
    const cases: [string, string][] = [
      ['^\\d*\\d*x', '1'.repeat(1024)],
      ['^[a-z0-9-]{1,64}$', 'a'.repeat(1024)],
      ['foo.*bar', 'foo'.repeat(341)],
      ['\\d+$', `${'1'.repeat(1023)}x`],
      ['^https?://[^/]+/.*$', `http://${'a'.repeat(1016)}!`],
      ['(foo|bar)+x', 'foobar'.repeat(170)],
    ];
    const start = performance.now();
    for (const [pattern, input] of cases) {
      assert.ok(input.length <= MAX_MATCH_LENGTH);
      assert.equal(matchPolicyRegex(compiled(pattern), input), 'no-match', pattern);
    }
    assert.ok(performance.now() - start < 200, `took ${performance.now() - start} ms`);
  });
});
