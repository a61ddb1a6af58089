/**
 * Issue 9's robustness suite ("hold under abuse"), the attacks by volume: rows 6 and 7 of the
 * issue's table, replayed end to end against a fresh `orly` CLI process (over a copy of a store of
 * 20,000 imported events; split mode: over a real orly-db) with the edge limits at their README
 * defaults. The attacker comes from one address (198.51.100.x, through the relay's own machine,
 * a trusted proxy); the victim connects directly. Row 6: 3 connections × 8 NEG-OPEN {} (the item
 * budgets scaled to this store: 5 sets per address); row 7: 400 connections from one address,
 * then EVENT floods. The victim's bounds are those of abuse-queries.test.ts (which lists the rows).
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { replay, seededStore } from '../helpers/abuse.js';
import { Attacker } from '../helpers/abuse-attacker.js';
import { newKey, signedEvent } from '../helpers/events.js';
import { fastKey, fastSign } from '../helpers/fast-sign.js';
import { RawClient } from '../helpers/relay-harness.js';

const SEEDED = 20_000;
const STORED = SEEDED + 2; // and the victim's two notes
const NOW = Math.floor(Date.now() / 1000);

/** The README's defaults for the edge limits (relay-process turns the per-address ones off). */
const EDGE_DEFAULTS = {
  ORLY_MAX_CONNECTIONS_PER_IP: '20',
  ORLY_MAX_UPGRADES_PER_MINUTE_PER_IP: '60',
  ORLY_EVENT_RATE: '20',
  ORLY_EVENT_RATE_PER_IP: '50',
  ORLY_REQ_RATE: '20',
  ORLY_REQ_RATE_PER_IP: '50',
};
/** The victim's pause between rounds: well under 20 REQs a second. */
const PACE_MS = 60;
const from = (ip: string) => ({ 'X-Forwarded-For': ip });
const EMPTY_NEG = '6100000200';
const sessions = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('abuse: volume from one address (issue 9, rows 6, 7)', () => {
  const victim = newKey();
  let store: string;

  before(async () => {
    const own = [0, 1].map((i) =>
      signedEvent(victim, { created_at: NOW - 100_000 + i, content: `victim ${i}` }),
    );
    store = await seededStore(SEEDED, own);
  });
  after(() => rmSync(store, { recursive: true, force: true }));

  it('row 6: 3 connections × 8 NEG-OPEN {}: the budget answers blocked:, the victim syncs, NEG-CLOSE and disconnect give it back', async (ctx) => {
    const attackerIp = from('198.51.100.66');
    await replay(ctx, {
      row: 'row 6',
      store,
      victim: victim.pubkey,
      paceMs: PACE_MS,
      env: {
        ...EDGE_DEFAULTS,
        ORLY_NEGENTROPY_ENABLED: 'true',
        ORLY_NEGENTROPY_MAX_ITEMS_PER_IP: String(5 * STORED),
        ORLY_NEGENTROPY_MAX_ITEMS_TOTAL: String(6 * STORED + 1000),
      },
      async attack(t) {
        const attackers = await Promise.all([0, 1, 2].map(() => Attacker.connect(t.url, attackerIp)));
        const answers: string[] = [];
        let victimDuring: string;
        try {
          for (const [n, a] of attackers.entries())
            for (let i = 0; i < 8; i++) a.send(['NEG-OPEN', `n${n}-${i}`, {}, EMPTY_NEG]);
          const opened: [Attacker, string][] = [];
          for (const [n, a] of attackers.entries())
            for (const f of await a.answersFor(sessions(`n${n}-`, 8), 30_000)) {
              answers.push(f[0] === 'NEG-MSG' ? 'open' : `${f[0]} ${f[2]}`);
              if (f[0] === 'NEG-MSG') opened.push([a, f[1]]);
            }
          // NEG-CLOSE gives a set's items back: the next NEG-OPEN fits again.
          const [holder, sub] = opened[0] ?? [attackers[0]!, 'none'];
          holder.send(['NEG-CLOSE', sub]);
          holder.send(['NEG-OPEN', 'after-close', {}, EMPTY_NEG]);
          answers.push(`after NEG-CLOSE: ${(await holder.answer('after-close', 30_000))[0]}`);
          // The attacker holds its sets; the victim, another address, still reconciles.
          const own = await Attacker.connect(t.url);
          own.send(['NEG-OPEN', 'mine', {}, EMPTY_NEG]);
          victimDuring = (await own.answer('mine', 30_000))[0];
          await own.close();
        } finally {
          await Promise.all(attackers.map((a) => a.close()));
        }
        return { answers, victimDuring };
      },
      async check({ answers, victimDuring }, t) {
        ctx.diagnostic(`NEG-OPEN answers: ${answers.filter((x) => x === 'open').length} open of 24`);
        assert.equal(answers.pop(), 'after NEG-CLOSE: NEG-MSG');
        assert.equal(answers.filter((x) => x === 'open').length, 5, answers.join(' | '));
        for (const x of answers.filter((y) => y !== 'open'))
          assert.equal(
            x,
            'NEG-ERR blocked: too many negentropy items held by open sessions, try again later',
          );
        assert.equal(victimDuring, 'NEG-MSG');
        // The attacker left: its address's budget is free again at once, not after an idle timeout.
        const again = await Attacker.connect(t.url, attackerIp);
        try {
          for (let i = 0; i < 5; i++) again.send(['NEG-OPEN', `again${i}`, {}, EMPTY_NEG]);
          const reopened = await again.answersFor(sessions('again', 5), 30_000);
          assert.deepEqual(
            reopened.map((f) => f[0]),
            Array(5).fill('NEG-MSG'),
          );
        } finally {
          await again.close();
        }
      },
    });
  });

  it('row 7: 400 connections from one address, then EVENT floods: 20 let in, the rest 429; floods rate-limited', async (ctx) => {
    const flooderIp = '198.51.100.7';
    const loneIp = '198.51.100.8';
    const flooders = Array.from({ length: 20 }, () => fastKey());
    const flood = flooders.map((k, n) =>
      Array.from({ length: 100 }, (_, i) =>
        fastSign(k, { created_at: NOW - 60 + (i % 50), content: `flood ${n}/${i}` }),
      ),
    );
    const loneKey = fastKey();
    const lone = Array.from({ length: 400 }, (_, i) =>
      fastSign(loneKey, { created_at: NOW - i, content: `lone ${i}` }),
    );
    await replay(ctx, {
      row: 'row 7',
      store,
      victim: victim.pubkey,
      paceMs: PACE_MS,
      env: EDGE_DEFAULTS,
      async attack(t) {
        const attempts: Awaited<ReturnType<typeof Attacker.attempt>>[] = [];
        for (let batch = 0; batch < 8; batch++)
          attempts.push(
            ...(await Promise.all(
              Array.from({ length: 50 }, () => Attacker.attempt(t.url, from(flooderIp))),
            )),
          );
        const open = attempts.filter((a): a is Attacker => a instanceof Attacker);
        const loner = await Attacker.connect(t.url, from(loneIp));
        const bystander = await RawClient.connect(t.url);
        try {
          const began = Date.now();
          for (const [n, a] of open.entries()) for (const ev of flood[n] ?? []) a.send(['EVENT', ev]);
          for (const ev of lone) loner.send(['EVENT', ev]);
          // Mid-flood, the victim publishes: its own buckets.
          const mine = signedEvent(victim, { created_at: NOW, content: 'published during the flood' });
          const ok = await bystander.publish(mine);
          const oks = await Promise.all(
            open.map((a, n) =>
              a.answersFor(
                (flood[n] ?? []).map((e) => e.id),
                30_000,
              ),
            ),
          );
          const loneOks = await loner.answersFor(
            lone.map((e) => e.id),
            30_000,
          );
          const seconds = (Date.now() - began) / 1000;
          return { attempts, open: open.length, ok, oks: oks.flat(), loneOks, seconds };
        } finally {
          await Promise.all([...open, loner].map((a) => a.close()));
          await bystander.close();
        }
      },
      async check({ attempts, open, ok, oks, loneOks, seconds }, t) {
        assert.equal(open, 20, 'ORLY_MAX_CONNECTIONS_PER_IP connections are let in');
        for (const a of attempts) {
          if (a instanceof Attacker) continue;
          assert.equal(a.status, 429);
          assert.ok(Number(a.retryAfter) >= 1, `Retry-After ${a.retryAfter}`);
          assert.match(a.body, /^too many (open|new) connections from your address/);
        }
        assert.equal(ok[2], true, `the victim's EVENT during the flood: ${JSON.stringify(ok)}`);
        const accepted = (frames: typeof oks) => frames.filter((f) => f[2] === true);
        const refused = (frames: typeof oks) => frames.filter((f) => f[2] !== true);
        ctx.diagnostic(
          `${seconds} s: address flood ${accepted(oks).length} of ${oks.length} accepted, ` +
            `one connection ${accepted(loneOks).length} of ${loneOks.length}`,
        );
        // Per address: a burst of 500, then 50 a second; per connection: 200, then 20 a second.
        assert.ok(accepted(oks).length >= 500 && accepted(oks).length <= 500 + 50 * seconds + 1);
        assert.ok(accepted(loneOks).length >= 200 && accepted(loneOks).length <= 200 + 20 * seconds + 1);
        for (const f of refused(oks)) assert.match(f[3], /^rate-limited: .*from this address/);
        for (const f of refused(loneOks)) assert.match(f[3], /^rate-limited: .*from this connection/);
        // Refused events were not stored; accepted ones were.
        const c = await RawClient.connect(t.url);
        try {
          for (const [id, frames, expected] of [
            ['in', accepted(oks), accepted(oks).length],
            ['out', refused(oks).slice(0, 1000), 0],
            ['lone-out', refused(loneOks), 0],
          ] as const) {
            c.send(['COUNT', id, { ids: frames.map((f) => f[1]) }]);
            assert.deepEqual(await c.next((f) => f[1] === id), ['COUNT', id, { count: expected }]);
          }
        } finally {
          await c.close();
        }
      },
    });
  });
});
