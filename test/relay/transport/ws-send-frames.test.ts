/**
 * WsClientSocket.sendFrames (text-frames.ts): a chunk of ready frames written to the TCP socket in
 * one go, between frames ws sends itself, over a real ws server and client on loopback: every
 * header size, a range of a chunk, the order kept, nothing sent once the socket is closing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { WsClientSocket } from '../../../src/relay/transport/ws-client-socket.js';

/** The texts back to back, with their end offsets. */
function chunk(texts: string[]): { data: Buffer; ends: number[] } {
  const parts = texts.map((t) => Buffer.from(t, 'utf8'));
  const ends: number[] = [];
  let at = 0;
  for (const part of parts) {
    at += part.length;
    ends.push(at);
  }
  return { data: Buffer.concat(parts), ends };
}

describe('WsClientSocket.sendFrames', () => {
  let server: WebSocketServer;
  let url: string;
  let serve: (socket: WsClientSocket) => void = () => {};

  before(async () => {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    server.on('connection', (ws) => serve(new WsClientSocket(ws)));
    await new Promise((resolve) => server.once('listening', resolve));
    url = `ws://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(() => new Promise((resolve) => server.close(resolve)));

  /** Connects, lets `serve` send, and collects `count` text messages. */
  async function receive(count: number, send: (socket: WsClientSocket) => void): Promise<string[]> {
    serve = send;
    const client = new WebSocket(url);
    const messages: string[] = [];
    await new Promise<void>((resolve, reject) => {
      client.on('message', (data: Buffer, isBinary: boolean) => {
        assert.equal(isBinary, false, 'text frames');
        messages.push(data.toString('utf8'));
        if (messages.length === count) resolve();
      });
      client.on('error', reject);
      client.on('close', () => resolve());
    });
    client.terminate();
    return messages;
  }

  it('frames of 7-bit, 16-bit and 64-bit lengths arrive whole and in order among ws frames', async () => {
    const texts = [0, 1, 125, 126, 127, 65_535, 65_536, 200_000].map((n, i) =>
      `${i}é`.padEnd(Math.max(3, n - 1), 'x'),
    );
    const { data, ends } = chunk(texts);
    const got = await receive(texts.length + 2, (socket) => {
      socket.cork();
      socket.send('first');
      socket.sendFrames(data, ends, 0, ends.length, 0);
      socket.send('last');
      socket.uncork();
    });
    assert.deepEqual(got, ['first', ...texts, 'last']);
  });

  it('a range of a chunk: from its start offset to the end of its last frame', async () => {
    const texts = ['["EVENT","s",{"a":1}]', '["EVENT","s",{"b":2}]', '["EVENT","s",{"c":3}]', 'tail'];
    const { data, ends } = chunk(texts);
    const got = await receive(3, (socket) => {
      socket.sendFrames(data, ends, 1, 3, ends[0]!);
      socket.sendFrames(data, ends, 3, 3, ends[2]!);
      socket.send('end');
    });
    assert.deepEqual(got, [texts[1], texts[2], 'end']);
  });

  it('nothing after the close handshake has started', async () => {
    const { data, ends } = chunk(['one', 'two']);
    const got = await receive(3, (socket) => {
      socket.send('before');
      socket.close(1000, 'bye');
      socket.sendFrames(data, ends, 0, 2, 0);
    });
    assert.deepEqual(got, ['before']);
  });
});
