/**
 * The uWebSockets.js inbox's turns and its bound: messages read in one go are dispatched for at
 * most the turn's budget, the rest wait for later turns in order; a socket whose waiting
 * messages pass the bound is closed with 1008 and the reason, its backlog dropped.
 * (The socket here records what the inbox does to it; the relay suites run it under real uWS.)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type InboxSocket, UwsInbox } from '../../../src/relay/transport/uws-inbox.js';
import { waitFor } from '../../helpers/wait.js';

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

function socket(onMessage: (text: string) => void) {
  const closes: [number, string | undefined][] = [];
  const s: InboxSocket = {
    waiting: undefined,
    waitingBytes: 0,
    handlers: { message: (data) => onMessage(data.toString('utf8')) },
    socket: { close: (code, reason) => closes.push([code, reason]) },
  };
  return { s, closes };
}

const message = (i: number) => new TextEncoder().encode(`["REQ","s${i}",{}]`).buffer as ArrayBuffer;

describe('uWS inbox', () => {
  test('a burst read in one go is served over several turns, in order, all of it', async () => {
    const inbox = new UwsInbox(1_000_000);
    const got: string[] = [];
    const { s, closes } = socket((text) => {
      got.push(text);
      busy(2);
    });
    for (let i = 0; i < 40; i++) inbox.deliver(s, message(i), false);
    // 2 ms each against a 10 ms budget: a handful dispatched at once, the rest waiting.
    assert.ok(got.length > 0 && got.length < 40, `dispatched at once: ${got.length}`);
    assert.ok(s.waiting !== undefined && s.waiting.length === 40 - got.length);
    await waitFor(
      () => got.length === 40,
      5_000,
      () => `dispatched ${got.length}`,
    );
    assert.deepEqual(
      got,
      Array.from({ length: 40 }, (_, i) => `["REQ","s${i}",{}]`),
    );
    assert.equal(s.waiting, undefined);
    assert.equal(s.waitingBytes, 0);
    assert.deepEqual(closes, []);
  });

  test('past its bound of waiting bytes a socket is closed with 1008, and its backlog dropped', () => {
    const size = message(0).byteLength;
    const inbox = new UwsInbox(size * 5);
    let dispatched = 0;
    const { s, closes } = socket(() => {
      dispatched++;
      busy(12); // one message uses the whole budget
    });
    for (let i = 0; i < 20; i++) inbox.deliver(s, message(i), false);
    assert.equal(dispatched, 1);
    assert.deepEqual(closes[0], [1008, 'too many messages waiting to be read']);
    assert.equal(s.waitingBytes <= size * 5, true);
  });
});
