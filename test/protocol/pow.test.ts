/** NIP-13: difficulty as leading zero bits of the id, and the nonce tags' committed targets. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getPow } from 'nostr-tools/nip13';
import { committedTargets, powDifficulty } from '../../src/protocol/pow.js';

test('difficulty counts leading zero bits (the NIP-13 examples, and every nibble)', () => {
  assert.equal(powDifficulty(`000000000e9d97a1${'ab'.repeat(24)}`), 36);
  assert.equal(powDifficulty(`002f${'f'.repeat(60)}`), 10);
  assert.equal(powDifficulty('f'.repeat(64)), 0);
  assert.equal(powDifficulty('0'.repeat(64)), 256);
  for (let nibble = 1; nibble < 16; nibble++) {
    const id = `000${nibble.toString(16)}${'f'.repeat(60)}`;
    assert.equal(powDifficulty(id), getPow(id), id);
  }
});

test('committed targets: the third element of every nonce tag that has one', () => {
  assert.deepEqual(committedTargets({ tags: [] }), []);
  assert.deepEqual(
    committedTargets({
      tags: [
        ['nonce', '1'],
        ['t', 'x', 'y'],
        ['nonce', '2', '20'],
        ['nonce', '3', 'x', 'extra'],
      ],
    }),
    ['20', 'x'],
  );
});
