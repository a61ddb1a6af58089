/**
 * The LMDB query planner: which index each filter shape uses, what is left for the per-candidate
 * checks, and the tag "needle" shortcut (finding it in canonical JSON proves the tag exists).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { serializeEvent } from '../../../src/protocol/event.js';
import type { NormalizedFilter } from '../../../src/protocol/filter.js';
import { MAX_PAIR_RANGES, planQuery, tagNeedle } from '../../../src/store/lmdb/query-plan.js';
import { hexOf, unsignedEvent } from '../../helpers/events.js';

const A = hexOf(1);
const B = hexOf(2);

function indexPlan(filter: NormalizedFilter) {
  const plan = planQuery(filter);
  assert.equal(plan.type, 'index');
  return plan as Extract<typeof plan, { type: 'index' }>;
}

describe('planQuery', () => {
  test('ids are point lookups, whatever else the filter says', () => {
    assert.deepEqual(planQuery({ ids: [A], authors: [B], kinds: [1] }), { type: 'ids', ids: [A] });
  });

  test('index choice and remaining checks per filter shape', () => {
    const cases: [NormalizedFilter, string, number, boolean, boolean][] = [
      // filter, index, ranges, post-filter, kinds checked from the key
      [{ authors: [A, B], kinds: [1, 7] }, 'authorKind', 4, false, false],
      [{ authors: [A], kinds: [1], tags: new Map([['t', ['x']]]) }, 'authorKind', 1, true, false],
      [{ tags: new Map([['p', [A, B]]]) }, 'tag', 2, false, false],
      [{ tags: new Map([['p', [A]]]), kinds: [1, 7] }, 'tag', 1, false, true],
      [{ tags: new Map([['p', [A]]]), authors: [B] }, 'tag', 1, true, false],
      [
        {
          tags: new Map([
            ['p', [A]],
            ['t', ['x']],
          ]),
        },
        'tag',
        1,
        true,
        false,
      ],
      [{ authors: [A] }, 'author', 1, false, false],
      [{ kinds: [1, 7, 9] }, 'kind', 3, false, false],
      [{ since: 5, until: 9, limit: 3 }, 'created', 1, false, false],
    ];
    for (const [filter, index, ranges, postFilter, keyKinds] of cases) {
      const plan = indexPlan(filter);
      const label = JSON.stringify({ ...filter, tags: filter.tags && Object.fromEntries(filter.tags) });
      assert.equal(plan.index, index, label);
      assert.equal(plan.ranges.length, ranges, label);
      assert.equal(plan.postFilter, postFilter, label);
      assert.equal(plan.kinds !== undefined, keyKinds, label);
    }
  });

  test('malformed authors never become short, over-broad prefixes', () => {
    assert.equal(indexPlan({ authors: ['ab'] }).ranges.length, 0);
    assert.equal(indexPlan({ authors: ['ab', A], kinds: [1] }).ranges.length, 1);
  });

  test('a hex tag letter is preferred over a hashed one', () => {
    const plan = indexPlan({
      tags: new Map([
        ['t', ['x']],
        ['e', [A, B]],
      ]),
    });
    assert.equal(plan.ranges.length, 2);
    assert.equal(plan.needles, undefined);
    assert.equal(plan.postFilter, true);
  });

  test('too many pairs fall back to the wider index, with kinds checked from the key', () => {
    const authors = Array.from({ length: MAX_PAIR_RANGES }, (_, i) => hexOf(i));
    const byAuthor = indexPlan({ authors, kinds: [1, 6] });
    assert.equal(byAuthor.index, 'author');
    assert.deepEqual(byAuthor.kinds, [1, 6]);
    const values = Array.from({ length: MAX_PAIR_RANGES }, (_, i) => `v${i}`);
    const byTag = indexPlan({ tags: new Map([['t', values]]), kinds: [1, 6] });
    assert.equal(byTag.index, 'tag');
    assert.deepEqual(byTag.kinds, [1, 6]);
    assert.equal(byTag.needles?.length, MAX_PAIR_RANGES);
  });
});

describe('tagNeedle', () => {
  test('found exactly when the event has that tag with that first value', () => {
    const needle = tagNeedle('t', 'nostr');
    const cases: [string[][], string, boolean][] = [
      [[['t', 'nostr']], '', true],
      [[['t', 'nostr', 'extra']], '', true],
      [[['x'], ['t', 'nostr']], '', true],
      [[['t', 'nostrich']], '', false],
      [[['t', 'Nostr']], '', false],
      [[['T', 'nostr']], '', false],
      [[['t', 'other', 'nostr']], '', false],
      [[['tt', 'nostr']], '', false],
      [[], '["t","nostr"]', false],
      [[['c', '["t","nostr"]']], '', false],
      [
        [
          ['c', '\\'],
          ['d', 't","nostr'],
        ],
        '',
        false,
      ],
    ];
    for (const [tags, content, expected] of cases) {
      const raw = serializeEvent(unsignedEvent(A, { tags, content }));
      assert.equal(raw.includes(needle), expected, raw);
    }
  });

  test('values needing escapes', () => {
    for (const value of ['say "hi"', 'back\\slash', 'line\nbreak', 'ünïcödé', '']) {
      const raw = serializeEvent(unsignedEvent(A, { tags: [['t', value]] }));
      assert.ok(raw.includes(tagNeedle('t', value)), value);
    }
  });
});
