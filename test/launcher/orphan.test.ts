/**
 * A SIGKILLed orly-launcher leaves no orphans: the real launcher starts the real orly-db and
 * relay; after `kill -9` of the launcher, both children notice their parent is gone
 * (ORLY_LAUNCHER_PID) and stop by themselves within a few seconds.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { freePort, isAlive, waitFor } from './fake-service.js';
import { LauncherProcess } from './launcher-process.js';

const dataDir = mkdtempSync(join(tmpdir(), 'orly-launcher-orphan-'));
let launcher: LauncherProcess | undefined;

after(async () => {
  await launcher?.cleanup();
  rmSync(dataDir, { recursive: true, force: true });
});

test('children stop by themselves when the launcher is SIGKILLed', { timeout: 60_000 }, async () => {
  launcher = await LauncherProcess.start(
    {
      ORLY_DATA_DIR: dataDir,
      ORLY_LAUNCHER_DB_LISTEN: `127.0.0.1:${await freePort()}`,
      ORLY_LISTEN: '127.0.0.1',
      ORLY_PORT: String(await freePort()),
      ORLY_VERIFY_WORKERS: '1',
      ORLY_LOG_LEVEL: 'info',
    },
    45_000,
  );
  const pids = launcher.started().map((s) => s.pid);
  assert.equal(pids.length, 2, 'orly-db and the relay');
  for (const pid of pids) assert.ok(isAlive(pid));

  launcher.child.kill('SIGKILL');
  await waitFor(() => pids.every((pid) => !isAlive(pid)), 15_000, 'orphaned children stopping');
});
