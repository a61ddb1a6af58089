/**
 * The real orly-sync-negentropy binary as a child process: config errors (exit 2), then over a
 * real orly-db: health, a SyncWithPeer, a clean exit on SIGTERM, and the single warning for the
 * ignored ORLY_SYNC_NEGENTROPY_ID_SIZE.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { credentials } from '@grpc/grpc-js';
import { HealthClient } from '../../../src/gen/grpc/health/v1/health.js';
import { NegentropyServiceClient } from '../../../src/gen/orlysync/negentropy/v1/negentropy.js';
import {
  assertSameIds,
  idsOf,
  makeEvents,
  runCli,
  SYNC_CLI,
  setOf,
  syncServiceForSuite,
  syncStream,
} from './service-fixtures.js';

describe('orly-sync-negentropy: the binary', () => {
  const service = syncServiceForSuite();

  it('the orly-sync-negentropy binary: config errors, health, SyncWithPeer, SIGTERM', async () => {
    const { db, negRelay } = service;
    const bad = await runCli(SYNC_CLI, [], { ORLY_SYNC_NEGENTROPY_DB_TYPE: 'badger' });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /ORLY_SYNC_NEGENTROPY_DB_TYPE/);
    const badInterval = await runCli(SYNC_CLI, [], { ORLY_SYNC_NEGENTROPY_INTERVAL: 'often' });
    assert.equal(badInterval.code, 2);
    assert.match(badInterval.stderr, /ORLY_SYNC_NEGENTROPY_INTERVAL/);
    const badIdSize = await runCli(SYNC_CLI, [], { ORLY_SYNC_NEGENTROPY_ID_SIZE: '33' });
    assert.equal(badIdSize.code, 2);
    assert.match(badIdSize.stderr, /ORLY_SYNC_NEGENTROPY_ID_SIZE/);

    const remote = makeEvents(30, 1006);
    const relay = await negRelay(remote);
    const child = spawn(process.execPath, [SYNC_CLI], {
      env: {
        ...process.env,
        ORLY_SYNC_NEGENTROPY_LISTEN: '127.0.0.1:0',
        ORLY_SYNC_NEGENTROPY_DB_SERVER: db.address,
        ORLY_SYNC_NEGENTROPY_LOG_LEVEL: 'info',
        ORLY_SYNC_NEGENTROPY_INTERVAL: '5m',
        // The seed's default; accepted, ignored, one warning at startup.
        ORLY_SYNC_NEGENTROPY_ID_SIZE: '16',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no grpc listening line:\n${out}`)), 15_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /"port":(\d+)[^\n]*"msg":"grpc listening"/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(Number(m[1]));
          }
        });
      });
      const health = new HealthClient(`127.0.0.1:${port}`, credentials.createInsecure());
      const answer = await new Promise<{ status: number }>((resolve, reject) =>
        health.check({ service: '' }, (err, res) => (err ? reject(err) : resolve(res))),
      );
      health.close();
      assert.equal(answer.status, 1); // SERVING
      const c = new NegentropyServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
      const last = (await syncStream(c, { peerUrl: relay.url, filterJson: '{"kinds":[1006]}' })).at(-1)!;
      c.close();
      assert.equal(last.complete, true, last.error);
      assert.equal(last.fetchedCount, 30);
      assertSameIds(await idsOf(db.store, 1006), setOf(remote));
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, out);
    const warnings = out.split('\n').filter((l) => l.includes('ORLY_SYNC_NEGENTROPY_ID_SIZE'));
    assert.equal(warnings.length, 1, out);
    assert.match(warnings[0]!, /"level":"warn"/);
    assert.match(warnings[0]!, /ORLY_SYNC_NEGENTROPY_ID_SIZE=16 is ignored: NIP-77 .*full 32-byte ids/);
  });
});
