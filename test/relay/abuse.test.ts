/**
 * Hostile clients, as the victim sees them (issue 9): while one client with no key attacks,
 * a well-behaved second client's small REQ still gets its EOSE quickly, /health answers, the
 * process's memory stays bounded, and nothing hidden leaks. Each attack is a bounded loop over
 * a real socket against a real relay (in this process, so its memory is the test's memory).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newKey, signedEvent } from '../helpers/events.js';
import { RawClient, startTestRelay, type TestRelay } from '../helpers/relay-harness.js';

const NOW = Math.floor(Date.now() / 1000);
const MB = 1_048_576;

/** The victim's view: REQ→EOSE times of small REQs and /health times, while `attack` runs. */
async function victimDuring(t: TestRelay, author: string, attack: () => Promise<void>) {
  const victim = await RawClient.connect(t.url);
  const reqMs: number[] = [];
  const healthMs: number[] = [];
  let attacking = true;
  const running = attack().finally(() => {
    attacking = false;
  });
  try {
    for (let i = 0; attacking || i < 5; i++) {
      let began = Date.now();
      assert.equal((await victim.query(`v${i}`, { authors: [author], limit: 2 })).length, 2);
      reqMs.push(Date.now() - began);
      began = Date.now();
      assert.equal((await fetch(`${t.httpUrl}/health`)).status, 200);
      healthMs.push(Date.now() - began);
    }
    await running;
  } finally {
    await victim.close();
  }
  reqMs.sort((a, b) => a - b);
  healthMs.sort((a, b) => a - b);
  return {
    reqP50: reqMs[Math.floor(reqMs.length / 2)]!,
    reqMax: reqMs[reqMs.length - 1]!,
    healthMax: healthMs[healthMs.length - 1]!,
  };
}

describe('abuse: one client with no key', () => {
  let t: TestRelay;
  const author = newKey();

  before(async () => {
    t = await startTestRelay({ ORLY_NEGENTROPY_ENABLED: 'true' });
    const c = await RawClient.connect(t.url);
    for (let i = 0; i < 200; i++) {
      const e = signedEvent(author, { kind: 1, created_at: NOW - 500 + i, tags: [['t', `t${i % 5}`]] });
      assert.equal((await c.publish(e))[2], true);
    }
    await c.close();
  });
  after(() => t.stop());

  it('50 REQs of 60,000 tag values each: refused, memory bounded, the victim unaffected', async () => {
    const before = process.memoryUsage.rss();
    const seen = await victimDuring(t, author.pubkey, async () => {
      const attacker = await RawClient.connect(t.url);
      try {
        const values = Array.from({ length: 60_000 }, (_, i) => `value-${i}`);
        for (let i = 0; i < 50; i++) attacker.send(['REQ', `s${i}`, { '#t': values, limit: 0 }]);
        for (let i = 0; i < 50; i++) {
          const f = await attacker.next((x) => x[1] === `s${i}`, 30_000);
          assert.equal(f[0], 'CLOSED');
          assert.match(String(f[2]), /^invalid: #t has 60000 values/);
        }
      } finally {
        await attacker.close();
      }
    });
    assert.ok(seen.reqP50 < 250 && seen.reqMax < 2000, JSON.stringify(seen));
    assert.ok(seen.healthMax < 500, JSON.stringify(seen));
    assert.ok(process.memoryUsage.rss() - before < 256 * MB, 'RSS grew by less than 256 MB');
  });

  it('8 COUNTs of 50,000 values and a thousand cheap COUNTs: /health and the victim keep answering', async () => {
    const seen = await victimDuring(t, author.pubkey, async () => {
      const attacker = await RawClient.connect(t.url);
      try {
        const values = Array.from({ length: 50_000 }, (_, i) => `v${i}`);
        for (let i = 0; i < 8; i++) attacker.send(['COUNT', `big${i}`, { '#t': values }]);
        for (let i = 0; i < 8; i++)
          assert.equal((await attacker.next((x) => x[1] === `big${i}`, 30_000))[0], 'CLOSED');
        for (let i = 0; i < 1000; i++) attacker.send(['COUNT', `c${i}`, { kinds: [1] }]);
        for (let i = 0; i < 1000; i++) {
          const f = await attacker.next((x) => x[1] === `c${i}`, 30_000);
          if (f[0] === 'COUNT') assert.deepEqual(f[2], { count: 200 });
          else assert.match(String(f[2]), /^rate-limited: /);
        }
      } finally {
        await attacker.close();
      }
    });
    assert.ok(seen.reqP50 < 250 && seen.reqMax < 2000, JSON.stringify(seen));
    assert.ok(seen.healthMax < 500, JSON.stringify(seen));
  });

  it('NEG-OPENs from 3 connections: the item budget answers blocked: before memory grows', async () => {
    const small = await startTestRelay({
      ORLY_NEGENTROPY_ENABLED: 'true',
      ORLY_NEGENTROPY_MAX_ITEMS_TOTAL: '500',
      ORLY_NEGENTROPY_MAX_ITEMS_PER_IP: '400',
    });
    const writer = await RawClient.connect(small.url);
    for (let i = 0; i < 200; i++)
      assert.equal((await writer.publish(signedEvent(author, { created_at: NOW - 300 + i })))[2], true);
    await writer.close();
    const attackers = await Promise.all([0, 1, 2].map(() => RawClient.connect(small.url)));
    try {
      const answers: string[] = [];
      for (const [n, a] of attackers.entries()) {
        for (let i = 0; i < 8; i++) a.send(['NEG-OPEN', `n${n}-${i}`, {}, '6100000200']);
        for (let i = 0; i < 8; i++) {
          const f = await a.next((x) => x[1] === `n${n}-${i}`, 10_000);
          answers.push(f[0] === 'NEG-MSG' ? 'open' : String(f[2]));
        }
      }
      // One address (loopback): at most 400 items, i.e. two sets of 200.
      assert.equal(answers.filter((x) => x === 'open').length, 2, answers.join(' | '));
      for (const x of answers.filter((y) => y !== 'open'))
        assert.match(x, /^blocked: too many negentropy items/);
      // Closing frees the budget for the next NEG-OPEN.
      const [first] = attackers;
      first!.send(['NEG-CLOSE', 'n0-0']);
      first!.send(['NEG-CLOSE', 'n0-1']);
      first!.send(['NEG-OPEN', 'again', {}, '6100000200']);
      assert.equal((await first!.next((x) => x[1] === 'again'))[0], 'NEG-MSG');
    } finally {
      for (const a of attackers) await a.close();
      await small.stop();
    }
  });
});
