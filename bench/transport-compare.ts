/**
 * ws against uWebSockets.js, the same tiny server on each (bench/transport-compare-server.ts),
 * loaded by ws clients in another process (bench/transport-compare-client.ts):
 *
 * (a) RSS per idle connection: the server's RSS after a full GC with N idle connections open,
 *     less its RSS before them, over N;
 * (b) broadcast: the server's CPU seconds (all threads, /proc) to deliver R rounds of one 1 KB
 *     text frame to each of S subscribers, until the clients have them all;
 * (c) request/response: the server's CPU per small request answered with a small frame, C
 *     connections each sending its next request when the answer came.
 *
 * Not part of `npm test` or `npm run bench`. After `npm run build`:
 *   node dist/bench/transport-compare.js [--connections 10000] [--subscribers 1000] [--rounds 200]
 *     [--rpc-conns 100] [--rpc-per-conn 1000] [--only ws,uws]
 * The server needs an fd per connection: `ulimit -n` above --connections.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { installChildCleanup, trackChild, untrackChild } from './children.js';
import { machineInfo } from './machine.js';
import { BENCH_DIST_DIR, RESULTS_DIR } from './paths.js';
import { cpuSeconds, rssBytes } from './procfs.js';

interface Options {
  connections: number;
  subscribers: number;
  rounds: number;
  frameSize: number;
  rpcConns: number;
  rpcPerConn: number;
  transports: string[];
}

function parseOptions(argv: readonly string[]): Options {
  const value = (name: string, fallback: number): number => {
    const i = argv.indexOf(`--${name}`);
    const n = i < 0 ? fallback : Number(argv[i + 1]);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} needs a positive integer`);
    return n;
  };
  const only = argv.indexOf('--only');
  return {
    connections: value('connections', 10_000),
    subscribers: value('subscribers', 1000),
    rounds: value('rounds', 200),
    frameSize: value('frame-size', 1024),
    rpcConns: value('rpc-conns', 100),
    rpcPerConn: value('rpc-per-conn', 1000),
    transports: only < 0 ? ['ws', 'uws'] : (argv[only + 1] ?? '').split(','),
  };
}

/** A forked process spoken to over IPC: ask() sends a command and waits for the answer that has `key`. */
class Child {
  private readonly inbox: Record<string, unknown>[] = [];
  private wake: (() => void) | undefined;
  readonly proc: ChildProcess;

  constructor(script: string, args: string[], execArgv: string[] = []) {
    this.proc = fork(join(BENCH_DIST_DIR, script), args, {
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    trackChild(this.proc.pid, script);
    this.proc.on('message', (m: Record<string, unknown>) => {
      this.inbox.push(m);
      this.wake?.();
    });
    this.proc.on('exit', (code) => {
      untrackChild(this.proc.pid);
      this.inbox.push({ exited: code ?? -1 });
      this.wake?.();
    });
  }

  get pid(): number {
    return this.proc.pid!;
  }

  async ask(message: object | undefined, key: string, timeoutMs = 300_000): Promise<Record<string, unknown>> {
    if (message !== undefined) this.proc.send(message);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex((m) => key in m || 'exited' in m || 'error' in m);
      if (i >= 0) {
        const [m] = this.inbox.splice(i, 1);
        if (!(key in m!)) throw new Error(`waiting for ${key}: ${JSON.stringify(m)}`);
        return m!;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${key}`);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 1000).unref();
      });
      this.wake = undefined;
    }
  }

  stop(): void {
    this.proc.kill('SIGKILL');
  }
}

interface Result {
  transport: string;
  loaded: string;
  idleConnections: number;
  rssPerIdleConnectionBytes: number;
  heapPerIdleConnectionBytes: number;
  broadcastFrames: number;
  broadcastCpuSeconds: number;
  broadcastMicrosPerFrame: number;
  broadcastFramesPerSecond: number;
  rpcMessages: number;
  rpcCpuSeconds: number;
  rpcMicrosPerMessage: number;
  rpcMessagesPerSecond: number;
  dropped: number;
}

async function settledRss(server: Child): Promise<{ rss: number; heap: number }> {
  const { heapUsed } = await server.ask({ cmd: 'gc' }, 'heapUsed');
  await sleep(1000);
  return { rss: rssBytes(server.pid), heap: Number(heapUsed) };
}

async function waitForCount(server: Child, field: 'connections' | 'subscribers', n: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const counts = await server.ask({ cmd: 'count' }, 'connections');
    if (counts[field] === n) return;
    await sleep(100);
  }
  throw new Error(`the server never had ${n} ${field}`);
}

async function measure(transport: string, o: Options): Promise<Result> {
  const server = new Child('transport-compare-server.js', [transport], ['--expose-gc']);
  const { port, loaded } = await server.ask(undefined, 'port');
  const url = `ws://127.0.0.1:${port}/`;
  process.stdout.write(`${transport}: listening on ${port}, loaded ${loaded}\n`);

  // (a) idle connections
  let client = new Child('transport-compare-client.js', []);
  await client.ask(undefined, 'ready');
  await client.ask({ cmd: 'open', url, count: 10, subscribe: false }, 'opened');
  await client.ask({ cmd: 'close' }, 'closed');
  await waitForCount(server, 'connections', 0);
  const before = await settledRss(server);
  await client.ask({ cmd: 'open', url, count: o.connections, subscribe: false }, 'opened');
  await waitForCount(server, 'connections', o.connections);
  const after = await settledRss(server);
  process.stdout.write(
    `${transport}: ${o.connections} idle connections, RSS ${before.rss} -> ${after.rss}\n`,
  );
  client.stop();
  await waitForCount(server, 'connections', 0);

  // (b) broadcast
  client = new Child('transport-compare-client.js', []);
  await client.ask(undefined, 'ready');
  await client.ask({ cmd: 'open', url, count: o.subscribers, subscribe: true }, 'opened');
  await waitForCount(server, 'subscribers', o.subscribers);
  const frames = o.subscribers * o.rounds;
  client.proc.send({ cmd: 'expect', total: frames });
  let cpu0 = cpuSeconds(server.pid);
  let t0 = performance.now();
  const done = await server.ask({ cmd: 'broadcast', rounds: o.rounds, size: o.frameSize }, 'broadcastDone');
  await client.ask(undefined, 'received');
  const broadcastCpu = cpuSeconds(server.pid) - cpu0;
  const broadcastSeconds = (performance.now() - t0) / 1000;

  // (c) request/response on the same connections
  const messages = o.rpcConns * o.rpcPerConn;
  cpu0 = cpuSeconds(server.pid);
  t0 = performance.now();
  await client.ask(
    { cmd: 'rpc', conns: Math.min(o.rpcConns, o.subscribers), perConn: o.rpcPerConn },
    'rpcDone',
  );
  const rpcCpu = cpuSeconds(server.pid) - cpu0;
  const rpcSeconds = (performance.now() - t0) / 1000;
  client.stop();
  server.stop();
  return {
    transport,
    loaded: String(loaded),
    idleConnections: o.connections,
    rssPerIdleConnectionBytes: Math.round((after.rss - before.rss) / o.connections),
    heapPerIdleConnectionBytes: Math.round((after.heap - before.heap) / o.connections),
    broadcastFrames: frames,
    broadcastCpuSeconds: round(broadcastCpu, 2),
    broadcastMicrosPerFrame: round((broadcastCpu / frames) * 1e6, 2),
    broadcastFramesPerSecond: Math.round(frames / broadcastSeconds),
    rpcMessages: messages,
    rpcCpuSeconds: round(rpcCpu, 2),
    rpcMicrosPerMessage: round((rpcCpu / messages) * 1e6, 2),
    rpcMessagesPerSecond: Math.round(messages / rpcSeconds),
    dropped: Number(done.dropped ?? 0),
  };
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function table(results: readonly Result[]): string {
  const rows: [string, (r: Result) => string][] = [
    ['native binary', (r) => r.loaded],
    ['RSS per idle connection', (r) => `${(r.rssPerIdleConnectionBytes / 1024).toFixed(2)} KB`],
    ['JS heap per idle connection', (r) => `${(r.heapPerIdleConnectionBytes / 1024).toFixed(2)} KB`],
    ['broadcast: CPU per delivered 1 KB frame', (r) => `${r.broadcastMicrosPerFrame} µs`],
    ['broadcast: frames per second', (r) => String(r.broadcastFramesPerSecond)],
    ['request/response: CPU per message', (r) => `${r.rpcMicrosPerMessage} µs`],
    ['request/response: messages per second', (r) => String(r.rpcMessagesPerSecond)],
    ['frames dropped by the transport', (r) => String(r.dropped)],
  ];
  const lines = [
    `| | ${results.map((r) => r.transport).join(' | ')} |`,
    `| --- |${results.map(() => ' --- |').join('')}`,
  ];
  for (const [name, cell] of rows) lines.push(`| ${name} | ${results.map(cell).join(' | ')} |`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  installChildCleanup();
  const o = parseOptions(process.argv.slice(2));
  const results: Result[] = [];
  for (const transport of o.transports) results.push(await measure(transport, o));
  const info = {
    ...machineInfo([]),
    command: `node dist/bench/transport-compare.js ${process.argv.slice(2).join(' ')}`.trim(),
  };
  process.stdout.write(`\n${table(results)}\n\n${JSON.stringify({ options: o, machine: info }, null, 2)}\n`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `transport-compare-${info.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ machine: info, options: o, results }, null, 2)}\n`);
  process.stdout.write(`results written to ${file}\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`transport-compare: ${err.message}\n`);
  process.exit(1);
});
