/**
 * Unit tests for src/protocol/filter.ts: every validation rule of parseFilter (hex-only
 * ids/authors/#e/#p/#E/#P, unknown and multi-letter keys, search), matchesNothing,
 * matchFilter semantics (inclusive since/until, tag[1]-only matching, AND across letters,
 * OR within a letter), compareNewestFirst, filterToJSON, and a fuzz test.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NostrEvent } from '../../src/protocol/event.js';
import {
  compareNewestFirst,
  type FilterParse,
  filterToJSON,
  matchAny,
  matchesNothing,
  matchFilter,
  type NormalizedFilter,
  parseFilter,
} from '../../src/protocol/filter.js';
import { seededRandom } from '../helpers/events.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);

function ok(value: unknown): NormalizedFilter {
  const parsed = parseFilter(value);
  if (!parsed.ok) assert.fail(`expected ${JSON.stringify(value)} to parse, got ${parsed.reason}`);
  return parsed.filter;
}

function fails(value: unknown, prefix: 'invalid' | 'unsupported'): string {
  const parsed: FilterParse = parseFilter(value);
  assert.equal(parsed.ok, false, `expected ${JSON.stringify(value)} to fail`);
  const reason = (parsed as { reason: string }).reason;
  assert.ok(reason.startsWith(`${prefix}: `), `${JSON.stringify(value)} -> ${reason}`);
  return reason;
}

function event(overrides: Partial<NostrEvent> = {}): NostrEvent {
  return {
    id: A,
    pubkey: B,
    created_at: 1000,
    kind: 1,
    tags: [],
    content: '',
    sig: 'f'.repeat(128),
    ...overrides,
  };
}

// ---------------------------------------------------------------------------------------------
// parseFilter

test('parseFilter: accepts a full filter and normalizes it', () => {
  const f = ok({
    ids: [A, A, B],
    authors: [C],
    kinds: [1, 1, 7],
    since: 10,
    until: 20,
    limit: 5,
    '#e': [A],
    '#t': ['nostr', 'Nostr'],
  });
  assert.deepEqual(f.ids, [A, B], 'deduplicated');
  assert.deepEqual(f.authors, [C]);
  assert.deepEqual(f.kinds, [1, 7]);
  assert.equal(f.since, 10);
  assert.equal(f.until, 20);
  assert.equal(f.limit, 5);
  assert.deepEqual(f.tags?.get('e'), [A]);
  assert.deepEqual(f.tags?.get('t'), ['nostr', 'Nostr'], 'tag values are case-sensitive');
  assert.deepEqual(ok({}), {});
});

test('parseFilter: a filter must be a JSON object', () => {
  for (const value of [null, undefined, 1, 'x', true, [], [{}]]) fails(value, 'invalid');
});

test('parseFilter: ids and authors must be arrays of 64-char lowercase hex', () => {
  for (const key of ['ids', 'authors']) {
    fails({ [key]: A }, 'invalid');
    fails({ [key]: [A.toUpperCase()] }, 'invalid');
    fails({ [key]: ['abcd'] }, 'invalid'); // prefixes are not supported
    fails({ [key]: [A + 'a'] }, 'invalid');
    fails({ [key]: ['z'.repeat(64)] }, 'invalid');
    fails({ [key]: [1] }, 'invalid');
    fails({ [key]: [A, null] }, 'invalid');
    assert.deepEqual(ok({ [key]: [A] })[key as 'ids'], [A]);
  }
});

test('parseFilter: #e #p #E #P values must be 64-char lowercase hex, other letters any string', () => {
  for (const key of ['#e', '#p', '#E', '#P']) {
    fails({ [key]: ['abcd'] }, 'invalid');
    fails({ [key]: [A.toUpperCase()] }, 'invalid');
    fails({ [key]: ['npub1xyz'] }, 'invalid');
    assert.deepEqual(ok({ [key]: [A] }).tags?.get(key[1]!), [A]);
  }
  assert.deepEqual(ok({ '#t': ['abcd', ''] }).tags?.get('t'), ['abcd', '']);
  assert.deepEqual(ok({ '#d': ['x'] }).tags?.get('d'), ['x']);
  assert.deepEqual(ok({ '#a': [`30023:${A}:slug`] }).tags?.get('a'), [`30023:${A}:slug`]);
  assert.deepEqual(ok({ '#T': ['X'] }).tags?.get('T'), ['X'], 'uppercase letters are distinct tags');
});

test('parseFilter: tag filters must be arrays of strings', () => {
  fails({ '#t': 'nostr' }, 'invalid');
  fails({ '#t': [1] }, 'invalid');
  fails({ '#t': [null] }, 'invalid');
  fails({ '#t': [['x']] }, 'invalid');
});

test('parseFilter: kinds must be integers between 0 and 65535', () => {
  fails({ kinds: 1 }, 'invalid');
  fails({ kinds: [-1] }, 'invalid');
  fails({ kinds: [65536] }, 'invalid');
  fails({ kinds: [70000] }, 'invalid');
  fails({ kinds: [1.5] }, 'invalid');
  fails({ kinds: ['1'] }, 'invalid');
  assert.deepEqual(ok({ kinds: [0, 65535] }).kinds, [0, 65535]);
});

test('parseFilter: since, until and limit must be non-negative integers', () => {
  for (const key of ['since', 'until', 'limit']) {
    fails({ [key]: -1 }, 'invalid');
    fails({ [key]: 1.5 }, 'invalid');
    fails({ [key]: '10' }, 'invalid');
    fails({ [key]: null }, 'invalid');
    fails({ [key]: 2 ** 60 }, 'invalid');
    assert.equal(ok({ [key]: 0 })[key as 'since'], 0);
  }
});

test('parseFilter: multi-letter tag keys, unknown keys and search are unsupported', () => {
  fails({ '#tt': ['x'] }, 'unsupported');
  fails({ '#': ['x'] }, 'unsupported');
  fails({ '#1': ['x'] }, 'unsupported');
  fails({ '#é': ['x'] }, 'unsupported');
  fails({ foo: 1 }, 'unsupported');
  fails({ id: A }, 'unsupported');
  fails({ t: ['x'] }, 'unsupported');
  const search = fails({ search: 'nostr' }, 'unsupported');
  assert.match(search, /search/);
  fails({ kinds: [1], search: '' }, 'unsupported');
});

// ---------------------------------------------------------------------------------------------
// matchesNothing

test('matchesNothing: empty arrays match nothing, as does since > until', () => {
  assert.equal(matchesNothing(ok({})), false);
  assert.equal(matchesNothing(ok({ ids: [] })), true);
  assert.equal(matchesNothing(ok({ authors: [] })), true);
  assert.equal(matchesNothing(ok({ kinds: [] })), true);
  assert.equal(matchesNothing(ok({ '#t': [] })), true);
  assert.equal(matchesNothing(ok({ '#e': [], kinds: [1] })), true);
  assert.equal(matchesNothing(ok({ since: 11, until: 10 })), true);
  assert.equal(matchesNothing(ok({ since: 10, until: 10 })), false);
  assert.equal(matchesNothing(ok({ limit: 0 })), false, 'limit 0 is not a condition');
  assert.equal(matchesNothing(ok({ ids: [A], kinds: [1], '#t': ['x'] })), false);
});

// ---------------------------------------------------------------------------------------------
// matchFilter

test('matchFilter: the empty filter matches everything', () => {
  assert.ok(matchFilter(ok({}), event()));
  assert.ok(matchFilter(ok({ limit: 0 }), event()), 'limit is not a condition');
});

test('matchFilter: ids, authors and kinds', () => {
  assert.ok(matchFilter(ok({ ids: [C, A] }), event()));
  assert.ok(!matchFilter(ok({ ids: [C] }), event()));
  assert.ok(matchFilter(ok({ authors: [B] }), event()));
  assert.ok(!matchFilter(ok({ authors: [A] }), event()));
  assert.ok(matchFilter(ok({ kinds: [0, 1] }), event()));
  assert.ok(!matchFilter(ok({ kinds: [0] }), event()));
  assert.ok(!matchFilter(ok({ ids: [A], kinds: [7] }), event()), 'every condition must hold');
});

test('matchFilter: since and until are inclusive', () => {
  const ev = event({ created_at: 1000 });
  assert.ok(matchFilter(ok({ since: 1000 }), ev));
  assert.ok(matchFilter(ok({ until: 1000 }), ev));
  assert.ok(matchFilter(ok({ since: 1000, until: 1000 }), ev));
  assert.ok(!matchFilter(ok({ since: 1001 }), ev));
  assert.ok(!matchFilter(ok({ until: 999 }), ev));
  assert.ok(matchFilter(ok({ since: 0 }), event({ created_at: 0 })));
});

test('matchFilter: tag filters match tag[1] only', () => {
  const ev = event({ tags: [['t', 'a', 'b']] });
  assert.ok(matchFilter(ok({ '#t': ['a'] }), ev));
  assert.ok(!matchFilter(ok({ '#t': ['b'] }), ev), 'the third element is not indexed');
  assert.ok(!matchFilter(ok({ '#t': ['t'] }), ev), 'nor is the tag name');
  assert.ok(!matchFilter(ok({ '#x': ['a'] }), ev));
  // A one-element tag has no value and matches no tag filter.
  assert.ok(!matchFilter(ok({ '#t': [''] }), event({ tags: [['t']] })));
  assert.ok(matchFilter(ok({ '#t': [''] }), event({ tags: [['t', '']] })));
  // Case-sensitive letters and values.
  assert.ok(!matchFilter(ok({ '#T': ['a'] }), ev));
  assert.ok(!matchFilter(ok({ '#t': ['A'] }), ev));
});

test('matchFilter: any tag with the letter can match; values OR, letters AND', () => {
  const ev = event({
    tags: [
      ['t', 'x'],
      ['t', 'y'],
      ['e', A],
      ['p', C],
    ],
  });
  assert.ok(matchFilter(ok({ '#t': ['y'] }), ev), 'not only the first t tag');
  assert.ok(matchFilter(ok({ '#t': ['nope', 'x'] }), ev), 'values OR');
  assert.ok(matchFilter(ok({ '#t': ['x'], '#e': [A] }), ev), 'letters AND, both present');
  assert.ok(!matchFilter(ok({ '#t': ['x'], '#e': [B] }), ev), 'letters AND, one missing');
  assert.ok(matchFilter(ok({ '#t': ['x'], '#e': [A], '#p': [C, B] }), ev));
  assert.ok(!matchFilter(ok({ '#t': ['x'], '#e': [A], '#d': ['x'] }), ev));
});

test('matchAny: OR across filters', () => {
  const ev = event();
  assert.ok(matchAny([ok({ kinds: [7] }), ok({ authors: [B] })], ev));
  assert.ok(!matchAny([ok({ kinds: [7] }), ok({ authors: [A] })], ev));
  assert.ok(!matchAny([], ev));
});

// ---------------------------------------------------------------------------------------------
// Ordering and wire form

test('compareNewestFirst: created_at descending, then id ascending', () => {
  const events = [
    { created_at: 1, id: B },
    { created_at: 3, id: C },
    { created_at: 3, id: A },
    { created_at: 2, id: A },
    { created_at: 1, id: A },
  ];
  const sorted = [...events].sort(compareNewestFirst);
  assert.deepEqual(sorted, [
    { created_at: 3, id: A },
    { created_at: 3, id: C },
    { created_at: 2, id: A },
    { created_at: 1, id: A },
    { created_at: 1, id: B },
  ]);
  assert.equal(compareNewestFirst({ created_at: 1, id: A }, { created_at: 1, id: A }), 0);
});

test('filterToJSON round-trips through parseFilter', () => {
  const wire = {
    ids: [A],
    authors: [B],
    kinds: [1, 2],
    '#t': ['x'],
    '#e': [C],
    since: 1,
    until: 9,
    limit: 3,
  };
  const json = filterToJSON(ok(wire));
  assert.deepEqual(json, wire);
  assert.deepEqual(ok(json), ok(wire));
  assert.deepEqual(filterToJSON(ok({})), {});
});

// ---------------------------------------------------------------------------------------------
// Fuzz

test('fuzz: parseFilter never throws, and accepted filters can be matched and serialized', () => {
  const rand = seededRandom(7);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(rand() * values.length)]!;
  const keys = [
    'ids',
    'authors',
    'kinds',
    'since',
    'until',
    'limit',
    'search',
    '#e',
    '#p',
    '#t',
    '#d',
    '#E',
    '#tt',
    '#',
    'foo',
    '__proto__',
    'constructor',
    'toString',
  ];
  const scalar = (): unknown =>
    pick([
      null,
      true,
      0,
      1,
      -1,
      1.5,
      65535,
      65536,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      2 ** 53,
      '',
      'x',
      A,
      A.toUpperCase(),
      '\ud800',
      '\u0000',
    ]);
  const value = (depth: number): unknown => {
    const r = rand();
    if (depth > 2 || r < 0.4) return scalar();
    if (r < 0.8) return Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1));
    const obj: Record<string, unknown> = {};
    for (let i = Math.floor(rand() * 4); i > 0; i--) obj[pick(keys)] = value(depth + 1);
    return obj;
  };
  for (let i = 0; i < 5000; i++) {
    const filter: Record<string, unknown> = {};
    for (let n = Math.floor(rand() * 4); n > 0; n--) filter[pick(keys)] = value(1);
    for (const input of [filter, value(0), JSON.parse(JSON.stringify(filter) ?? 'null')]) {
      const parsed = parseFilter(input);
      if (parsed.ok) {
        matchesNothing(parsed.filter);
        matchFilter(parsed.filter, event({ tags: [['t', 'x'], ['e', A], ['p']] }));
        filterToJSON(parsed.filter);
      } else {
        assert.match(parsed.reason, /^(invalid|unsupported): /);
      }
    }
  }
});
