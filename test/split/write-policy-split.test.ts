/**
 * The write policy in split mode runs in orly-acl: two relays sharing one orly-acl see one policy
 * (an owner's kind-12345 update through one relay applies to the other, whose read copy follows
 * within ORLY_GRPC_ACL_REFRESH_SECONDS); while orly-acl is down EVENTs get OK false "error: …"
 * (fail closed, nothing stored); and a relay configured with a policy of its own whose orly-acl
 * runs none refuses to start, rather than silently not applying it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/logger.js';
import { loadRelayConfig } from '../../src/relay/config.js';
import { createRelay } from '../../src/relay/create-relay.js';
import type { Relay } from '../../src/relay/relay.js';
import { newKeys, nowSec, rawAuth, sign } from '../helpers/nostr.js';
import { RawClient, type SplitServices, startSplitServices } from '../helpers/relay-harness.js';
import { waitFor } from '../helpers/wait.js';
import { ScriptDir } from '../helpers/write-plugins.js';

const logger = createLogger('silent');
const owner = newKeys();
const someone = newKeys();

async function relayWith(relayEnv: Record<string, string>, extra: Record<string, string> = {}) {
  const env = {
    ORLY_LISTEN: '127.0.0.1',
    ORLY_PORT: '0',
    ORLY_LOG_LEVEL: 'silent',
    ORLY_VERIFY_WORKERS: '1',
    ORLY_GRPC_CONNECT_TIMEOUT: '5',
    ORLY_GRPC_ACL_REFRESH_SECONDS: '1',
    ...relayEnv,
    ...extra,
  };
  const relay = await createRelay(loadRelayConfig(env), logger, env);
  const port = await relay.start();
  return { relay, url: `ws://127.0.0.1:${port}` };
}

describe('write policy in orly-acl, two relays', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'orly-split-policy-'));
  let dir: ScriptDir;
  let split: SplitServices;
  let a: { relay: Relay; url: string };
  let b: { relay: Relay; url: string };

  before(async () => {
    dir = await ScriptDir.create();
    const policy = {
      owners: [owner.pk],
      default_policy: 'allow',
      rules: { '1': { content_limit: 50 }, '7': { read_allow: [owner.pk] } },
    };
    const path = await dir.write('policy.json', JSON.stringify(policy));
    split = await startSplitServices(
      { ORLY_POLICY_ENABLED: 'true', ORLY_POLICY_PATH: path },
      dataDir,
      logger,
    );
    a = await relayWith(split.relayEnv);
    b = await relayWith(split.relayEnv);
  });
  after(async () => {
    await a?.relay.stop();
    await b?.relay.stop();
    await split?.stop();
    await dir?.remove();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('one policy for both relays; an update through one applies to the other, reads included', async () => {
    const ca = await RawClient.connect(a.url);
    const cb = await RawClient.connect(b.url);
    try {
      const long = sign(someone, { content: 'z'.repeat(60) });
      assert.match((await cb.publish(long))[3], /^invalid: /);
      const reaction = sign(someone, { kind: 7, content: '+' });
      assert.equal((await ca.publish(reaction))[2], true);
      assert.equal((await cb.query('hidden', { kinds: [7] })).length, 0);

      const update = sign(owner, {
        kind: 12345,
        created_at: nowSec(),
        content: JSON.stringify({
          owners: [owner.pk],
          default_policy: 'allow',
          rules: { '1': { content_limit: 100 } },
        }),
      });
      assert.deepEqual(await ca.publish(update), ['OK', update.id, true, 'policy configuration updated']);
      // Writes are decided by orly-acl: at once on the other relay too.
      assert.equal((await cb.publish(sign(someone, { content: 'z'.repeat(60) })))[2], true);
      // Reads: relay b's copy follows within its refresh interval (1 s here).
      await waitFor(
        async () => (await cb.query(`r${Date.now()}`, { kinds: [7] })).length === 1,
        5000,
        'relay b to serve kind 7 under the new policy',
        200,
      );
    } finally {
      await ca.close();
      await cb.close();
    }
  });

  it('fails closed while orly-acl is down, and recovers', async () => {
    const c = await RawClient.connect(a.url);
    try {
      await split.acl.stop();
      const during = sign(someone, { content: 'while orly-acl is down' });
      const answer = await c.publish(during);
      assert.equal(answer[2], false);
      assert.match(answer[3], /^error: /);
      await split.restartAcl();
      await waitFor(
        async () => (await c.publish(sign(someone, { content: `after ${Date.now()}` })))[2] === true,
        10_000,
        'writes accepted again',
        200,
      );
      const o = await RawClient.connect(a.url);
      try {
        assert.equal((await rawAuth(o, owner, a.url))[2], true);
        assert.equal((await o.query('gone', { ids: [during.id] })).length, 0);
      } finally {
        await o.close();
      }
    } finally {
      await c.close();
    }
  });
});

describe('a split-mode relay with a policy of its own', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'orly-split-nopolicy-'));
  let split: SplitServices;
  before(async () => {
    split = await startSplitServices({}, dataDir, logger);
  });
  after(async () => {
    await split?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses to start when its orly-acl runs no write policy (it would silently not apply)', async () => {
    await assert.rejects(
      relayWith(split.relayEnv, { ORLY_WRITE_POLICY_PLUGIN: '/bin/cat' }),
      /ORLY_WRITE_POLICY_PLUGIN: .*runs in orly-acl/,
    );
  });
});
