/**
 * A strfry write-policy plugin on the relay's EVENT path (issue 11, first step): real plugin
 * processes (test/helpers/write-plugins.ts) asked about every EVENT after access control;
 * reject and errors answer OK false, shadowReject answers OK true without storing, the input
 * line says where the event came from and who authenticated, and a command that cannot run
 * stops start-up naming the variable.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { newKeys, rawAuth, sign } from '../helpers/nostr.js';
import { RawClient, startTestRelay, type TestRelay } from '../helpers/relay-harness.js';
import { spawnRelay } from '../helpers/relay-process.js';
import { CRASH_ON_THIRD, SCRIPTABLE, ScriptDir } from '../helpers/write-plugins.js';

const author = newKeys();

/** An event whose content tells the scriptable plugin what to answer. */
const asking = (spec: Record<string, unknown>) => sign(author, { content: JSON.stringify(spec) });

describe('write-policy plugin on the EVENT path', () => {
  let dir: ScriptDir;
  let t: TestRelay;
  let c: RawClient;

  before(async () => {
    dir = await ScriptDir.create();
    t = await startTestRelay({
      ORLY_WRITE_POLICY_PLUGIN: await dir.write('policy.js', SCRIPTABLE),
      ORLY_WRITE_POLICY_TIMEOUT: '500ms',
    });
    c = await RawClient.connect(t.url);
  });
  after(async () => {
    await c?.close();
    await t?.stop();
    await dir?.remove();
  });

  it('accept stores; reject answers OK false with the plugin message (blocked: when it has no prefix)', async () => {
    const ok = asking({ action: 'accept' });
    assert.deepEqual(await c.publish(ok), ['OK', ok.id, true, '']);
    assert.equal((await c.query('a', { ids: [ok.id] })).length, 1);
    const no = asking({ action: 'reject', msg: 'not here' });
    assert.deepEqual(await c.publish(no), ['OK', no.id, false, 'blocked: not here']);
    const prefixed = asking({ action: 'reject', msg: 'rate-limited: slow down' });
    assert.deepEqual(await c.publish(prefixed), ['OK', prefixed.id, false, 'rate-limited: slow down']);
    assert.equal((await c.query('b', { ids: [no.id, prefixed.id] })).length, 0);
  });

  it('shadowReject answers OK true and stores nothing', async () => {
    const shadow = asking({ action: 'shadowReject' });
    assert.equal((await c.publish(shadow))[2], true);
    assert.equal((await c.query('s', { ids: [shadow.id] })).length, 0);
  });

  it('the input line: sourceType IP4, sourceInfo the address, authed after NIP-42', async () => {
    const anon = await c.publish(asking({ action: 'reject', msg: 'ECHO' }));
    const line = JSON.parse(String(anon[3]).replace(/^blocked: /, '')) as Record<string, unknown>;
    assert.equal(line.type, 'new');
    assert.equal(line.sourceType, 'IP4');
    assert.equal(line.sourceInfo, '127.0.0.1');
    assert.equal(typeof line.receivedAt, 'number');
    assert.equal(line.authed, undefined);
    const authed = await RawClient.connect(t.url);
    try {
      const who = newKeys();
      assert.equal((await rawAuth(authed, who, t.url))[2], true);
      const echoed = await authed.publish(asking({ action: 'reject', msg: 'ECHO' }));
      assert.equal(JSON.parse(String(echoed[3]).replace(/^blocked: /, '')).authed, who.pk);
    } finally {
      await authed.close();
    }
  });

  it('a plugin that times out answers OK false error:, and the event is not stored', async () => {
    const hung = asking({ hang: true });
    const answer = await c.publish(hung);
    assert.equal(answer[2], false);
    assert.match(String(answer[3]), /^error: write-policy plugin/);
    assert.equal((await c.query('h', { ids: [hung.id] })).length, 0);
  });
});

describe('write-policy plugin that dies, or cannot start', () => {
  it('events while it is down get OK false error:, never OK true unstored', async () => {
    const dir = await ScriptDir.create();
    const t = await startTestRelay({ ORLY_WRITE_POLICY_PLUGIN: await dir.write('crash.js', CRASH_ON_THIRD) });
    const c = await RawClient.connect(t.url);
    try {
      const events = [1, 2, 3].map((i) => sign(author, { content: `n${i}` }));
      const answers = [];
      for (const e of events) answers.push(await c.publish(e));
      assert.deepEqual(
        answers.map((a) => a[2]),
        [true, true, false],
      );
      assert.match(String(answers[2]![3]), /^error: /);
      assert.equal((await c.query('x', { ids: [events[2]!.id] })).length, 0);
    } finally {
      await c.close();
      await t.stop();
      await dir.remove();
    }
  });

  it('a command that cannot run stops start-up (exit 2) naming ORLY_WRITE_POLICY_PLUGIN', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'orly-plugin-'));
    try {
      await assert.rejects(
        spawnRelay({ ORLY_DATA_DIR: dataDir, ORLY_WRITE_POLICY_PLUGIN: '/nonexistent/policy-plugin' }),
        /exited with 2[\s\S]*ORLY_WRITE_POLICY_PLUGIN/,
      );
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
