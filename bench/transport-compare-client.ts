/**
 * The client side of bench/transport-compare.ts, a process of its own so that its memory and CPU
 * are not the server's: ws clients on loopback, driven over IPC. Opens many connections (some of
 * which subscribe), counts the frames they receive, and runs request/response loops.
 */
import WebSocket from 'ws';

type Command =
  | { cmd: 'open'; url: string; count: number; subscribe: boolean }
  | { cmd: 'expect'; total: number }
  | { cmd: 'rpc'; conns: number; perConn: number }
  | { cmd: 'close' };

const sockets: WebSocket[] = [];
/** Per socket: who waits for its next frame (request/response). */
const waiting = new Map<WebSocket, () => void>();
let received = 0;
let expected = Number.POSITIVE_INFINITY;

function reply(message: object): void {
  process.send?.(message);
}

function countFrame(): void {
  received++;
  if (received >= expected) {
    expected = Number.POSITIVE_INFINITY;
    reply({ received });
  }
}

function openOne(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.on('message', () => {
      const next = waiting.get(ws);
      if (next !== undefined) {
        waiting.delete(ws);
        next();
      } else countFrame();
    });
  });
}

async function open(url: string, count: number, subscribe: boolean): Promise<void> {
  const batch = 250;
  for (let i = 0; i < count; i += batch) {
    const opened = await Promise.all(Array.from({ length: Math.min(batch, count - i) }, () => openOne(url)));
    for (const ws of opened) {
      if (subscribe) ws.send('sub');
      sockets.push(ws);
    }
  }
}

async function rpc(conns: number, perConn: number): Promise<void> {
  const request = '["REQ","rpc",{"kinds":[1],"limit":0}]';
  await Promise.all(
    sockets.slice(0, conns).map(async (ws) => {
      for (let i = 0; i < perConn; i++)
        await new Promise<void>((resolve) => {
          waiting.set(ws, resolve);
          ws.send(request);
        });
    }),
  );
}

process.on('message', (message: Command) => {
  switch (message.cmd) {
    case 'open':
      void open(message.url, message.count, message.subscribe).then(
        () => reply({ opened: sockets.length }),
        (err: Error) => reply({ error: err.message }),
      );
      return;
    case 'expect':
      received = 0;
      expected = message.total;
      return;
    case 'rpc': {
      const started = performance.now();
      void rpc(message.conns, message.perConn).then(() =>
        reply({ rpcDone: true, ms: performance.now() - started }),
      );
      return;
    }
    case 'close':
      for (const ws of sockets) ws.terminate();
      sockets.length = 0;
      reply({ closed: true });
      return;
  }
});
reply({ ready: true });
