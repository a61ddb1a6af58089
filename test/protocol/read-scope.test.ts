/**
 * Unit tests for src/protocol/read-scope.ts: isOpenScope, readRules (a scope merged with the
 * relay's restricted kinds for one reader), withoutHiddenKinds and scopeAllows.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NostrEvent } from '../../src/protocol/event.js';
import {
  isOpenScope,
  OPEN_READ_SCOPE,
  type ReadScope,
  readRules,
  scopeAllows,
  withoutHiddenKinds,
} from '../../src/protocol/read-scope.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);
const RESTRICTED: ReadonlySet<number> = new Set([4, 1059]);

const scope = (s: Partial<ReadScope>): ReadScope => ({
  hiddenKinds: new Set(),
  involvedKinds: new Set(),
  allInvolved: false,
  ...s,
});

const event = (kind: number, pubkey: string, p?: string): NostrEvent => ({
  id: '0'.repeat(64),
  pubkey,
  created_at: 1,
  kind,
  tags: p === undefined ? [] : [['p', p]],
  content: '',
  sig: '0'.repeat(128),
});

describe('read scope helpers', () => {
  it('isOpenScope: undefined and a scope restricting nothing are open; any restriction is not', () => {
    assert.ok(isOpenScope(undefined));
    assert.ok(isOpenScope(OPEN_READ_SCOPE));
    assert.ok(!isOpenScope(scope({ refused: 'restricted: no' })));
    assert.ok(!isOpenScope(scope({ hiddenKinds: new Set([1]) })));
    assert.ok(!isOpenScope(scope({ involvedKinds: new Set([1]) })));
    assert.ok(!isOpenScope(scope({ allInvolved: true })));
  });

  it('readRules: undefined when open; involved kinds join the restricted ones, hidden ones win', () => {
    assert.equal(readRules(undefined, RESTRICTED, new Set([A])), undefined);
    assert.equal(readRules(OPEN_READ_SCOPE, RESTRICTED, new Set()), undefined);
    const rules = readRules(
      scope({ hiddenKinds: new Set([7, 4]), involvedKinds: new Set([9, 7]) }),
      RESTRICTED,
      new Set([A]),
    )!;
    assert.deepEqual([...rules.hiddenKinds].sort(), [4, 7]);
    assert.deepEqual(
      [...rules.involvedKinds].sort((a, b) => a - b),
      [9, 1059],
    );
    assert.equal(rules.nothing, false);
  });

  it('readRules: unauthenticated, involved kinds are hidden and allInvolved serves nothing; refused serves nothing', () => {
    const anon = readRules(scope({ involvedKinds: new Set([9]) }), RESTRICTED, new Set())!;
    assert.deepEqual([...anon.hiddenKinds], [9]);
    assert.ok(!anon.involvedKinds.has(9));
    assert.equal(readRules(scope({ allInvolved: true }), RESTRICTED, new Set())!.nothing, true);
    assert.equal(readRules(scope({ allInvolved: true }), RESTRICTED, new Set([A]))!.nothing, false);
    assert.equal(readRules(scope({ refused: 'restricted: no' }), RESTRICTED, new Set([A]))!.nothing, true);
  });

  it('withoutHiddenKinds prunes named kinds (none left: matches nothing), else checks each result', () => {
    const hidden = new Set([7]);
    assert.deepEqual(withoutHiddenKinds({ kinds: [1, 7] }, hidden), {
      filter: { kinds: [1] },
      checkEach: false,
    });
    assert.deepEqual(withoutHiddenKinds({ kinds: [7] }, hidden).filter.kinds, []);
    const unnamed = { authors: [A] };
    assert.deepEqual(withoutHiddenKinds(unnamed, hidden), { filter: unnamed, checkEach: true });
    const other = { kinds: [1] };
    assert.equal(withoutHiddenKinds(other, hidden).filter, other);
    assert.deepEqual(withoutHiddenKinds(unnamed, new Set()), { filter: unnamed, checkEach: false });
  });

  it('scopeAllows: hidden kinds never, involved kinds to the author or a p-tagged reader', () => {
    const s = scope({ hiddenKinds: new Set([7]), involvedKinds: new Set([9]) });
    assert.equal(scopeAllows(undefined, event(7, A), new Set()), true);
    assert.equal(scopeAllows(s, event(7, A), new Set([A])), false);
    assert.equal(scopeAllows(s, event(1, A), new Set()), true);
    assert.equal(scopeAllows(s, event(9, A, B), new Set()), false);
    assert.equal(scopeAllows(s, event(9, A, B), new Set([A])), true);
    assert.equal(scopeAllows(s, event(9, A, B), new Set([B])), true);
    assert.equal(scopeAllows(s, event(9, A, B), new Set([C])), false);
    const all = scope({ allInvolved: true });
    assert.equal(scopeAllows(all, event(1, A), new Set([C])), false);
    assert.equal(scopeAllows(all, event(1, A, C), new Set([C])), true);
    assert.equal(scopeAllows(scope({ refused: 'restricted: no' }), event(1, A), new Set([A])), false);
  });
});
