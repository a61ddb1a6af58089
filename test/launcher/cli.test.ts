/**
 * The real `orly-launcher` CLI as a child process, with fake services standing in for orly-db
 * (grpc health), orly-acl (grpc health) and the relay (HTTP /health on ORLY_PORT): the
 * environment each child receives (incl. the per-launch token), SIGTERM -> reverse-order stop
 * and exit 0 with no child left, a second signal -> immediate SIGKILL of every child, a
 * readiness timeout naming the service (exit 1), and configuration errors (exit 2).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort, isAlive, readEvents, waitFor, writeFakeService } from './fake-service.js';

const LAUNCHER = fileURLToPath(new URL('../../src/cli/orly-launcher.js', import.meta.url));
let dir: string;
const spawned: ChildProcess[] = [];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'orly-launcher-cli-'));
  writeFakeService(dir);
  const role = (name: string, vars: Record<string, string>) =>
    writeFileSync(
      join(dir, `${name}.mjs`),
      `Object.assign(process.env, ${JSON.stringify({ FAKE_NAME: name, FAKE_ENV_DUMP: join(dir, `env-${name}.json`), ...vars })});\nawait import('./fake-service.mjs');\n`,
    );
  role('orly-db', { FAKE_KIND: 'grpc', FAKE_LISTEN_VAR: 'ORLY_DB_LISTEN' });
  role('orly-acl', { FAKE_KIND: 'grpc', FAKE_LISTEN_VAR: 'ORLY_ACL_LISTEN' });
  role('orly-acl-stuck', { FAKE_NO_LISTEN: '1' });
  role('orly', { FAKE_KIND: 'http' });
});

after(() => {
  for (const c of spawned) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  readonly child: ChildProcess;
  out(): string;
  err(): string;
  exit: Promise<number | null>;
}

function runLauncher(env: Record<string, string>): Run {
  const child = spawn(process.execPath, [LAUNCHER], {
    env: { PATH: process.env.PATH, HOME: dir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  spawned.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  return { child, out: () => out, err: () => err, exit };
}

async function fakeEnv(events: string) {
  return {
    FAKE_EVENTS: events,
    FAKE_TERM_DELAY_MS: '100',
    ORLY_LAUNCHER_DB_BINARY: join(dir, 'orly-db.mjs'),
    ORLY_LAUNCHER_ACL_BINARY: join(dir, 'orly-acl.mjs'),
    ORLY_LAUNCHER_RELAY_BINARY: join(dir, 'orly.mjs'),
    ORLY_LAUNCHER_DB_LISTEN: `127.0.0.1:${await freePort()}`,
    ORLY_LAUNCHER_ACL_LISTEN: `127.0.0.1:${await freePort()}`,
    ORLY_LISTEN: '127.0.0.1',
    ORLY_PORT: String(await freePort()),
    ORLY_LAUNCHER_STOP_TIMEOUT: '3s',
  };
}

function readEnv(name: string): Record<string, string> {
  return JSON.parse(readFileSync(join(dir, `env-${name}.json`), 'utf8'));
}

describe('orly-launcher CLI (fake services)', () => {
  test('passes each child its environment; SIGTERM stops in reverse order and exits 0', async () => {
    const events = join(dir, 'events-1.jsonl');
    const env = { ...(await fakeEnv(events)), ORLY_LAUNCHER_ACL_ENABLED: 'true', ORLY_DATA_DIR: '/tmp/x' };
    const run = runLauncher(env);
    await waitFor(
      () => run.out().includes('"msg":"all services ready"'),
      20_000,
      `all ready:\n${run.out()}${run.err()}`,
    );
    const db = readEnv('orly-db');
    const acl = readEnv('orly-acl');
    const relay = readEnv('orly');
    assert.equal(db.ORLY_DB_LISTEN, env.ORLY_LAUNCHER_DB_LISTEN);
    assert.equal(acl.ORLY_ACL_LISTEN, env.ORLY_LAUNCHER_ACL_LISTEN);
    assert.equal(acl.ORLY_ACL_DB_TYPE, 'grpc');
    assert.equal(acl.ORLY_ACL_GRPC_DB_SERVER, env.ORLY_LAUNCHER_DB_LISTEN);
    assert.equal(relay.ORLY_DB_TYPE, 'grpc');
    assert.equal(relay.ORLY_GRPC_SERVER, env.ORLY_LAUNCHER_DB_LISTEN);
    assert.equal(relay.ORLY_ACL_TYPE, 'grpc');
    assert.equal(relay.ORLY_GRPC_ACL_SERVER, env.ORLY_LAUNCHER_ACL_LISTEN);
    assert.equal(relay.ORLY_DATA_DIR, '/tmp/x', 'inherited');
    assert.ok(
      db.ORLY_GRPC_TOKEN &&
        db.ORLY_GRPC_TOKEN === acl.ORLY_GRPC_TOKEN &&
        acl.ORLY_GRPC_TOKEN === relay.ORLY_GRPC_TOKEN,
    );
    assert.ok(!run.out().includes(db.ORLY_GRPC_TOKEN), 'the token is never logged');
    assert.match(run.out(), /"child":"orly-db"/);

    const pids = readEvents(events)
      .filter((e) => e.what === 'start')
      .map((e) => e.pid);
    assert.equal(pids.length, 3);
    run.child.kill('SIGTERM');
    assert.equal(await run.exit, 0);
    for (const pid of pids) assert.equal(isAlive(pid), false, `child ${pid} is gone`);
    const terms = readEvents(events).filter((e) => e.what === 'term');
    assert.deepEqual(
      terms.map((e) => e.name),
      ['orly', 'orly-acl', 'orly-db'],
    );
    assert.ok(terms[0]!.t + 90 <= terms[1]!.t && terms[1]!.t + 90 <= terms[2]!.t, 'each waited for');
  });

  test('a second signal kills every child at once (exit 1, no orphans)', async () => {
    const events = join(dir, 'events-2.jsonl');
    const run = runLauncher({
      ...(await fakeEnv(events)),
      FAKE_IGNORE_TERM: '1',
      ORLY_LAUNCHER_STOP_TIMEOUT: '60s',
    });
    await waitFor(() => run.out().includes('"msg":"all services ready"'), 20_000, 'all ready');
    const pids = readEvents(events)
      .filter((e) => e.what === 'start')
      .map((e) => e.pid);
    run.child.kill('SIGTERM');
    await waitFor(() => readEvents(events).some((e) => e.what === 'term'), 5000, 'relay got SIGTERM');
    run.child.kill('SIGINT');
    assert.equal(await run.exit, 1);
    await waitFor(() => pids.every((pid) => !isAlive(pid)), 3000, 'children killed');
  });

  test('a readiness timeout names the service, stops the started ones, exits 1', async () => {
    const events = join(dir, 'events-3.jsonl');
    const run = runLauncher({
      ...(await fakeEnv(events)),
      ORLY_LAUNCHER_ACL_ENABLED: 'true',
      ORLY_LAUNCHER_ACL_BINARY: join(dir, 'orly-acl-stuck.mjs'),
      ORLY_LAUNCHER_ACL_READY_TIMEOUT: '1s',
    });
    assert.equal(await run.exit, 1);
    assert.match(
      run.err(),
      /orly-launcher: orly-acl was not ready within 1s \(ORLY_LAUNCHER_ACL_READY_TIMEOUT\)/,
    );
    const ev = readEvents(events);
    for (const e of ev.filter((x) => x.what === 'start')) assert.equal(isAlive(e.pid), false);
    assert.deepEqual(
      ev.filter((e) => e.what === 'term').map((e) => e.name),
      ['orly-acl-stuck', 'orly-db'],
    );
  });

  test('configuration errors exit 2 naming the variable', async () => {
    const sync = runLauncher({
      ORLY_LAUNCHER_SYNC_CLUSTER_ENABLED: 'true',
      ORLY_LAUNCHER_SYNC_CLUSTER_BINARY: 'orly-sync-cluster-elsewhere',
      PATH: dir,
    });
    assert.equal(await sync.exit, 2);
    assert.match(
      sync.err(),
      /invalid configuration: ORLY_LAUNCHER_SYNC_CLUSTER_BINARY: orly-sync-cluster-elsewhere was not found in PATH; point ORLY_LAUNCHER_SYNC_CLUSTER_BINARY at an executable, or unset it/,
    );
    const backend = runLauncher({ ORLY_LAUNCHER_DB_BACKEND: 'badger' });
    assert.equal(await backend.exit, 2);
    assert.match(backend.err(), /ORLY_LAUNCHER_DB_BACKEND: only "lmdb" and "postgres" exist/);
    const timeout = runLauncher({ ORLY_LAUNCHER_DB_READY_TIMEOUT: 'soon' });
    assert.equal(await timeout.exit, 2);
    assert.match(timeout.err(), /ORLY_LAUNCHER_DB_READY_TIMEOUT: expected a duration/);
  });
});
