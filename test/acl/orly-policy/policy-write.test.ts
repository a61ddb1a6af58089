/**
 * The write decision of ORLY's policy file (checkWrite, src/acl/policy/orly/policy-rules.ts) on
 * real signed events: every validation field passing and failing, the access lists checked
 * against the submitter (not the author), deny beating allow, exclusive allow lists, follows,
 * write_allow_if_tagged, and owners getting no bypass. The kind filter, the global rule, scripts
 * and rate limits are in policy-kinds.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BASE_TIME, newKey, signedEvent } from '../../helpers/events.js';
import { policyOf, reasonOf, writeOf } from './helpers.js';

const alice = newKey();
const bob = newKey();
const carol = newKey();
const admin = newKey();
const NONE = new Set<string>();

function only(...keys: { pubkey: string }[]): Set<string> {
  return new Set(keys.map((k) => k.pubkey));
}

describe('policy write: validation fields', () => {
  it('size_limit: bytes of the serialized event', () => {
    const p = policyOf({ rules: { '1': { size_limit: 400 } } });
    assert.equal(writeOf(p, signedEvent(alice, { content: 'short' })).allow, true);
    const big = signedEvent(alice, { content: 'x'.repeat(300) });
    assert.match(
      reasonOf(writeOf(p, big)),
      /^invalid: policy: event is \d+ bytes, more than 400 for kind 1$/,
    );
  });

  it('content_limit: UTF-8 bytes of the content', () => {
    const p = policyOf({ rules: { '1': { content_limit: 3 } } });
    assert.equal(writeOf(p, signedEvent(alice, { content: 'é' })).allow, true);
    assert.equal(writeOf(p, signedEvent(alice, { content: 'abc' })).allow, true);
    assert.equal(
      reasonOf(writeOf(p, signedEvent(alice, { content: 'éé' }))),
      'invalid: policy: content exceeds 3 bytes for kind 1',
    );
  });

  it('max_age_of_event and max_age_event_in_future (0 = no limit)', () => {
    const p = policyOf({ rules: { '1': { max_age_of_event: 3600, max_age_event_in_future: 60 } } });
    assert.equal(writeOf(p, signedEvent(alice, { created_at: BASE_TIME - 3600 })).allow, true);
    assert.equal(
      reasonOf(writeOf(p, signedEvent(alice, { created_at: BASE_TIME - 3601 }))),
      'invalid: policy: created_at is more than 3600 seconds in the past for kind 1',
    );
    assert.equal(writeOf(p, signedEvent(alice, { created_at: BASE_TIME + 60 })).allow, true);
    assert.equal(
      reasonOf(writeOf(p, signedEvent(alice, { created_at: BASE_TIME + 61 }))),
      'invalid: policy: created_at is more than 60 seconds in the future for kind 1',
    );
    const zero = policyOf({ rules: { '1': { max_age_of_event: 0, max_age_event_in_future: 0 } } });
    assert.equal(writeOf(zero, signedEvent(alice, { created_at: 1 })).allow, true);
    assert.equal(writeOf(zero, signedEvent(alice, { created_at: BASE_TIME + 9999 })).allow, true);
  });

  it('max_expiry_duration: an expiration tag at most that long after created_at', () => {
    const p = policyOf({ rules: { '1': { max_expiry_duration: 'PT1H' } } });
    const exp = (offset: number | string) =>
      signedEvent(alice, {
        tags: [['expiration', String(typeof offset === 'number' ? BASE_TIME + offset : offset)]],
      });
    assert.equal(writeOf(p, exp(3600)).allow, true);
    assert.equal(
      reasonOf(writeOf(p, exp(3601))),
      'invalid: policy: expiration is more than 3600 seconds (PT1H) after created_at for kind 1',
    );
    assert.equal(
      reasonOf(writeOf(p, signedEvent(alice))),
      'invalid: policy: an expiration tag is required for kind 1',
    );
    assert.equal(
      reasonOf(writeOf(p, exp('soon'))),
      'invalid: policy: the expiration tag is not a unix timestamp for kind 1',
    );
  });

  it('max_expiry (legacy seconds)', () => {
    const p = policyOf({ rules: { '1': { max_expiry: 100 } } });
    assert.equal(
      writeOf(p, signedEvent(alice, { tags: [['expiration', String(BASE_TIME + 100)]] })).allow,
      true,
    );
    assert.equal(
      reasonOf(writeOf(p, signedEvent(alice, { tags: [['expiration', String(BASE_TIME + 101)]] }))),
      'invalid: policy: expiration is more than 100 seconds after created_at for kind 1',
    );
  });

  it('must_have_tags', () => {
    const p = policyOf({ rules: { '1': { must_have_tags: ['t', 'subject'] } } });
    assert.equal(
      writeOf(
        p,
        signedEvent(alice, {
          tags: [
            ['t', 'x'],
            ['subject', 'y'],
          ],
        }),
      ).allow,
      true,
    );
    assert.equal(
      reasonOf(writeOf(p, signedEvent(alice, { tags: [['t', 'x']] }))),
      'invalid: policy: missing required tag "subject" for kind 1',
    );
  });

  it('allowed_tags: an exclusive whitelist of tag names ([] = any)', () => {
    const p = policyOf({ rules: { '1': { allowed_tags: ['t', 'p'] } } });
    assert.equal(
      writeOf(
        p,
        signedEvent(alice, {
          tags: [
            ['t', 'x'],
            ['p', bob.pubkey],
          ],
        }),
      ).allow,
      true,
    );
    assert.equal(
      reasonOf(
        writeOf(
          p,
          signedEvent(alice, {
            tags: [
              ['t', 'x'],
              ['e', 'y'],
            ],
          }),
        ),
      ),
      'invalid: policy: tag "e" is not allowed for kind 1',
    );
    const any = policyOf({ rules: { '1': { allowed_tags: [] } } });
    assert.equal(writeOf(any, signedEvent(alice, { tags: [['e', 'y']] })).allow, true);
  });

  it('protected_required: a NIP-70 ["-"] tag', () => {
    const p = policyOf({ rules: { '1': { protected_required: true } } });
    assert.equal(writeOf(p, signedEvent(alice, { tags: [['-']] })).allow, true);
    assert.equal(
      reasonOf(writeOf(p, signedEvent(alice))),
      'invalid: policy: the event must be protected (a NIP-70 ["-"] tag) for kind 1',
    );
  });

  it('identifier_regex: every d tag matches, and one is required', () => {
    const p = policyOf({ rules: { '30023': { identifier_regex: '^[a-z0-9-]{1,64}$' } } });
    const article = (tags: string[][]) => signedEvent(alice, { kind: 30023, tags });
    assert.equal(writeOf(p, article([['d', 'my-post']])).allow, true);
    assert.equal(
      reasonOf(writeOf(p, article([['d', 'My Post']]))),
      'invalid: policy: tag "d" value "My Post" does not match identifier_regex for kind 30023',
    );
    assert.equal(
      reasonOf(writeOf(p, article([]))),
      'invalid: policy: a d tag is required (identifier_regex) for kind 30023',
    );
    assert.equal(
      reasonOf(writeOf(p, article([['d', 'a'.repeat(1025)]]))),
      'invalid: policy: tag "d" value is longer than 1024 characters, too long to check against identifier_regex for kind 30023',
    );
  });

  it('tag_validation: every present tag of the name matches; absent tags pass', () => {
    const p = policyOf({ rules: { '1': { tag_validation: { t: '^[a-z]+$' } } } });
    assert.equal(
      writeOf(
        p,
        signedEvent(alice, {
          tags: [
            ['t', 'nostr'],
            ['t', 'relay'],
          ],
        }),
      ).allow,
      true,
    );
    assert.equal(writeOf(p, signedEvent(alice, { tags: [['e', 'whatever']] })).allow, true);
    assert.equal(
      reasonOf(
        writeOf(
          p,
          signedEvent(alice, {
            tags: [
              ['t', 'nostr'],
              ['t', 'Nostr!'],
            ],
          }),
        ),
      ),
      'invalid: policy: tag "t" value "Nostr!" does not match tag_validation for kind 1',
    );
    assert.match(
      reasonOf(writeOf(p, signedEvent(alice, { tags: [['t', 'a'.repeat(1025)]] }))),
      /^invalid: policy: tag "t" value is longer than 1024 characters, too long to check/,
    );
  });

  it('description changes nothing', () => {
    const p = policyOf({ rules: { '1': { description: 'anything goes' } } });
    assert.equal(writeOf(p, signedEvent(alice)).allow, true);
  });
});

describe('policy write: access', () => {
  it('write_allow is exclusive and checked against the submitter, not the author', () => {
    const p = policyOf({ rules: { '1': { write_allow: [bob.pubkey] } } });
    const byAlice = signedEvent(alice);
    assert.equal(writeOf(p, byAlice, { submitters: only(bob) }).allow, true);
    assert.equal(
      reasonOf(writeOf(p, byAlice, { submitters: only(alice) })),
      'blocked: policy: you are not allowed to publish kind 1 events (write_allow)',
    );
    assert.equal(
      reasonOf(writeOf(p, signedEvent(bob), { submitters: only(carol) })).startsWith('blocked:'),
      true,
    );
    assert.equal(
      reasonOf(writeOf(p, byAlice, { submitters: NONE })),
      'auth-required: policy: kind 1 events are only accepted from allowed pubkeys (write_allow): authenticate first',
    );
  });

  it('write_allow [] allows everyone', () => {
    const p = policyOf({ rules: { '1': { write_allow: [] } } });
    assert.equal(writeOf(p, signedEvent(alice), { submitters: NONE }).allow, true);
  });

  it('write_deny beats write_allow, for the submitter and the author', () => {
    const p = policyOf({
      rules: { '1': { write_allow: [alice.pubkey, bob.pubkey], write_deny: [alice.pubkey] } },
    });
    const denied = 'blocked: policy: this pubkey may not publish kind 1 events (write_deny)';
    assert.equal(reasonOf(writeOf(p, signedEvent(alice))), denied);
    assert.equal(reasonOf(writeOf(p, signedEvent(bob), { submitters: only(alice, bob) })), denied);
    assert.equal(reasonOf(writeOf(p, signedEvent(alice), { submitters: only(bob) })), denied);
    assert.equal(writeOf(p, signedEvent(bob)).allow, true);
    const denyOnly = policyOf({ rules: { '1': { write_deny: [alice.pubkey] } } });
    assert.equal(writeOf(denyOnly, signedEvent(bob), { submitters: NONE }).allow, true);
    assert.equal(reasonOf(writeOf(denyOnly, signedEvent(alice), { submitters: NONE })), denied);
  });

  it('write_allow_follows: the policy admins follows may write, only with policy_follow_whitelist_enabled', () => {
    const rules = { '1': { write_allow: [bob.pubkey], write_allow_follows: true } };
    const follows = only(carol);
    const on = policyOf({ policy_admins: [admin.pubkey], policy_follow_whitelist_enabled: true, rules });
    assert.equal(writeOf(on, signedEvent(carol), { follows }).allow, true);
    assert.equal(writeOf(on, signedEvent(alice), { follows }).allow, false);
    const off = policyOf({ policy_admins: [admin.pubkey], rules });
    assert.equal(writeOf(off, signedEvent(carol), { follows }).allow, false);
  });

  it('write_follows_whitelist: a whitelist of follows (true) or of pubkeys and their follows (list)', () => {
    const follows = only(carol);
    const p = policyOf({ policy_admins: [admin.pubkey], rules: { '1': { write_follows_whitelist: true } } });
    assert.equal(writeOf(p, signedEvent(carol), { follows }).allow, true);
    assert.equal(writeOf(p, signedEvent(alice), { follows }).allow, false);
    const listed = policyOf({ rules: { '1': { write_follows_whitelist: [bob.pubkey] } } });
    assert.equal(writeOf(listed, signedEvent(bob)).allow, true);
    assert.equal(writeOf(listed, signedEvent(carol), { follows }).allow, true);
    assert.equal(writeOf(listed, signedEvent(alice), { follows }).allow, false);
    const readSide = policyOf({
      policy_admins: [admin.pubkey],
      rules: { '1': { read_follows_whitelist: true } },
    });
    assert.equal(writeOf(readSide, signedEvent(alice)).allow, true);
  });

  it('follows_whitelist_admins (deprecated): those pubkeys and their follows may write', () => {
    const p = policyOf({ rules: { '1': { follows_whitelist_admins: [admin.pubkey] } } });
    assert.equal(writeOf(p, signedEvent(carol), { follows: only(carol) }).allow, true);
    assert.equal(writeOf(p, signedEvent(admin)).allow, true);
    assert.equal(writeOf(p, signedEvent(alice), { follows: only(carol) }).allow, false);
  });

  it('write_allow_if_tagged: anyone may write an event p-tagging or authored by an allowed pubkey', () => {
    const p = policyOf({ rules: { '4': { write_allow: [bob.pubkey], write_allow_if_tagged: true } } });
    const toBob = signedEvent(alice, { kind: 4, tags: [['p', bob.pubkey]] });
    assert.equal(writeOf(p, toBob, { submitters: NONE }).allow, true);
    assert.equal(writeOf(p, signedEvent(bob, { kind: 4 }), { submitters: NONE }).allow, true);
    const toCarol = signedEvent(alice, { kind: 4, tags: [['p', carol.pubkey]] });
    assert.match(reasonOf(writeOf(p, toCarol, { submitters: NONE })), /^auth-required: /);
    const without = policyOf({ rules: { '4': { write_allow: [bob.pubkey] } } });
    assert.equal(writeOf(without, toBob).allow, false);
  });

  it('owners and policy admins get no bypass', () => {
    const p = policyOf({
      owners: [alice.pubkey],
      policy_admins: [admin.pubkey],
      rules: { '1': { write_allow: [bob.pubkey], content_limit: 1 } },
    });
    assert.match(reasonOf(writeOf(p, signedEvent(alice))), /^blocked: /);
    assert.match(reasonOf(writeOf(p, signedEvent(admin))), /^blocked: /);
    assert.match(reasonOf(writeOf(p, signedEvent(bob, { content: 'long' }))), /^invalid: /);
  });
});
