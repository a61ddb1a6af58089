/**
 * The real `orly-acl` CLI as a child process against a real `orly-db` child process (token
 * required on both): follows mode learns a new admin kind 3 through orly-db's change feed,
 * managed mode keeps a ban made over Manage across a restart of orly-acl (its state is in
 * orly-db), SIGTERM exits 0, and an unimplemented ORLY_ACL_MODE is a start-up error naming the
 * variable.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Requester } from '../../../src/acl/access-control.js';
import { FOLLOWS_DENIED } from '../../../src/acl/follows-access-control.js';
import { GrpcAccessControl } from '../../../src/acl/grpc-access-control.js';
import { GrpcEventStore } from '../../../src/store/grpc/grpc-event-store.js';
import { newKey, signedEvent } from '../../helpers/events.js';

const cli = (name: string) => fileURLToPath(new URL(`../../../src/cli/${name}.js`, import.meta.url));
const TOKEN = 'orly-acl-process-token-0123456789';
const security = { token: TOKEN };
const anon: Requester = { authed: new Set(), ip: '127.0.0.1' };
const dataDir = mkdtempSync(join(tmpdir(), 'orly-acl-proc-'));
const children: ChildProcess[] = [];

after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

interface Service {
  readonly child: ChildProcess;
  readonly port: number;
  output(): string;
}

/** Spawns a service CLI and resolves with the port of its "grpc listening" log line. */
async function spawnService(name: string, env: Record<string, string>): Promise<Service> {
  const child = spawn(process.execPath, [cli(name)], {
    env: { ...process.env, ORLY_GRPC_TOKEN: TOKEN, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not listen in time:\n${out}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"port":(\d+)[^\n]*"msg":"grpc listening"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before listening:\n${out}`));
    });
  });
  return { child, port, output: () => out };
}

async function terminate(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  return code;
}

test('orly-acl (follows) over a real orly-db: a new admin kind 3 arrives through the change feed', async () => {
  const admin = newKey();
  const alice = newKey();
  const db = await spawnService('orly-db', { ORLY_DB_LISTEN: '127.0.0.1:0', ORLY_DATA_DIR: dataDir });
  const acl = await spawnService('orly-acl', {
    ORLY_ACL_LISTEN: '127.0.0.1:0',
    ORLY_ACL_GRPC_DB_SERVER: `127.0.0.1:${db.port}`,
    ORLY_ADMINS: admin.pubkey,
    ORLY_ACL_RELOAD_INTERVAL: '0',
  });
  assert.match(acl.output(), /"service":"orly-acl"/);
  const client = await GrpcAccessControl.connect(`127.0.0.1:${acl.port}`, { security });
  const store = await GrpcEventStore.connect(`127.0.0.1:${db.port}`, { security });
  try {
    assert.equal(client.mode, 'follows');
    assert.equal(await client.checkEvent(signedEvent(alice), anon), FOLLOWS_DENIED);
    const saved = await store.save(signedEvent(admin, { kind: 3, tags: [['p', alice.pubkey]] }));
    assert.equal(saved.stored, true);
    const deadline = Date.now() + 5000;
    let answer = await client.checkEvent(signedEvent(alice), anon);
    while (answer !== undefined && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      answer = await client.checkEvent(signedEvent(alice), anon);
    }
    assert.equal(answer, undefined, 'alice may write once the admin follows her');
  } finally {
    await client.close();
    await store.close();
  }
  assert.equal(await terminate(acl.child), 0, 'orly-acl exits 0 on SIGTERM');
  assert.match(acl.output(), /orly-acl stopped/);
  assert.equal(await terminate(db.child), 0, 'orly-db exits 0 on SIGTERM');
});

test('orly-acl (managed): a ban made over Manage survives a restart of orly-acl', async () => {
  const owner = newKey();
  const spammer = newKey();
  const db = await spawnService('orly-db', { ORLY_DB_LISTEN: '127.0.0.1:0', ORLY_DATA_DIR: dataDir });
  const aclEnv = {
    ORLY_ACL_LISTEN: '127.0.0.1:0',
    ORLY_ACL_MODE: 'managed',
    ORLY_ACL_GRPC_DB_SERVER: `127.0.0.1:${db.port}`,
    ORLY_OWNERS: owner.pubkey,
  };
  const first = await spawnService('orly-acl', aclEnv);
  const client = await GrpcAccessControl.connect(`127.0.0.1:${first.port}`, { security });
  try {
    assert.equal(client.mode, 'managed');
    const outcome = await client.management!.manage('banpubkey', [spammer.pubkey, 'spam'], owner.pubkey);
    assert.deepEqual(outcome, { result: true });
    assert.ok(client.hiddenAuthors({ authed: new Set() })?.has(spammer.pubkey), 'hidden at once');
  } finally {
    await client.close();
  }
  assert.equal(await terminate(first.child), 0);
  const second = await spawnService('orly-acl', aclEnv);
  const again = await GrpcAccessControl.connect(`127.0.0.1:${second.port}`, { security });
  try {
    assert.match(String(await again.checkEvent(signedEvent(spammer), anon)), /^blocked: .*banned/);
    assert.ok(again.hiddenAuthors({ authed: new Set() })?.has(spammer.pubkey));
    assert.equal(again.hiddenAuthors({ authed: new Set([owner.pubkey]) }), undefined, 'owners see all');
    assert.deepEqual(await again.management!.manage('listbannedpubkeys', [], owner.pubkey), {
      result: [{ pubkey: spammer.pubkey, reason: 'spam' }],
    });
  } finally {
    await again.close();
  }
  assert.equal(await terminate(second.child), 0);
  assert.equal(await terminate(db.child), 0);
});

test('an unimplemented ACL mode stops start-up naming the variable (exit 2)', async () => {
  const child = spawn(process.execPath, [cli('orly-acl')], {
    env: { ...process.env, ORLY_ACL_MODE: 'paid', ORLY_ACL_LISTEN: '127.0.0.1:0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 2);
  assert.match(err, /ORLY_ACL_MODE: ACL mode "paid" is not implemented yet; available modes: none, follows/);
});
