/**
 * A client that stops reading must not make the relay buffer without bound: once more than
 * ORLY_MAX_OUTBOUND_BUFFER bytes are queued for it, the relay closes that connection (with a
 * NOTICE when it can), while every other client keeps being served.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Reasons } from '../../src/errors.js';
import type { Connection } from '../../src/relay/connection.js';
import { Clients, challengeOf, newKeys, sign } from '../helpers/nostr.js';
import { type RawClient, startTestRelay, type TestRelay } from '../helpers/relay-harness.js';
import { waitFor } from '../helpers/wait.js';

let t: TestRelay;
const clients = new Clients();

before(async () => {
  t = await startTestRelay({ ORLY_MAX_OUTBOUND_BUFFER: '65536' });
});

after(async () => {
  await clients.closeAll();
  await t.stop();
});

function tcpSocket(c: RawClient): Socket {
  return (c.ws as unknown as { _socket: Socket })._socket;
}

/** The relay-side Connection of a raw client, found by the AUTH challenge it was sent. */
async function serverSide(c: RawClient): Promise<Connection> {
  const challenge = await challengeOf(c);
  const conn = [...t.relay.connections].find((x) => x.challenge === challenge);
  assert.ok(conn, 'relay-side connection not found');
  return conn;
}

describe('slow reader', () => {
  it('is disconnected once its outbound buffer exceeds the limit; other clients are unaffected', async () => {
    const keys = newKeys();
    const slow = await clients.raw(t.url);
    assert.deepEqual(await slow.query('flood', { authors: [keys.pk] }), []);
    const slowConn = await serverSide(slow);

    // A fast subscriber that reads everything (frames counted, not kept).
    const fast = await clients.raw(t.url);
    assert.deepEqual(await fast.query('flood', { authors: [keys.pk] }), []);
    let fastReceived = 0;
    fast.ws.on('message', () => {
      fastReceived++;
      fast.frames.length = 0;
    });

    tcpSocket(slow).pause();
    const pub = await clients.raw(t.url);
    const payload = 'x'.repeat(100_000);
    let published = 0;
    while (!slowConn.closed && published < 600) {
      const batch = Array.from({ length: 10 }, (_, i) =>
        sign(keys, { kind: 20001, content: `${published + i} ${payload}` }),
      );
      const oks = await Promise.all(batch.map((ev) => pub.publish(ev)));
      for (const ok of oks) assert.equal(ok[2], true);
      published += batch.length;
    }
    assert.ok(slowConn.closed, `slow reader still connected after ${published} events of 100 kB`);
    // Its queue is bounded: nothing more is written to it after the limit is crossed.
    const queued = slowConn.socket.bufferedAmount;
    await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        pub.publish(sign(keys, { kind: 20001, content: `after ${i} ${payload}` })),
      ),
    );
    published += 5;
    assert.ok(slowConn.socket.bufferedAmount <= queued, 'bytes kept being queued for a closed connection');

    // The relay stays healthy: the fast subscriber got everything, publishing and querying work.
    await waitFor(
      () => fastReceived >= published,
      10_000,
      () => `${published} frames (${fastReceived})`,
    );
    assert.equal(fastReceived, published);
    const note = sign(newKeys(), { content: 'still serving' });
    assert.deepEqual(await pub.publish(note), ['OK', note.id, true, '']);
    assert.deepEqual(await pub.query('check', { ids: [note.id] }), [note]);
    const health = await fetch(`${t.httpUrl}/health`, { headers: { Connection: 'close' } });
    assert.equal(health.status, 200);

    // When the slow client finally reads, it finds the connection closed (NOTICE first, if any).
    const closed = new Promise<number>((resolve) => {
      if (slow.closed) resolve(slow.closeCode ?? 0);
      else slow.ws.once('close', (code) => resolve(code));
    });
    tcpSocket(slow).resume();
    const code = await closed;
    const notices = slow.frames.filter((f) => f[0] === 'NOTICE');
    if (code === 1008) assert.deepEqual(notices, [['NOTICE', Reasons.slowReader]]);
    else assert.equal(code, 1006, `unexpected close code ${code}`);
    await waitFor(() => !t.relay.connections.has(slowConn), 5000, 'the relay to forget the connection');
  });
});
