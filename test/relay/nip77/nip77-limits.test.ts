/**
 * NIP-77 limits on a relay with tight settings: more matches than ORLY_NEGENTROPY_MAX_RECORDS
 * (strfry's blocked: NEG-ERR), the relay's frame size limit, ORLY_NEGENTROPY_MAX_SESSIONS per
 * connection, and idle sessions expiring after ORLY_SYNC_NEGENTROPY_SESSION_TIMEOUT.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NostrEvent } from '../../../src/protocol/event.js';
import { Clients } from '../../helpers/nostr.js';
import { type Frame, startTestRelay, type TestRelay } from '../../helpers/relay-harness.js';
import { idSet, negReply, now, publishAll, rawSync, signFast, writer } from './nip77-fixtures.js';

const clients = new Clients();

after(async () => {
  await clients.closeAll();
});

describe('limits (a relay with tight settings)', () => {
  let tight: TestRelay;
  const events: NostrEvent[] = [];

  before(async () => {
    tight = await startTestRelay({
      ORLY_NEGENTROPY_ENABLED: 'true',
      ORLY_NEGENTROPY_MAX_RECORDS: '300',
      ORLY_NEGENTROPY_MAX_SESSIONS: '2',
      ORLY_SYNC_NEGENTROPY_SESSION_TIMEOUT: '1s',
      ORLY_NEGENTROPY_FRAME_SIZE: '4096',
    });
    for (let i = 0; i < 320; i++)
      events.push(signFast(writer, { created_at: now - 100 - i, content: `t${i}` }));
    await publishAll(await clients.raw(tight.url), events);
  });

  after(async () => {
    await tight?.stop();
  });

  it("more matches than ORLY_NEGENTROPY_MAX_RECORDS: strfry's NEG-ERR with the cap as 4th element", async () => {
    const c = await clients.raw(tight.url);
    c.send(['NEG-OPEN', 'big', {}, '6100000200']);
    assert.deepEqual(await negReply(c, 'big'), ['NEG-ERR', 'big', 'blocked: too many query results', 300]);
    // With a limit below the cap the same filter works (the newest events), and so does a narrower filter.
    const r = await rawSync(c, 'ok', { limit: 25 }, []);
    assert.deepEqual(r.need, idSet(events.slice(0, 25)));
    const all = await rawSync(c, 'ok2', { since: now - 100 - 299 }, []);
    assert.equal(all.need.size, 300);
  });

  it('the relay frame limit (4096) is honoured and an empty client still gets every id', async () => {
    const c = await clients.raw(tight.url);
    const raw: string[] = [];
    c.ws.on('message', (d) => raw.push(d.toString()));
    const r = await rawSync(c, 'frames', { limit: 300 }, []);
    assert.deepEqual(r.need, idSet(events.slice(0, 300)));
    assert.ok(r.rounds >= 3, `${r.rounds} rounds: 300 ids do not fit one 4096-byte frame`);
    for (const frame of raw) {
      const f = JSON.parse(frame) as Frame;
      if (f[0] === 'NEG-MSG') assert.ok(f[2].length / 2 <= 4096);
    }
  });

  it('at most ORLY_NEGENTROPY_MAX_SESSIONS per connection; replacing an id does not count twice', async () => {
    const c = await clients.raw(tight.url);
    for (const id of ['a', 'b']) {
      c.send(['NEG-OPEN', id, { limit: 5 }, '6100000200']);
      assert.equal((await negReply(c, id))[0], 'NEG-MSG');
    }
    c.send(['NEG-OPEN', 'c', { limit: 5 }, '6100000200']);
    assert.match((await negReply(c, 'c'))[2], /^blocked: too many open negentropy sessions/);
    c.send(['NEG-OPEN', 'a', { limit: 5 }, '6100000200']);
    assert.equal((await negReply(c, 'a'))[0], 'NEG-MSG');
    c.send(['NEG-CLOSE', 'b']);
    c.send(['NEG-OPEN', 'c', { limit: 5 }, '6100000200']);
    assert.equal((await negReply(c, 'c'))[0], 'NEG-MSG');
    // Another connection has its own allowance.
    const other = await clients.raw(tight.url);
    other.send(['NEG-OPEN', 'a', { limit: 5 }, '6100000200']);
    assert.equal((await negReply(other, 'a'))[0], 'NEG-MSG');
  });

  it('idle sessions expire after ORLY_SYNC_NEGENTROPY_SESSION_TIMEOUT with NEG-ERR closed:', async () => {
    const c = await clients.raw(tight.url);
    c.send(['NEG-OPEN', 'idle', { limit: 5 }, '6100000200']);
    assert.equal((await negReply(c, 'idle'))[0], 'NEG-MSG');
    const expired = await negReply(c, 'idle', 3000);
    assert.equal(expired[0], 'NEG-ERR');
    assert.match(expired[2], /^closed: /);
    c.send(['NEG-MSG', 'idle', '6100000200']);
    assert.deepEqual(await negReply(c, 'idle'), ['NEG-ERR', 'idle', 'closed: unknown subscription handle']);
  });
});
