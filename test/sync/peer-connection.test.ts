/**
 * The sync client's WebSocket (src/sync/peer.ts) against a real `ws` server on loopback that
 * floods it: frames nobody asked for yet stay within the queue's bound (the socket is paused,
 * the rest waits in the sender's buffer), and once the caller reads, every frame arrives, in
 * order, and reading resumes.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type WebSocket as ServerSocket, WebSocketServer } from 'ws';
import { MAX_QUEUED_BYTES, MAX_QUEUED_FRAMES, PeerConnection } from '../../src/sync/peer.js';
import { waitFor } from '../helpers/wait.js';

describe('PeerConnection: a peer flooding the connection', () => {
  let server: WebSocketServer;
  let url: string;
  let flood: (socket: ServerSocket) => number = () => 0;
  let sent = 0;
  let serverSocket: ServerSocket | undefined;

  before(async () => {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', resolve));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
    server.on('connection', (socket) => {
      serverSocket = socket;
      sent = flood(socket);
    });
  });

  after(async () => {
    for (const client of server.clients) client.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** Floods, waits for the pause, checks the bound, then reads everything back in order. */
  async function floodAndDrain(
    frames: number,
    payload: string,
    bound: (conn: PeerConnection) => void,
  ): Promise<void> {
    flood = (socket) => {
      for (let n = 0; n < frames; n++) socket.send(JSON.stringify(['EVENT', 'flood', { n, payload }]));
      return frames;
    };
    const conn = await PeerConnection.connect(url, 5000);
    try {
      await waitFor(
        () => conn.paused,
        10_000,
        () => `a pause (queued ${conn.queuedFrames})`,
      );
      bound(conn);
      assert.ok(
        (serverSocket?.bufferedAmount ?? 0) > 0,
        'the rest of the flood waits in the sender, not in our memory',
      );
      for (let n = 0; n < sent; n++) {
        const frame = await conn.receive(10_000);
        assert.equal(frame[2].n, n, 'every frame, in order');
        assert.ok(
          conn.queuedFrames <= MAX_QUEUED_FRAMES + 64,
          `bounded while draining (${conn.queuedFrames})`,
        );
      }
      assert.equal(conn.paused, false, 'reading resumed');
      assert.equal(conn.queuedFrames, 0);
    } finally {
      await conn.close();
    }
  }

  it('pauses at the frame bound and loses nothing', async () => {
    await floodAndDrain(40_000, 'x'.repeat(1000), (conn) => {
      assert.ok(conn.queuedFrames >= MAX_QUEUED_FRAMES, `paused at the bound (${conn.queuedFrames})`);
      // ws may still emit the frames already parsed from the socket read in progress
      assert.ok(conn.queuedFrames < MAX_QUEUED_FRAMES + 4096, `queued ${conn.queuedFrames}`);
    });
  });

  it('pauses at the byte bound (large frames) and loses nothing', async () => {
    const big = 'y'.repeat(1024 * 1024);
    await floodAndDrain(60, big, (conn) => {
      assert.ok(conn.queuedBytesCount >= MAX_QUEUED_BYTES, `paused at the bound (${conn.queuedBytesCount})`);
      assert.ok(
        conn.queuedBytesCount < MAX_QUEUED_BYTES + 2 * big.length + 1024,
        `queued ${conn.queuedBytesCount} bytes`,
      );
      assert.ok(conn.queuedFrames < 60);
    });
  });
});
