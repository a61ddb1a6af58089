/**
 * NIP-01 REQs the relay refuses: non-hex ids / authors / #e / #p values and malformed filter
 * values (CLOSED "invalid: ..."), multi-letter tag keys, unknown keys and search (CLOSED
 * "unsupported: ..."), bad subscription ids, and too many filters.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Clients, hasPrefix, newKeys, sign } from '../helpers/nostr.js';
import type { Frame, RawClient } from '../helpers/relay-harness.js';
import { useTestRelay } from '../helpers/use-test-relay.js';
import { publishAll } from './nip01-req-fixtures.js';

const clients = new Clients();
const t = useTestRelay(clients);

/** Sends a REQ expected to be refused; returns the CLOSED frame. */
async function refused(c: RawClient, subId: string, ...filters: unknown[]): Promise<Frame> {
  c.send(['REQ', subId, ...filters]);
  return c.next((f) => (f[0] === 'CLOSED' || f[0] === 'EOSE') && f[1] === subId);
}

describe('refused REQs', () => {
  it('non-hex ids / authors / #e / #p values -> CLOSED "invalid: ..."', async () => {
    const c = await clients.raw(t.url);
    const pk = newKeys().pk;
    const bad: Record<string, unknown>[] = [
      { ids: ['abc'] },
      { ids: [pk.toUpperCase()] },
      { ids: [pk.slice(1)] },
      { ids: [`${pk}0`] },
      { ids: [5] },
      { authors: [pk.toUpperCase()] },
      { authors: ['zz'.repeat(32)] },
      { '#e': ['xyz'] },
      { '#p': [pk.slice(0, 10)] },
      { '#E': ['nothex'] },
      { '#P': [pk.toUpperCase()] },
    ];
    for (const f of bad) {
      const frame = await refused(c, 'hex', f);
      assert.equal(frame[0], 'CLOSED', JSON.stringify(f));
      assert.match(frame[2], hasPrefix('invalid'), JSON.stringify(f));
    }
    // One bad filter refuses the whole REQ.
    const frame = await refused(c, 'hex2', { kinds: [1] }, { ids: ['abc'] });
    assert.equal(frame[0], 'CLOSED');
    assert.match(frame[2], hasPrefix('invalid'));
    assert.equal(c.closed, false);
  });

  it('malformed filter values -> CLOSED "invalid: ..."', async () => {
    const c = await clients.raw(t.url);
    const bad: unknown[] = [
      5,
      'x',
      null,
      [],
      { ids: 'x' },
      { kinds: ['1'] },
      { kinds: [70000] },
      { kinds: [-1] },
      { kinds: 1 },
      { since: -1 },
      { since: '1' },
      { until: 1.5 },
      { limit: -1 },
      { limit: '10' },
      { '#t': 'x' },
      { '#t': [1] },
    ];
    for (const f of bad) {
      const frame = await refused(c, 'malformed', f);
      assert.equal(frame[0], 'CLOSED', JSON.stringify(f));
      assert.match(frame[2], hasPrefix('invalid'), JSON.stringify(f));
    }
    const noFilter = await refused(c, 'nofilter');
    assert.equal(noFilter[0], 'CLOSED');
    assert.match(noFilter[2], hasPrefix('invalid'));
  });

  it('multi-letter tag keys, unknown keys and search -> CLOSED "unsupported: ..."', async () => {
    const c = await clients.raw(t.url);
    for (const f of [{ '#emoji': ['x'] }, { foo: 1 }, { search: 'hello' }, { '#': ['x'] }, { '#1': ['x'] }]) {
      const frame = await refused(c, 'unsup', f);
      assert.equal(frame[0], 'CLOSED', JSON.stringify(f));
      assert.match(frame[2], hasPrefix('unsupported'), JSON.stringify(f));
    }
  });

  it('empty, 65-character and non-string subscription ids are refused', async () => {
    const c = await clients.raw(t.url);
    c.send(['REQ', '', {}]);
    const empty = await c.next((f) => (f[0] === 'CLOSED' && f[1] === '') || f[0] === 'NOTICE');
    assert.match(empty.at(-1), hasPrefix('invalid'));

    const long = 'x'.repeat(65);
    c.send(['REQ', long, {}]);
    const tooLong = await c.next((f) => (f[0] === 'CLOSED' && long.startsWith(f[1])) || f[0] === 'NOTICE');
    assert.match(tooLong.at(-1), hasPrefix('invalid'));

    c.send(['REQ', 42, {}]);
    const notString = await c.nextOfType('NOTICE');
    assert.match(notString[1], hasPrefix('invalid'));

    // Exactly 64 characters, and arbitrary characters, are fine.
    const max = 'y'.repeat(64);
    assert.deepEqual(await c.query(max, { ids: ['00'.repeat(32)] }), []);
    const odd = 'sub "quoted" \\ ü 🎉';
    const ev = sign(newKeys());
    await publishAll(c, [ev]);
    assert.deepEqual(await c.query(odd, { ids: [ev.id] }), [ev]);
    assert.ok(!c.frames.some((f) => f[0] === 'EVENT' && f[1] !== odd && f[1] !== max));
  });

  it('too many filters -> CLOSED "invalid: ..."', async () => {
    const c = await clients.raw(t.url);
    const max = t.relay.config.limits.maxFiltersPerReq;
    const frame = await refused(c, 'many', ...Array.from({ length: max + 1 }, (_, i) => ({ kinds: [i] })));
    assert.equal(frame[0], 'CLOSED');
    assert.match(frame[2], hasPrefix('invalid'));
    assert.deepEqual(
      await c.query('ok', ...Array.from({ length: max }, (_, i) => ({ kinds: [40000 + i] }))),
      [],
    );
  });
});
