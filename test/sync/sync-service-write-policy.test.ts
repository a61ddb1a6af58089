/**
 * orly-sync-negentropy's downloads under the write-policy plugin (issue 11): a real plugin
 * process asked about every event a peer sync brings, as sourceType Sync with the peer's URL;
 * what it refuses is counted as rejected and not stored.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { WritePolicyPlugin } from '../../src/acl/policy/write-plugin.js';
import { createLogger } from '../../src/logger.js';
import { LmdbEventStore } from '../../src/store/lmdb/lmdb-store.js';
import { NegentropySyncService } from '../../src/sync/negentropy-sync-service.js';
import { newKey, signedEvent } from '../helpers/events.js';
import { startTestRelay } from '../helpers/relay-harness.js';
import { testSyncConfig } from '../helpers/sync-config.js';
import { SCRIPTABLE, ScriptDir } from '../helpers/write-plugins.js';

test('a peer sync asks the plugin about every downloaded event (Sync, the peer URL)', async () => {
  const scripts = await ScriptDir.create();
  const dir = mkdtempSync(join(tmpdir(), 'orly-sync-policy-'));
  const peer = await startTestRelay({ ORLY_NEGENTROPY_ENABLED: 'true' });
  const store = LmdbEventStore.open(dir);
  const logger = createLogger('silent');
  const plugin = new WritePolicyPlugin({ command: await scripts.write('policy.js', SCRIPTABLE), logger });
  await plugin.start();
  // The service logs each refusal (at debug) with the plugin's message: ECHO returns the input line.
  const lines: { msg: string }[] = [];
  const serviceLog = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const service = new NegentropySyncService(store, testSyncConfig(), serviceLog, undefined, plugin);
  try {
    const key = newKey();
    const now = Math.floor(Date.now() / 1000);
    const kept = signedEvent(key, { created_at: now - 10, content: JSON.stringify({ action: 'accept' }) });
    const refused = signedEvent(key, {
      created_at: now - 9,
      content: JSON.stringify({ action: 'reject', msg: 'ECHO' }),
    });
    const shadowed = signedEvent(key, {
      created_at: now - 8,
      content: JSON.stringify({ action: 'shadowReject' }),
    });
    for (const e of [kept, refused, shadowed]) assert.equal((await peer.relay.store.save(e)).stored, true);
    const result = await service.run(
      peer.url,
      { filter: {}, dir: 'down', frameSizeLimit: 60_000, timeoutMs: 10_000 },
      'client',
    );
    assert.equal(result.download?.downloaded, 1);
    assert.equal(result.download?.rejected, 2);
    assert.ok(await store.getById(kept.id));
    assert.equal(await store.getById(refused.id), undefined);
    assert.equal(await store.getById(shadowed.id), undefined);
    const refusal = lines.map((l) => /refused: blocked: (\{.*\})$/.exec(l.msg)).find((m) => m !== null);
    assert.ok(refusal, JSON.stringify(lines));
    const line = JSON.parse(refusal[1]!) as { sourceType: string; sourceInfo: string };
    assert.equal(line.sourceType, 'Sync');
    assert.equal(line.sourceInfo, peer.url);
  } finally {
    await service.close();
    await plugin.stop();
    await store.close();
    await peer.stop();
    rmSync(dir, { recursive: true, force: true });
    await scripts.remove();
  }
});
