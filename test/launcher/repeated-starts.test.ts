/**
 * Reliable starts: the real orly-launcher runs the full stack (orly-db, orly-sync-negentropy,
 * orly) TEN times in a row on default-style ports (orly-db on <base>51, orly-sync-negentropy on
 * <base>64, in Linux's ephemeral range like the defaults 50051/50064), with no configuration
 * beyond addresses (the launcher generates the token), on one data directory. Every launch must
 * become ready and stop cleanly (exit 0, every child gone, no EADDRINUSE anywhere).
 *
 * Before the readiness probes were made unable to take a port (src/launcher/probe-socket.ts), a
 * probe could connect to the not-yet-bound sync port from that same port (TCP simultaneous
 * open): its TIME_WAIT then kept the service from binding for a minute, failing 2 of 3 starts.
 * Ten launches take about 30 s here.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { freePort, isAlive } from './fake-service.js';
import { LauncherProcess } from './launcher-process.js';

const LAUNCHES = 10;
const dataDir = mkdtempSync(join(tmpdir(), 'orly-launcher-starts-'));
let current: LauncherProcess | undefined;

after(async () => {
  await current?.cleanup();
  rmSync(dataDir, { recursive: true, force: true });
});

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A base such that base+51 and base+64 are free, within the ephemeral range (32768-60999). */
async function defaultStyleBase(): Promise<number> {
  for (;;) {
    const base = 33_000 + 100 * Math.floor(Math.random() * 270);
    if ((await bindable(base + 51)) && (await bindable(base + 64))) return base;
  }
}

test(`${LAUNCHES} launches of the full stack in a row, each ready and stopped cleanly`, {
  timeout: 150_000,
}, async () => {
  const base = await defaultStyleBase();
  const env = {
    ORLY_DATA_DIR: dataDir,
    ORLY_LAUNCHER_DB_LISTEN: `127.0.0.1:${base + 51}`,
    ORLY_LAUNCHER_SYNC_NEGENTROPY_ENABLED: 'true',
    ORLY_LAUNCHER_SYNC_NEGENTROPY_LISTEN: `127.0.0.1:${base + 64}`,
    ORLY_LISTEN: '127.0.0.1',
    ORLY_PORT: String(await freePort()),
    ORLY_GRPC_TOKEN: '',
    ORLY_VERIFY_WORKERS: '1',
    ORLY_QUERY_WORKERS: '0',
    ORLY_LOG_LEVEL: 'info',
  };
  const started = Date.now();
  for (let i = 1; i <= LAUNCHES; i++) {
    current = await LauncherProcess.start(env, 45_000);
    const launcher = current;
    const services = launcher.started();
    assert.deepEqual(
      services.map((s) => s.child).sort(),
      ['orly', 'orly-db', 'orly-sync-negentropy'],
      `launch ${i}`,
    );
    const code = await launcher.stop();
    const out = launcher.output;
    assert.equal(code, 0, `launch ${i}: exit code; output tail:\n${out.slice(-3000)}`);
    assert.doesNotMatch(out, /EADDRINUSE/, `launch ${i}`);
    assert.match(out, /generated a random token for this launch/);
    for (const { child, pid } of services) assert.equal(isAlive(pid), false, `launch ${i}: ${child} is gone`);
    current = undefined;
  }
  const seconds = (Date.now() - started) / 1000;
  assert.ok(seconds < 120, `${LAUNCHES} launches took ${seconds.toFixed(1)} s`);
});
