/**
 * The policy admins' follows (src/acl/policy/orly/policy-follows.ts): loaded from a real LMDB
 * store, replaced by a newer kind 3 (NIP-01's rule, ties by lowest id), and bounded at
 * MAX_FOLLOWS pubkeys however long the admins' lists are, with a warning naming the bound.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { MAX_FOLLOWS, PolicyFollows } from '../../../src/acl/policy/orly/policy-follows.js';
import { LmdbEventStore } from '../../../src/store/lmdb/lmdb-store.js';
import { BASE_TIME, newKey, signedEvent } from '../../helpers/events.js';

function pubkeys(count: number, seed: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push((seed * 1_000_000 + i).toString(16).padStart(64, '0'));
  return out;
}

describe('PolicyFollows', () => {
  let dir: string;
  let store: LmdbEventStore;
  const lines: Array<{ msg: string; max?: number; dropped?: number }> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const admin = newKey();
  const other = newKey();

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'orly-policy-follows-'));
    store = LmdbEventStore.open(dir);
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads the newest kind 3 of each admin from the store and follows newer ones', async () => {
    const [a, b, c] = pubkeys(3, 1);
    const older = signedEvent(admin, { kind: 3, tags: [['p', a as string]], created_at: BASE_TIME });
    const newer = signedEvent(admin, { kind: 3, tags: [['p', b as string]], created_at: BASE_TIME + 1 });
    for (const event of [older, newer]) assert.equal((await store.save(event)).stored, true);
    const follows = new PolicyFollows(store, logger);
    await follows.load([admin.pubkey]);
    assert.deepEqual([...follows.set], [b]);

    follows.offer(signedEvent(other, { kind: 3, tags: [['p', c as string]], created_at: BASE_TIME + 9 }));
    assert.deepEqual([...follows.set], [b], 'not an admin: ignored');
    follows.offer(older);
    assert.deepEqual([...follows.set], [b], 'an older list does not replace a newer one');
    follows.offer(signedEvent(admin, { kind: 3, tags: [['p', c as string]], created_at: BASE_TIME + 2 }));
    assert.deepEqual([...follows.set], [c]);
  });

  it(`keeps at most ${MAX_FOLLOWS.toLocaleString('en')} pubkeys and says so`, async () => {
    const follows = new PolicyFollows(store, logger);
    await follows.load([admin.pubkey, other.pubkey]);
    const half = Math.ceil(MAX_FOLLOWS * 0.6);
    const time = BASE_TIME + 100;
    follows.offer(
      signedEvent(admin, { kind: 3, tags: pubkeys(half, 2).map((p) => ['p', p]), created_at: time }),
    );
    follows.offer(
      signedEvent(other, { kind: 3, tags: pubkeys(half, 3).map((p) => ['p', p]), created_at: time }),
    );
    assert.equal(follows.set.size, MAX_FOLLOWS);
    const warning = lines.find((line) => line.msg.includes('policy follows over the limit'));
    assert.ok(warning, 'a warning names the bound');
    assert.equal(warning.max, MAX_FOLLOWS);
    assert.equal(warning.dropped, 2 * half - MAX_FOLLOWS);
  });
});
