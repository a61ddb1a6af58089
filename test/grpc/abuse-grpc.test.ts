/**
 * Issue 9's robustness suite ("hold under abuse"), row 8: a standalone orly-db / orly-acl without
 * ORLY_GRPC_TOKEN on a non-loopback address used to run with no authentication at all. Replayed
 * end to end with the real CLIs: started that way they now refuse (exit 2) before opening the
 * store or a port, unless ORLY_GRPC_INSECURE=true says so (a loud warning); run with a token (how
 * the launcher runs them), an attacker reaching the port without it, or with a wrong one, reads,
 * counts, writes, deletes and reconfigures nothing. No test listens beyond loopback: 0.0.0.0 and
 * [::] are refused before binding, and 192.0.2.1 (TEST-NET-1) cannot be bound. The relay-facing
 * rows are in test/relay/abuse-*.test.ts (abuse-queries.test.ts lists them).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { FOLLOWS_DENIED } from '../../src/acl/follows-access-control.js';
import { GrpcAccessControl } from '../../src/acl/grpc-access-control.js';
import { ACLServiceClient } from '../../src/gen/orlyacl/v1/acl.js';
import { DatabaseServiceClient } from '../../src/gen/orlydb/v1/db.js';
import { GrpcEventStore } from '../../src/store/grpc/grpc-event-store.js';
import { type DbProcess, spawnOrlyDb } from '../contract/grpc-harness.js';
import { seededStore } from '../helpers/abuse.js';
import { newKey, signedEvent } from '../helpers/events.js';

const TOKEN = 'abuse-row-8-token-0123456789abcdef';
const cli = (name: string) => fileURLToPath(new URL(`../../src/cli/${name}.js`, import.meta.url));

/** The environment without any gRPC security setting of the caller's, plus `env`. */
function cleanEnv(env: Record<string, string>): Record<string, string | undefined> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('ORLY_GRPC_')),
  );
  return { ...inherited, ...env };
}

/** Runs a service CLI until it exits (SIGKILL after 15 s): exit code, stdout, stderr. */
async function runToExit(name: string, env: Record<string, string>) {
  const child = spawn(process.execPath, [cli(name)], {
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Spawns orly-acl on 127.0.0.1 port 0 and resolves with it once its "grpc listening" line names the port. */
async function spawnAcl(env: Record<string, string>): Promise<{ child: ChildProcess; address: string }> {
  const child = spawn(process.execPath, [cli('orly-acl')], {
    env: cleanEnv({ ORLY_ACL_LISTEN: '127.0.0.1:0', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`orly-acl did not listen in time:\n${out}`)), 15_000);
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
      reject(new Error(`orly-acl exited with ${code}:\n${out}`));
    });
  });
  return { child, address: `127.0.0.1:${port}` };
}

/** A unary call as a promise. */
function unary<T>(call: (callback: (e: ServiceError | null, r: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => call((e, r) => (e ? reject(e) : resolve(r))));
}

const refusedUnauthenticated = (e: unknown) => (e as ServiceError).code === status.UNAUTHENTICATED;

describe('abuse: gRPC services reachable beyond loopback (issue 9, row 8)', () => {
  it('without ORLY_GRPC_TOKEN on a non-loopback address: exit 2, nothing opened, nothing listening', async () => {
    const cases: [string, Record<string, string>, string][] = [
      ['orly-db', { ORLY_DB_LISTEN: '0.0.0.0:0' }, 'ORLY_DB_LISTEN'],
      ['orly-db', { ORLY_DB_LISTEN: '[::]:0' }, 'ORLY_DB_LISTEN'],
      ['orly-acl', { ORLY_ACL_LISTEN: '0.0.0.0:0', ORLY_ACL_MODE: 'follows' }, 'ORLY_ACL_LISTEN'],
      ['orly-acl', { ORLY_ACL_LISTEN: '[::]:0', ORLY_ACL_MODE: 'none' }, 'ORLY_ACL_LISTEN'],
    ];
    for (const [i, [name, env, variable]] of cases.entries()) {
      const dataDir = join(tmpdir(), `orly-abuse-row8-${process.pid}-${i}`);
      const run = await runToExit(name, { ...env, ORLY_DATA_DIR: dataDir });
      assert.equal(run.code, 2, `${name} ${JSON.stringify(env)}: ${run.stderr}`);
      assert.match(run.stderr, new RegExp(`invalid configuration: ${variable}: .*without authentication`));
      assert.match(run.stderr, /ORLY_GRPC_TOKEN.*ORLY_GRPC_INSECURE=true/);
      assert.doesNotMatch(run.stdout, /grpc listening/);
      assert.equal(existsSync(dataDir), false, 'the store was not opened');
    }
  });

  it('ORLY_GRPC_INSECURE=true: the operator asked for it, so it starts open, with a warning', async () => {
    const dataDir = join(tmpdir(), `orly-abuse-row8-insecure-${process.pid}`);
    try {
      for (const [name, env] of [
        ['orly-db', { ORLY_DB_LISTEN: '192.0.2.1:0', ORLY_DATA_DIR: dataDir }],
        ['orly-acl', { ORLY_ACL_LISTEN: '192.0.2.1:0', ORLY_ACL_MODE: 'none' }],
      ] as const) {
        const run = await runToExit(name, { ...env, ORLY_GRPC_INSECURE: 'true' });
        assert.match(
          run.stdout,
          new RegExp(
            `"level":"warn".*ORLY_GRPC_INSECURE=true: ${name} listens on 192\\.0\\.2\\.1:0, beyond loopback, WITHOUT AUTHENTICATION`,
          ),
        );
        // It went on to bind (TEST-NET-1 is not an address of this machine).
        assert.notEqual(run.code, 2, run.stderr);
        assert.match(run.stderr, /EADDRNOTAVAIL|No address added/);
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  describe('with a token, as the launcher runs them', () => {
    const victim = newKey();
    const dm = signedEvent(victim, { kind: 4, tags: [['p', newKey().pubkey]], content: 'secret' });
    let store: string;
    let db: DbProcess;
    let acl: { child: ChildProcess; address: string };

    before(async () => {
      store = await seededStore(0, [dm]);
      db = await spawnOrlyDb({ ORLY_DATA_DIR: store, ORLY_GRPC_TOKEN: TOKEN });
      acl = await spawnAcl({
        ORLY_GRPC_TOKEN: TOKEN,
        ORLY_ACL_MODE: 'follows',
        ORLY_ACL_GRPC_DB_SERVER: db.address,
        ORLY_ADMINS: victim.pubkey,
        ORLY_ACL_RELOAD_INTERVAL: '0',
      });
    });
    after(async () => {
      if (acl !== undefined && acl.child.exitCode === null) {
        const exited = once(acl.child, 'exit');
        process.kill(acl.child.pid!, 'SIGTERM');
        await exited;
      }
      await db?.stop();
      rmSync(store, { recursive: true, force: true });
    });

    it('an attacker without the token, or with a wrong one, gets UNAUTHENTICATED for everything', async () => {
      const attackerKey = newKey();
      const planted = signedEvent(attackerKey, { content: 'planted' });
      const noToken = new Metadata();
      const wrongToken = new Metadata();
      wrongToken.set('authorization', 'Bearer wrong-token-0123456789abcdef');
      const dbClient = new DatabaseServiceClient(db.address, credentials.createInsecure());
      const aclClient = new ACLServiceClient(acl.address, credentials.createInsecure());
      try {
        for (const md of [noToken, wrongToken]) {
          await assert.rejects(
            unary((cb) => dbClient.getEvent({ id: dm.id }, md, cb)),
            refusedUnauthenticated,
          );
          await assert.rejects(
            unary((cb) =>
              dbClient.countEvents(
                { filterJson: ['{}'], now: 0, max: 0, maxScan: 0, excludeKinds: [] },
                md,
                cb,
              ),
            ),
            refusedUnauthenticated,
          );
          await assert.rejects(
            unary((cb) =>
              dbClient.saveEvent({ eventJson: JSON.stringify(planted), requestId: 1, origin: '' }, md, cb),
            ),
            refusedUnauthenticated,
          );
          await assert.rejects(
            unary((cb) => dbClient.deleteEvent({ ids: [dm.id] }, md, cb)),
            refusedUnauthenticated,
          );
          const stream = dbClient.queryEvents({ filterJson: '{"kinds":[4]}', now: 0 }, md);
          let batches = 0;
          stream.on('data', () => batches++);
          const [error] = (await once(stream, 'error')) as [ServiceError];
          assert.equal(error.code, status.UNAUTHENTICATED);
          assert.equal(batches, 0, 'no event streamed');
          await assert.rejects(
            unary((cb) =>
              aclClient.configure(
                { owners: [attackerKey.pubkey], admins: [attackerKey.pubkey], reload: true },
                md,
                cb,
              ),
            ),
            refusedUnauthenticated,
          );
          await assert.rejects(
            unary((cb) =>
              aclClient.checkAccess(
                { eventJson: JSON.stringify(planted), requester: { authedPubkeys: [], ip: '203.0.113.9' } },
                md,
                cb,
              ),
            ),
            refusedUnauthenticated,
          );
        }
      } finally {
        dbClient.close();
        aclClient.close();
      }
      // With the token: the DM is still there, nothing was planted, the attacker was not made an owner.
      const trusted = await GrpcEventStore.connect(db.address, { security: { token: TOKEN } });
      const access = await GrpcAccessControl.connect(acl.address, { security: { token: TOKEN } });
      try {
        assert.equal((await trusted.getById(dm.id))?.event.id, dm.id);
        assert.equal(await trusted.getById(planted.id), undefined);
        const requester = { authed: new Set([attackerKey.pubkey]), ip: '203.0.113.9' };
        assert.equal(await access.checkEvent(planted, requester), FOLLOWS_DENIED);
      } finally {
        await trusted.close();
        await access.close();
      }
    });
  });
});
