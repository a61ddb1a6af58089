/**
 * The server side of bench/transport-compare.ts: the same tiny WebSocket server written on ws
 * (node's http server and a noServer WebSocketServer, configured as the relay configures it) and
 * on uWebSockets.js, driven over IPC by its parent. Run as
 * `node --expose-gc dist/bench/transport-compare-server.js ws|uws`.
 *
 * Per connection it keeps what a relay keeps at the least: a small state object. A text frame
 * `sub` makes the connection a subscriber; any other frame is a request answered with one small
 * frame. The parent asks for broadcasts (the same 1 KB text frame to every subscriber, one frame
 * per subscriber per tick, sends of a tick corked as the relay corks them), garbage collections
 * and counts; it reads this process's RSS and CPU time from /proc itself.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { WebSocketServer, type WebSocket as WsSocket } from 'ws';
import { loadUws } from '../src/relay/transport/uws-native.js';

type Command =
  | { cmd: 'count' }
  | { cmd: 'gc' }
  | { cmd: 'broadcast'; rounds: number; size: number }
  | { cmd: 'stop' };

interface Peer {
  subscribed: boolean;
  send(frame: string): void;
  cork(fn: () => void): void;
  bufferedAmount(): number;
}

const peers = new Set<Peer>();
/** Sends uWebSockets.js dropped (over its maxBackpressure): must stay 0 for a fair count. */
let dropped = 0;

function reply(message: object): void {
  process.send?.(message);
}

function onMessage(peer: Peer, text: string): void {
  if (text === 'sub') peer.subscribed = true;
  else peer.send(`["EOSE",${JSON.stringify(text.slice(0, 32))}]`);
}

function startWs(): Promise<number> {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false });
  const http: Server = createServer((_req, res) => res.end());
  http.on('connection', (socket) => socket.setNoDelay(true));
  http.on('upgrade', (req, socket, head) =>
    wss.handleUpgrade(req, socket, head, (ws: WsSocket) => {
      const raw = (ws as unknown as { _socket: { cork(): void; uncork(): void } })._socket;
      const peer: Peer = {
        subscribed: false,
        send: (frame) => ws.send(frame),
        cork: (fn) => {
          raw.cork();
          fn();
          raw.uncork();
        },
        bufferedAmount: () => ws.bufferedAmount,
      };
      peers.add(peer);
      ws.on('message', (data: Buffer) => onMessage(peer, data.toString()));
      ws.on('close', () => peers.delete(peer));
    }),
  );
  return new Promise((resolve) =>
    http.listen(0, '127.0.0.1', () => resolve((http.address() as AddressInfo).port)),
  );
}

interface UwsData {
  peer?: Peer;
}

function startUws(): Promise<number> {
  const load = loadUws();
  if (!load.ok) throw new Error(`uWebSockets.js did not load (${load.binary}): ${load.error}`);
  const { uws } = load;
  return new Promise((resolve, reject) => {
    uws
      .App()
      .ws<UwsData>('/*', {
        compression: uws.DISABLED,
        maxPayloadLength: 2 * 1024 * 1024,
        maxBackpressure: 64 * 1024 * 1024,
        idleTimeout: 0,
        open: (ws) => {
          const peer: Peer = {
            subscribed: false,
            send: (frame) => {
              if (ws.send(frame, false) === 2) dropped++;
            },
            cork: (fn) => {
              ws.cork(fn);
            },
            bufferedAmount: () => ws.getBufferedAmount(),
          };
          ws.getUserData().peer = peer;
          peers.add(peer);
        },
        message: (ws, message) => {
          const peer = ws.getUserData().peer;
          if (peer !== undefined) onMessage(peer, Buffer.from(message).toString());
        },
        close: (ws) => {
          const peer = ws.getUserData().peer;
          if (peer !== undefined) peers.delete(peer);
        },
      })
      .any('/*', (res) => {
        res.end();
      })
      .listen('127.0.0.1', 0, (listenSocket) => {
        if (listenSocket === false) reject(new Error('uWebSockets.js could not listen'));
        else resolve(uws.us_socket_local_port(listenSocket));
      });
  });
}

/** Rounds of one frame per subscriber per tick; waits while much is still queued (the relay's pace). */
async function broadcast(rounds: number, size: number): Promise<void> {
  const frame = `["EVENT","live",{"content":"${'x'.repeat(Math.max(0, size - 30))}"}]`;
  const subscribers = [...peers].filter((p) => p.subscribed);
  for (let r = 0; r < rounds; r++) {
    for (const peer of subscribers) peer.cork(() => peer.send(frame));
    await nextMacrotask();
    while (subscribers.some((p) => p.bufferedAmount() > 256 * 1024)) await nextMacrotask();
  }
}

async function main(): Promise<void> {
  const transport = process.argv[2];
  if (transport !== 'ws' && transport !== 'uws') throw new Error('usage: transport-compare-server ws|uws');
  const port = transport === 'ws' ? await startWs() : await startUws();
  const loaded = transport === 'uws' ? loadUws().binary : 'ws';
  process.on('message', (message: Command) => {
    switch (message.cmd) {
      case 'count':
        reply({
          connections: peers.size,
          subscribers: [...peers].filter((p) => p.subscribed).length,
          dropped,
        });
        return;
      case 'gc':
        globalThis.gc?.();
        globalThis.gc?.();
        reply({ heapUsed: process.memoryUsage().heapUsed });
        return;
      case 'broadcast':
        void broadcast(message.rounds, message.size).then(() => reply({ broadcastDone: true, dropped }));
        return;
      case 'stop':
        process.exit(0);
    }
  });
  reply({ port, loaded });
}

main().catch((err: Error) => {
  process.stderr.write(`transport-compare-server: ${err.message}\n`);
  process.exit(1);
});
