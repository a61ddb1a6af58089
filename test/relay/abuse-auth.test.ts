/**
 * Issue 9's robustness suite ("hold under abuse"), the attacks on what is hidden: rows 4 and 5 of
 * the issue's table, replayed end to end against a fresh `orly` CLI process (split mode: over a
 * real orly-db) with no public URL configured (the default). Row 4: a relay in the middle
 * replays the victim's AUTH (relay tag wss://evil.example/) with `Host: evil.example`; row 5: a
 * COUNT padded to ORLY_MAX_COUNT − 1 visible matches plus a probe filter. Nothing hidden may
 * leak: the victim's kind-4 and kind-1059 events are neither served nor counted, and COUNT's
 * answer is the same whether they exist or not. The victim's small REQ and /health stay fast
 * meanwhile (abuse-queries.test.ts has the other bounds and the list of rows).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NostrEvent } from '../../src/protocol/event.js';
import { type ChildRelay, replay } from '../helpers/abuse.js';
import {
  authEvent,
  Clients,
  challengeOf,
  hasPrefix,
  type Keys,
  newKeys,
  nowSec,
  rawAuth,
  sign,
} from '../helpers/nostr.js';
import type { Frame, RawClient } from '../helpers/relay-harness.js';

const clients = new Clients();
/** The middle relay's connection: Host forged, or through the local (trusted) proxy's X-Forwarded-Host. */
const FORGED: Record<string, string>[] = [
  { Host: 'evil.example' },
  { 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-For': '203.0.113.7' },
];
const base = nowSec() - 10_000;

/** Publishes over a fresh connection; every event must be accepted. */
async function publish(t: ChildRelay, events: NostrEvent[]): Promise<void> {
  const c = await clients.raw(t.url);
  for (const ev of events) assert.deepEqual(await c.publish(ev), ['OK', ev.id, true, '']);
  await c.close();
}

/** The victim's two public notes (what its small REQ reads) and what it must keep hidden. */
function victimWorld(victim: Keys, sender: Keys) {
  const notes = [0, 1].map((i) => sign(victim, { created_at: base + i, content: `public ${i}` }));
  const dm = sign(sender, { kind: 4, created_at: base + 5, tags: [['p', victim.pk]], content: 'secret' });
  const wrap = sign(newKeys(), {
    kind: 1059,
    created_at: base + 6,
    tags: [['p', victim.pk]],
    content: 'sealed',
  });
  return { notes, hidden: [dm, wrap] };
}

async function count(c: RawClient, id: string, ...filters: unknown[]): Promise<Frame> {
  c.send(['COUNT', id, ...filters]);
  return c.next((f) => (f[0] === 'COUNT' || f[0] === 'CLOSED') && f[1] === id);
}

/** Everything `c` may be served or counted about the victim: none of `hidden`. */
async function assertNothingHidden(c: RawClient, victim: Keys, hidden: NostrEvent[]): Promise<void> {
  const hiddenIds = new Set(hidden.map((e) => e.id));
  for (const [id, filter] of [
    ['dm', { kinds: [4] }],
    ['wrap', { kinds: [1059], '#p': [victim.pk] }],
  ] as const) {
    c.send(['REQ', id, filter]);
    const answer = await c.next((f) => (f[0] === 'CLOSED' || f[0] === 'EOSE') && f[1] === id);
    assert.equal(answer[0], 'CLOSED', `${id}: ${JSON.stringify(answer)}`);
    assert.match(answer[2], hasPrefix('auth-required'));
  }
  for (const [id, filter] of [
    ['by-id', { ids: [...hiddenIds] }],
    ['by-p', { '#p': [victim.pk] }],
    ['scan', {}],
  ] as const) {
    const served = await c.query(id, filter);
    assert.deepEqual(
      served.filter((e) => hiddenIds.has(e.id as string)),
      [],
      `${id} serves a hidden event`,
    );
  }
  assert.deepEqual(await count(c, 'count-p', { '#p': [victim.pk] }), ['COUNT', 'count-p', { count: 0 }]);
  assert.deepEqual(await count(c, 'count-ids', { ids: [...hiddenIds] }), [
    'COUNT',
    'count-ids',
    { count: 0 },
  ]);
}

describe('abuse: reading what is hidden (issue 9, rows 4, 5)', () => {
  it('row 4: Host: evil.example + the victim AUTH replayed (tag wss://evil.example/): OK false, no DM served', async (ctx) => {
    const victim = newKeys();
    const { notes, hidden } = victimWorld(victim, newKeys());
    await replay(ctx, {
      row: 'row 4',
      victim: victim.pk,
      setup: (t) => publish(t, [...notes, ...hidden]),
      async attack(t) {
        const oks: Frame[] = [];
        for (const headers of FORGED) {
          const attacker = await clients.raw(t.url, headers);
          // What the relay in the middle obtains: the victim's AUTH over our challenge, for itself.
          const replayed = authEvent(victim, await challengeOf(attacker), 'wss://evil.example/');
          attacker.send(['AUTH', replayed]);
          oks.push(await attacker.next((f) => f[0] === 'OK' && f[1] === replayed.id));
          await assertNothingHidden(attacker, victim, hidden);
          await attacker.close();
        }
        return oks;
      },
      async check(oks, t) {
        for (const ok of oks) {
          assert.equal(ok[2], false, JSON.stringify(ok));
          assert.match(ok[3], /^restricted: this relay has no public URL configured/);
        }
        // The victim's own direct connection is served: the DM was there to leak.
        const own = await clients.raw(t.url);
        assert.equal((await rawAuth(own, victim, t.url))[2], true);
        const mine = await own.query('mine', { kinds: [4, 1059], '#p': [victim.pk] });
        assert.deepEqual(mine.map((e) => e.id).sort(), hidden.map((e) => e.id).sort());
        await clients.closeAll();
      },
    });
  });

  it('row 5: COUNT padded to ORLY_MAX_COUNT − 1 visible matches + a probe: the same answer whether hidden events exist or not', async (ctx) => {
    const MAX_COUNT = 50;
    const victim = newKeys();
    const sender = newKeys();
    const { notes, hidden } = victimWorld(victim, sender);
    const bystander = newKeys(); // p-tagged by nothing, authors nothing: the answer without hidden events
    const attackerKeys = newKeys();
    const padding = Array.from({ length: MAX_COUNT - 1 }, (_, i) =>
      sign(attackerKeys, { created_at: base + 100 + i, tags: [['t', 'pad']], content: `pad ${i}` }),
    );
    const pad = { '#t': ['pad'] };
    const probes = (who: Keys, author: Keys, ids: string[]) => [
      { '#p': [who.pk] },
      { authors: [author.pk] },
      { ids },
      { '#p': [who.pk], since: base },
    ];
    await replay(ctx, {
      row: 'row 5',
      victim: victim.pk,
      env: { ORLY_MAX_COUNT: String(MAX_COUNT) },
      setup: (t) => publish(t, [...notes, ...hidden, ...padding]),
      async attack(t) {
        const answers: { hidden: Frame[]; none: Frame[]; req: number[] }[] = [];
        const anonymous = await clients.raw(t.url);
        // Authenticated as itself (a direct local client may): it may read its own, not the victim's.
        const authed = await clients.raw(t.url);
        assert.equal((await rawAuth(authed, attackerKeys, t.url))[2], true);
        for (const c of [anonymous, authed]) {
          const withHidden = probes(
            victim,
            sender,
            hidden.map((e) => e.id),
          );
          const without = probes(bystander, bystander, ['ab'.repeat(32), 'cd'.repeat(32)]);
          const answer = { hidden: [] as Frame[], none: [] as Frame[], req: [] as number[] };
          for (const [i, probe] of withHidden.entries()) {
            answer.hidden.push((await count(c, `h${i}`, pad, probe)).slice(2));
            answer.none.push((await count(c, `n${i}`, pad, without[i])).slice(2));
            answer.req.push((await c.query(`r${i}`, { ...pad, limit: 100 }, probe)).length);
          }
          answers.push(answer);
        }
        await clients.closeAll();
        return answers;
      },
      async check(answers, t) {
        for (const { hidden: h, none, req } of answers) {
          assert.deepEqual(h, none, 'the answer does not depend on the hidden events');
          for (const a of h) assert.deepEqual(a, [{ count: MAX_COUNT - 1 }]);
          assert.deepEqual(req, [49, 49, 49, 49]);
        }
        // The victim itself reaches the cap with the same probe: the hidden events are there.
        const own = await clients.raw(t.url);
        assert.equal((await rawAuth(own, victim, t.url))[2], true);
        assert.deepEqual(await count(own, 'own', pad, { '#p': [victim.pk] }), [
          'COUNT',
          'own',
          { count: MAX_COUNT, approximate: true },
        ]);
        await clients.closeAll();
      },
    });
  });
});
