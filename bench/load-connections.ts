/**
 * Connection load for the memory scenario: opens N WebSocket connections (bounded handshake
 * concurrency), each sending one REQ {"kinds":[1],"authors":[random],"limit":10} and waiting
 * for its EOSE, then holds them all open and idle while the orchestrator reads the relay's
 * RSS; on "go" it closes them and reports.
 *
 * Args: url, connections, concurrency, seed.
 */
import { ready, runLoadMain } from './load-protocol.js';
import { Rng } from './rng.js';
import { roundSummary, Samples } from './stats.js';
import { closeAll, connectMany, Verb, verbOf, waitForFrame } from './ws-client.js';

interface ConnectionsArgs {
  url: string;
  connections: number;
  concurrency: number;
  seed: number;
  hardTimeoutSec: number;
}

function randomHex64(rng: Rng): string {
  let hex = '';
  for (let i = 0; i < 8; i++)
    hex += Math.floor(rng.next() * 0x100000000)
      .toString(16)
      .padStart(8, '0');
  return hex;
}

runLoadMain<ConnectionsArgs>(async (args) => {
  const rng = new Rng(args.seed);
  const reqLatency = new Samples(args.connections);
  let refused = 0;
  let closedWhileIdle = 0;
  let idle = false;
  const started = performance.now();
  const { sockets, errors } = await connectMany(args.url, args.connections, args.concurrency, async (ws) => {
    const eose = waitForFrame(ws, (f) => verbOf(f) === Verb.Eose || verbOf(f) === Verb.Closed, 30_000);
    const sentAt = performance.now();
    ws.send(`["REQ","m",{"kinds":[1],"authors":["${randomHex64(rng)}"],"limit":10}]`);
    const frame = await eose;
    if (verbOf(frame) === Verb.Closed) refused++;
    else reqLatency.push(performance.now() - sentAt);
    ws.on('close', () => {
      if (idle) closedWhileIdle++;
    });
  });
  const openSeconds = (performance.now() - started) / 1000;
  const errorCounts: Record<string, number> = {};
  for (const e of errors) errorCounts[e.slice(0, 100)] = (errorCounts[e.slice(0, 100)] ?? 0) + 1;
  idle = true;
  await ready({ connected: sockets.length, failed: errors.length, openSeconds });
  idle = false;
  const stillOpen = sockets.filter((ws) => ws.readyState === ws.OPEN).length;
  closeAll(sockets);
  return {
    requested: args.connections,
    connected: sockets.length,
    failed: errors.length,
    errors: errorCounts,
    refused,
    closedWhileIdle,
    stillOpen,
    openSeconds,
    connectionsPerSec: sockets.length / openSeconds,
    reqLatencyMs: roundSummary(reqLatency.summary()),
  };
});
