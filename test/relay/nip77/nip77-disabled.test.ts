/**
 * NIP-77 disabled (the default): NIP-11 does not list 77, NEG-OPEN and NEG-MSG get a NOTICE
 * unsupported:, NEG-CLOSE gets no answer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Clients } from '../../helpers/nostr.js';
import { startTestRelay, type TestRelay } from '../../helpers/relay-harness.js';
import { nip11 } from './nip77-fixtures.js';

const clients = new Clients();

after(async () => {
  await clients.closeAll();
});

describe('NIP-77 disabled (the default)', () => {
  let off: TestRelay;

  before(async () => {
    off = await startTestRelay();
  });

  after(async () => {
    await off?.stop();
  });

  it('NIP-11 does not list 77; NEG-OPEN/NEG-MSG get a NOTICE unsupported:, NEG-CLOSE nothing', async () => {
    assert.ok(!(await nip11(off)).supported_nips.includes(77));
    const c = await clients.raw(off.url);
    c.send(['NEG-OPEN', 'x', {}, '6100000200']);
    assert.match((await c.nextOfType('NOTICE'))[1], /^unsupported: /);
    c.send(['NEG-MSG', 'x', '6100000200']);
    assert.match((await c.nextOfType('NOTICE'))[1], /^unsupported: /);
    c.send(['NEG-CLOSE', 'x']);
    // Sentinel: a round trip sent after the NEG-CLOSE; an answer to it would precede the round trip's.
    await c.roundTrip();
    assert.deepEqual(
      c.frames.filter((f) => f[0] !== 'AUTH'),
      [],
    );
  });
});
