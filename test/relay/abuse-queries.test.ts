/**
 * Issue 9's robustness suite ("hold under abuse"), the query attacks: rows 1, 2, 3 and 9 of the
 * issue's table, each replayed end to end by one client with no key against a fresh `orly` CLI
 * process (over a copy of a store of 20,000 imported events; split mode: over a real orly-db),
 * with the per-address rate limits off so that only the query limits stand in the way. What a
 * victim sees meanwhile: its small REQ gets EOSE within 250 ms (p50) and 2 s (max), /health
 * answers within 500 ms, the relay's RSS (in split mode orly-db's too, from /proc) grows by at
 * most 256 MB and is back within 64 MB of its baseline 5 s after the attacker left, and the
 * process stays up (test/helpers/abuse.ts). The other rows:
 * abuse-auth.test.ts (4, 5), abuse-connections.test.ts (6, 7), test/grpc/abuse-grpc.test.ts (8).
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { replay, seededStore } from '../helpers/abuse.js';
import { Attacker } from '../helpers/abuse-attacker.js';
import { newKey, signedEvent } from '../helpers/events.js';
import { SPLIT_MODE } from '../helpers/relay-harness.js';

const SEEDED = 20_000;
const NOW = Math.floor(Date.now() / 1000);
const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** A COUNT no event matches, answered once every earlier message of the connection was dispatched. */
async function sentinel(a: Attacker): Promise<void> {
  a.send(['COUNT', 'sentinel', { ids: ['00'.repeat(32)] }]);
  assert.deepEqual(await a.answer('sentinel', 30_000), ['COUNT', 'sentinel', { count: 0 }]);
}

describe('abuse: query attacks by one client (issue 9, rows 1, 2, 3, 9)', () => {
  const victim = newKey();
  let store: string;

  before(async () => {
    const own = [0, 1].map((i) =>
      signedEvent(victim, { created_at: NOW - 100_000 + i, content: `victim ${i}` }),
    );
    store = await seededStore(SEEDED, own);
  });
  after(() => rmSync(store, { recursive: true, force: true }));

  it('row 1: 50 REQs of 60,000 #t values on one connection are each CLOSED invalid:', async (ctx) => {
    await replay(ctx, {
      row: 'row 1',
      store,
      victim: victim.pubkey,
      async attack(t) {
        const a = await Attacker.connect(t.url);
        try {
          const values = JSON.stringify(Array.from({ length: 60_000 }, (_, i) => `value-${i}`));
          for (let i = 0; i < 50; i++) a.send(`["REQ","s${i}",{"#t":${values},"limit":0}]`);
          return await a.answersFor(ids('s', 50), 30_000);
        } finally {
          await a.close();
        }
      },
      check(answers) {
        for (const f of answers) {
          assert.equal(f[0], 'CLOSED', JSON.stringify(f));
          assert.match(f[2], /^invalid: #t has 60000 values, the limit is 1000/);
        }
      },
    });
  });

  it('row 2: 10,000 × ["REQ","same",{}] on one connection: replaced REQs never run to the end', async (ctx) => {
    await replay(ctx, {
      row: 'row 2 (same id)',
      store,
      victim: victim.pubkey,
      async attack(t) {
        const a = await Attacker.connect(t.url);
        try {
          for (let i = 0; i < 10_000; i++) a.send('["REQ","same",{}]');
          await sentinel(a);
          return { last: await a.answer('same', 30_000), events: a.events };
        } finally {
          await a.close();
        }
      },
      check({ last, events }) {
        ctx.diagnostic(`attacker: ${events} events, then ${JSON.stringify(last)}`);
        assert.equal(last[0], 'EOSE');
        // Had every REQ run, 10,000 × 500 events; the replaced ones stop early or never start.
        assert.ok(events < 100 * 500, `${events} events sent to the attacker`);
      },
    });
  });

  it('row 2: 3,000 REQ+CLOSE pairs on one connection leave no queue behind', async (ctx) => {
    await replay(ctx, {
      row: 'row 2 (REQ+CLOSE)',
      store,
      victim: victim.pubkey,
      async attack(t) {
        const a = await Attacker.connect(t.url);
        try {
          for (let i = 0; i < 3000; i++) {
            a.send(`["REQ","p${i}",{}]`);
            a.send(`["CLOSE","p${i}"]`);
          }
          await sentinel(a);
          return a.events;
        } finally {
          await a.close();
        }
      },
      check(events) {
        ctx.diagnostic(`attacker: ${events} events`);
        assert.ok(events < 100 * 500, `${events} events sent to the attacker`);
      },
    });
  });

  it('row 3: 8 COUNTs of 50,000 #t values, then 200 full COUNTs: /health and the victim keep answering', async (ctx) => {
    await replay(ctx, {
      row: 'row 3',
      store,
      victim: victim.pubkey,
      async attack(t) {
        const a = await Attacker.connect(t.url);
        try {
          const values = JSON.stringify(Array.from({ length: 50_000 }, (_, i) => `v${i}`));
          for (let i = 0; i < 8; i++) a.send(`["COUNT","big${i}",{"#t":${values}}]`);
          const big = await a.answersFor(ids('big', 8), 30_000);
          for (let i = 0; i < 200; i++) a.send(`["COUNT","c${i}",{}]`);
          return { big, full: await a.answersFor(ids('c', 200), 30_000) };
        } finally {
          await a.close();
        }
      },
      check({ big, full }) {
        for (const f of big) {
          assert.equal(f[0], 'CLOSED', JSON.stringify(f));
          assert.match(f[2], /^invalid: #t has 50000 values, the limit is 1000/);
        }
        for (const f of full) {
          if (f[0] === 'COUNT') assert.deepEqual(f[2], { count: SEEDED + 2 });
          else assert.match(f[2], /^rate-limited: too many queries in progress on this connection/);
        }
        ctx.diagnostic(`full COUNTs answered: ${full.filter((f) => f[0] === 'COUNT').length} of 200`);
      },
    });
  });

  // ─────────────────────────────────────────────────────────────────────────────────────────
  // ROW 9 ("huge scans"), added to the table while its protection is being written in src/:
  // 20,000 events stored, ORLY_MAX_LIMIT=5000, 64 × ["REQ","bigN",{"limit":5000}] over 4
  // connections while the victim queries: victim p50 < 250 ms, max < 2 s. Every REQ must be
  // answered in full (EOSE after 5000 events) or refused with a standard reason, or the
  // attacker's connection closed by the relay. It may fail until that protection lands.
  // ─────────────────────────────────────────────────────────────────────────────────────────
  it('row 9 (huge scans): 64 × {"limit":5000} on 4 connections, the victim still served', async (ctx) => {
    await replay(ctx, {
      row: 'row 9',
      store,
      victim: victim.pubkey,
      env: { ORLY_MAX_LIMIT: '5000' },
      // Not a row of the table. Split mode: after this 320,000-event burst the relay
      // (frames built in its event loop) and orly-db keep about +120 / +90 MB resident past the
      // 5 s (docs/benchmarks.md, an open finding); the peak and the victim are still checked.
      memoryReturns: !SPLIT_MODE,
      async attack(t) {
        const attackers = await Promise.all([0, 1, 2, 3].map(() => Attacker.connect(t.url)));
        try {
          for (const [n, a] of attackers.entries())
            for (let i = 0; i < 16; i++) a.send(`["REQ","big${n}-${i}",{"limit":5000}]`);
          const answers = await Promise.all(
            attackers.map((a, n) => a.answersFor(ids(`big${n}-`, 16), 60_000)),
          );
          return attackers.map((a, n) => ({
            answers: answers[n]!,
            bySub: a.eventsBySub,
            closed: a.closedWith,
          }));
        } finally {
          await Promise.all(attackers.map((a) => a.close()));
        }
      },
      check(connections) {
        const outcomes: string[] = [];
        for (const [n, { answers, bySub, closed }] of connections.entries()) {
          const eose = answers.filter((f) => f[0] === 'EOSE').length;
          const events = [...bySub.values()].reduce((s, x) => s + x, 0);
          outcomes.push(
            `connection ${n}: ${eose} EOSE, ${events} events, closed by the relay: ${closed ?? 'no'}`,
          );
        }
        ctx.diagnostic(outcomes.join('; '));
        for (const { answers, bySub } of connections)
          for (const f of answers) {
            if (f[0] === 'EOSE') assert.equal(bySub.get(f[1]), 5000, `${f[1]}: every event before EOSE`);
            else if (f[0] === 'CLOSED') assert.match(f[2], /^(rate-limited|blocked|error): /);
            else assert.equal(f[0], 'socket closed', JSON.stringify(f));
          }
      },
    });
  });
});
