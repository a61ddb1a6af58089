/**
 * A SIGKILLed orly-launcher leaves no orphans: the real launcher starts the real orly-db and
 * relay; after `kill -9` of the launcher, both children notice their parent is gone
 * (ORLY_LAUNCHER_PID) and stop by themselves within a few seconds.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort, isAlive, waitFor } from './fake-service.js';

const LAUNCHER = fileURLToPath(new URL('../../src/cli/orly-launcher.js', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'orly-launcher-orphan-'));
let launcher: ChildProcess | undefined;
let pids: number[] = [];

after(() => {
  if (launcher?.pid !== undefined && isAlive(launcher.pid)) launcher.kill('SIGKILL');
  for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

test('children stop by themselves when the launcher is SIGKILLed', { timeout: 60_000 }, async () => {
  launcher = spawn(process.execPath, [LAUNCHER], {
    env: {
      ...process.env,
      ORLY_DATA_DIR: dataDir,
      ORLY_LAUNCHER_DB_LISTEN: `127.0.0.1:${await freePort()}`,
      ORLY_LISTEN: '127.0.0.1',
      ORLY_PORT: String(await freePort()),
      ORLY_VERIFY_WORKERS: '1',
      ORLY_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  launcher.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  launcher.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  await waitFor(
    () => out.includes('"msg":"all services ready"') || launcher!.exitCode !== null,
    45_000,
    'all services ready',
  );
  assert.ok(out.includes('"msg":"all services ready"'), `launcher failed:\n${out.slice(-4000)}`);
  pids = out
    .split('\n')
    .filter((line) => line.includes('"msg":"service started"'))
    .map((line) => (JSON.parse(line) as { pid: number }).pid);
  assert.equal(pids.length, 2, 'orly-db and the relay');
  for (const pid of pids) assert.ok(isAlive(pid));

  launcher.kill('SIGKILL');
  await waitFor(() => pids.every((pid) => !isAlive(pid)), 15_000, 'orphaned children stopping');
});
