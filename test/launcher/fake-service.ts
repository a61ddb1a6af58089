/**
 * Test support for the launcher suites: a configurable fake service (a Node script written to a
 * temp dir) and small process helpers. The fake is driven by FAKE_* variables:
 *   FAKE_NAME            name written to the events file
 *   FAKE_EVENTS          file receiving one JSON line per start / term / crash (with pid, time)
 *   FAKE_KIND            "http" (GET /health = 200 on ORLY_PORT or FAKE_PORT) or "grpc" (a real
 *                        GrpcServer with grpc.health on the address in env[FAKE_LISTEN_VAR])
 *   FAKE_NO_LISTEN       never becomes ready
 *   FAKE_EXIT_AT_START   exit at once with this code
 *   FAKE_CRASH_RUNS      the first N runs (counted in FAKE_EVENTS) exit 1 FAKE_CRASH_AFTER_MS after
 *                        the first /health request (run 1 of an http fake) or after starting
 *   FAKE_IGNORE_TERM     ignore SIGTERM
 *   FAKE_TERM_DELAY_MS   delay between SIGTERM and exit (default 0)
 *   FAKE_ENV_DUMP        file receiving the process environment as JSON
 * It prints one JSON log line on stdout and one plain line on stderr.
 */
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

const SERVER_URL = new URL('../../src/grpc/server.js', import.meta.url).href;
const LOGGER_URL = new URL('../../src/logger.js', import.meta.url).href;

const SCRIPT = `
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
const env = process.env;
const name = env.FAKE_NAME ?? 'fake';
const record = (what) => {
  if (env.FAKE_EVENTS) appendFileSync(env.FAKE_EVENTS, JSON.stringify({ name, what, t: Date.now(), pid: process.pid }) + '\\n');
};
const runs = env.FAKE_EVENTS && existsSync(env.FAKE_EVENTS)
  ? readFileSync(env.FAKE_EVENTS, 'utf8').split('\\n').filter((l) => l.includes('"name":' + JSON.stringify(name)) && l.includes('"what":"start"')).length + 1
  : 1;
record('start');
if (env.FAKE_ENV_DUMP) writeFileSync(env.FAKE_ENV_DUMP, JSON.stringify(env));
console.log(JSON.stringify({ level: 'info', msg: 'fake up', name, run: runs }));
console.error('plain stderr line from ' + name);
if (env.FAKE_EXIT_AT_START) process.exit(Number(env.FAKE_EXIT_AT_START));
// A crashing run crashes FAKE_CRASH_AFTER_MS after it was first probed (the first run: the
// launcher only supervises ready services) or after it started (restarts are not probed).
let crashArmed = false;
const armCrash = () => {
  if (crashArmed || runs > Number(env.FAKE_CRASH_RUNS ?? 0)) return;
  crashArmed = true;
  setTimeout(() => { record('crash'); process.exit(1); }, Number(env.FAKE_CRASH_AFTER_MS ?? 100));
};
if (runs > 1 || (env.FAKE_KIND ?? 'http') !== 'http') armCrash();
process.on('SIGTERM', () => {
  record('term');
  if (env.FAKE_IGNORE_TERM) return;
  setTimeout(() => { record('exit'); process.exit(0); }, Number(env.FAKE_TERM_DELAY_MS ?? 0));
});
if (env.FAKE_NO_LISTEN) {
  setInterval(() => {}, 1000);
} else if ((env.FAKE_KIND ?? 'http') === 'http') {
  http.createServer((req, res) => { res.statusCode = req.url === '/health' ? 200 : 404; res.end('ok'); armCrash(); })
    .listen(Number(env.ORLY_PORT ?? env.FAKE_PORT), '127.0.0.1');
} else {
  const { GrpcServer } = await import(${JSON.stringify(SERVER_URL)});
  const { createLogger } = await import(${JSON.stringify(LOGGER_URL)});
  const server = new GrpcServer({
    name, listen: env[env.FAKE_LISTEN_VAR], security: { token: env.ORLY_GRPC_TOKEN }, services: [],
    logger: createLogger('silent'), isServing: () => true,
  });
  await server.start();
}
`;

/** Writes the fake service script into `dir`; returns its path (a .mjs run with Node). */
export function writeFakeService(dir: string): string {
  const path = join(dir, 'fake-service.mjs');
  writeFileSync(path, SCRIPT);
  return path;
}

export interface FakeEvent {
  readonly name: string;
  readonly what: 'start' | 'term' | 'crash' | 'exit';
  readonly t: number;
  readonly pid: number;
}

export function readEvents(file: string): FakeEvent[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as FakeEvent);
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export { waitFor } from '../helpers/wait.js';
