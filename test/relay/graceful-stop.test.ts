/**
 * relay.stop(): connected clients get a NOTICE and a 1001 close, new connections are refused,
 * and what was acknowledged with OK true is on disk when the relay starts again.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Reasons } from '../../src/errors.js';
import { Clients, newKeys, sign } from '../helpers/nostr.js';
import { RawClient, startTestRelay } from '../helpers/relay-harness.js';

const clients = new Clients();
const dataDir = mkdtempSync(join(tmpdir(), 'orly-stop-test-'));

after(async () => {
  await clients.closeAll();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('graceful stop', () => {
  it('sends NOTICE to connected clients, closes them, refuses new ones, and keeps acknowledged events', async () => {
    const t = await startTestRelay({ ORLY_DATA_DIR: dataDir });
    const keys = newKeys();
    const raw = await clients.raw(t.url);
    const tools = await clients.nostrTools(t.url);
    const toolsNotices: string[] = [];
    tools.onnotice = (msg) => toolsNotices.push(msg);
    const toolsClosed = new Promise<void>((resolve) => {
      tools.onclose = () => resolve();
    });
    const ev = sign(keys, { content: 'survives a restart' });
    assert.equal(await tools.publish(ev), '');
    assert.deepEqual(await raw.query('live', { authors: [keys.pk] }), [ev]);

    const rawClosed = new Promise<number>((resolve) => raw.ws.once('close', (code) => resolve(code)));
    await t.stop();
    assert.equal(await rawClosed, 1001);
    assert.deepEqual(
      raw.frames.filter((f) => f[0] === 'NOTICE'),
      [['NOTICE', Reasons.shutdownNotice]],
    );
    await toolsClosed;
    assert.deepEqual(toolsNotices, [Reasons.shutdownNotice]);
    await assert.rejects(RawClient.connect(t.url));
    // Stopping twice is harmless.
    await t.stop();

    const again = await startTestRelay({ ORLY_DATA_DIR: dataDir });
    try {
      const c = await clients.raw(again.url);
      assert.deepEqual(await c.query('after', { authors: [keys.pk] }), [ev]);
      const dup = await c.publish(ev);
      assert.equal(dup[2], true);
      assert.match(dup[3], /^duplicate: /);
    } finally {
      await again.stop();
    }
  });
});
