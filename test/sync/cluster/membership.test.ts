/**
 * Unit tests for src/sync/cluster/membership.ts with events signed by nostr-tools:
 * parseMembershipEvent (the valid case, the author check ORLY lacks, the d tag, relay tags with
 * two URLs or one from which the other is derived, URL checks, the bounds, duplicates by HTTP URL,
 * the version tag, the content being ignored) and newestMembership (newest wins, equal created_at:
 * lowest id, invalid and foreign events skipped).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NostrEvent } from '../../../src/protocol/event.js';
import {
  type ClusterMember,
  MAX_CLUSTER_MEMBERS,
  MEMBERSHIP_KIND,
  newestMembership,
  parseMembershipEvent,
} from '../../../src/sync/cluster/membership.js';
import { type Keys, newKeys, nowSec, sign } from '../../helpers/nostr.js';

const ADMIN = newKeys();
const STRANGER = newKeys();
const ADMINS: ReadonlySet<string> = new Set([ADMIN.pk]);

const A = ['relay', 'http://a.example:3334', 'ws://a.example:3334'];
const B = ['relay', 'https://b.example', 'wss://b.example'];

function membershipEvent(
  relayTags: string[][],
  over: { keys?: Keys; created_at?: number; d?: string[] | null; extra?: string[][]; content?: string } = {},
): NostrEvent {
  const d = over.d === undefined ? ['d', 'membership'] : over.d;
  return sign(over.keys ?? ADMIN, {
    kind: MEMBERSHIP_KIND,
    created_at: over.created_at ?? nowSec(),
    tags: [...(d === null ? [] : [d]), ...relayTags, ['version', '1'], ...(over.extra ?? [])],
    content: over.content ?? JSON.stringify({ name: 'cluster', description: 'three nodes' }),
  });
}

function membersOf(event: NostrEvent): ClusterMember[] {
  const r = parseMembershipEvent(event, ADMINS);
  assert.ok(r.ok, r.ok ? '' : r.error);
  assert.equal(r.version, '1');
  return r.members;
}

function errorOf(event: NostrEvent, admins: ReadonlySet<string> = ADMINS): string {
  const r = parseMembershipEvent(event, admins);
  assert.ok(!r.ok, 'should be refused');
  return r.error;
}

describe('parseMembershipEvent', () => {
  it('returns one member per relay tag, normalized', () => {
    assert.deepEqual(
      membersOf(membershipEvent([A, ['relay', 'HTTPS://B.example:443/', 'WSS://b.example/']])),
      [
        { httpUrl: 'http://a.example:3334', wsUrl: 'ws://a.example:3334' },
        { httpUrl: 'https://b.example', wsUrl: 'wss://b.example' },
      ],
    );
  });

  it('keeps different hosts for the two URLs of a member and ignores values after the second', () => {
    assert.deepEqual(
      membersOf(membershipEvent([['relay', 'https://api.example/x', 'wss://ws.example/y', 'z']])),
      [{ httpUrl: 'https://api.example/x', wsUrl: 'wss://ws.example/y' }],
    );
  });

  it('derives the missing URL of a one-value relay tag', () => {
    assert.deepEqual(
      membersOf(
        membershipEvent([
          ['relay', 'https://a.example/'],
          ['relay', 'http://b.example:8080/path'],
          ['relay', 'wss://c.example'],
          ['relay', 'WS://D.example:80/'],
        ]),
      ),
      [
        { httpUrl: 'https://a.example', wsUrl: 'wss://a.example' },
        { httpUrl: 'http://b.example:8080/path', wsUrl: 'ws://b.example:8080/path' },
        { httpUrl: 'https://c.example', wsUrl: 'wss://c.example' },
        { httpUrl: 'http://d.example', wsUrl: 'ws://d.example' },
      ],
    );
  });

  it('refuses a non-admin, naming the author (ORLY accepted anyone)', () => {
    const error = errorOf(membershipEvent([A], { keys: STRANGER }));
    assert.match(error, /^restricted: /);
    assert.ok(error.includes(STRANGER.pk), error);
    assert.match(error, /ORLY_CLUSTER_ADMINS/);
    assert.match(errorOf(membershipEvent([A]), new Set()), /^restricted: .*no cluster admins/);
  });

  it('refuses other kinds', () => {
    const event = sign(ADMIN, { kind: 39105, tags: [['d', 'membership'], A] });
    assert.match(errorOf(event), /^invalid: .*kind 39105/);
  });

  it('requires the d tag "membership" (the first d tag, as NIP-01 addresses the event)', () => {
    assert.match(errorOf(membershipEvent([A], { d: null })), /d tag must be "membership", not ""/);
    assert.match(errorOf(membershipEvent([A], { d: ['d', 'Membership'] })), /not "Membership"/);
    assert.match(errorOf(membershipEvent([A], { d: ['d'] })), /not ""/);
    assert.match(
      errorOf(membershipEvent([A], { d: ['d', 'other'], extra: [['d', 'membership']] })),
      /"other"/,
    );
    assert.equal(membersOf(membershipEvent([A], { extra: [['d', 'other']] })).length, 1);
  });

  it('requires 1 to 100 relay tags', () => {
    assert.match(errorOf(membershipEvent([])), /^invalid: .*no relay tags/);
    const hundred = Array.from({ length: MAX_CLUSTER_MEMBERS }, (_, i) => ['relay', `https://n${i}.example`]);
    assert.equal(membersOf(membershipEvent(hundred)).length, 100);
    assert.match(errorOf(membershipEvent([...hundred, ['relay', 'https://n0.example']])), /101 relay tags/);
  });

  it('refuses bad URLs, naming the tag', () => {
    const cases: [string[], RegExp][] = [
      [['relay'], /relay tag 2: has no URL/],
      [['relay', ''], /relay tag 2: the URL is empty/],
      [['relay', 'ftp://x.example'], /relay tag 2: the URL has scheme "ftp"/],
      [
        ['relay', 'wss://x.example', 'https://x.example'],
        /the HTTP URL has scheme "wss", expected http, https/,
      ],
      [
        ['relay', 'https://x.example', 'https://x.example'],
        /the WebSocket URL has scheme "https", expected ws, wss/,
      ],
      [['relay', 'https://x.example', ''], /the WebSocket URL is empty/],
      [['relay', 'https://u:p@x.example', 'wss://x.example'], /the HTTP URL has userinfo/],
      [['relay', 'https://x.example', 'wss://x.example/#f'], /the WebSocket URL has a fragment/],
      [['relay', 'x.example'], /not an absolute URL/],
    ];
    for (const [tag, expected] of cases) {
      assert.match(errorOf(membershipEvent([A, tag])), expected, JSON.stringify(tag));
    }
  });

  it('drops members whose HTTP URL is already listed, keeping the first', () => {
    assert.deepEqual(
      membersOf(
        membershipEvent([
          ['relay', 'https://a.example/', 'wss://first.example'],
          B,
          ['relay', 'HTTPS://A.example:443', 'wss://second.example'],
          ['relay', 'wss://a.example'],
        ]),
      ),
      [
        { httpUrl: 'https://a.example', wsUrl: 'wss://first.example' },
        { httpUrl: 'https://b.example', wsUrl: 'wss://b.example' },
      ],
    );
  });

  it('treats the version tag as optional and accepts only "1"', () => {
    const noVersion = sign(ADMIN, { kind: MEMBERSHIP_KIND, tags: [['d', 'membership'], A] });
    const r = parseMembershipEvent(noVersion, ADMINS);
    assert.ok(r.ok);
    assert.equal(r.version, '1');
    assert.match(
      errorOf(membershipEvent([A], { extra: [['version', '2']] })),
      /version "2" is not supported/,
    );
    assert.match(
      errorOf(membershipEvent([A], { extra: [['version']] })),
      /a version tag without a value is not supported/,
    );
  });

  it('does not read the content', () => {
    assert.equal(membersOf(membershipEvent([A], { content: '' })).length, 1);
    assert.equal(membersOf(membershipEvent([A], { content: 'not json' })).length, 1);
  });
});

describe('newestMembership', () => {
  const t = nowSec() - 1000;

  it('is undefined without a valid admin event', () => {
    assert.equal(newestMembership([], ADMINS), undefined);
    assert.equal(newestMembership([membershipEvent([A], { keys: STRANGER })], ADMINS), undefined);
    assert.equal(newestMembership([membershipEvent([])], ADMINS), undefined);
  });

  it('picks the newest valid admin event', () => {
    const old = membershipEvent([A, B], { created_at: t });
    const newer = membershipEvent([B], { created_at: t + 10 });
    assert.deepEqual(newestMembership([old, newer], ADMINS), {
      members: [{ httpUrl: 'https://b.example', wsUrl: 'wss://b.example' }],
      eventId: newer.id,
      createdAt: t + 10,
    });
    assert.equal(newestMembership([newer, old], ADMINS)?.eventId, newer.id);
  });

  it('breaks a created_at tie by the lowest id', () => {
    const events = Array.from({ length: 6 }, (_, i) =>
      membershipEvent([['relay', `https://n${i}.example`]], { created_at: t }),
    );
    const lowest = [...events].sort((a, b) => (a.id < b.id ? -1 : 1))[0]!;
    assert.equal(newestMembership(events, ADMINS)?.eventId, lowest.id);
    assert.equal(newestMembership([...events].reverse(), ADMINS)?.eventId, lowest.id);
  });

  it('skips newer invalid, foreign and mis-addressed events', () => {
    const valid = membershipEvent([A], { created_at: t });
    const stranger = membershipEvent([['relay', 'https://evil.example']], {
      created_at: t + 10,
      keys: STRANGER,
    });
    const badUrl = membershipEvent([['relay', 'https://u@x.example']], { created_at: t + 20 });
    const otherD = membershipEvent([B], { created_at: t + 30, d: ['d', 'other'] });
    const badVersion = membershipEvent([B], { created_at: t + 40, extra: [['version', '2']] });
    for (const order of [
      [valid, stranger, badUrl, otherD, badVersion],
      [badVersion, otherD, badUrl, stranger, valid],
    ]) {
      assert.equal(newestMembership(order, ADMINS)?.eventId, valid.id);
    }
  });
});
