/**
 * No gRPC service runs open on a network: a server without a token or mutual TLS refuses to
 * listen beyond loopback (a ConfigError naming the variables; the CLIs exit 2 before opening or
 * dialling anything), ORLY_GRPC_INSECURE=true overrides it with a loud warning, and a loopback
 * server without authentication starts with a warning. The non-loopback address used is
 * 192.0.2.1 (TEST-NET-1, never assigned here): a server allowed to try fails to bind it, so no
 * test ever listens beyond loopback.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { ConfigError } from '../../src/config/env.js';
import { ACLServiceService } from '../../src/gen/orlyacl/v1/acl.js';
import {
  authenticatesCallers,
  type GrpcSecurity,
  isLoopbackHost,
  loadGrpcSecurity,
  serverExposure,
} from '../../src/grpc/security.js';
import { GrpcServer } from '../../src/grpc/server.js';
import { spawnOrlyDb, tempDir } from '../contract/grpc-harness.js';

const TOKEN = 'exposure-test-token-0123456789';
const pemish = Buffer.from('not read here');
const mtls: GrpcSecurity = { cert: pemish, key: pemish, ca: pemish };

test('loopback hosts', () => {
  for (const host of [
    '127.0.0.1',
    '127.9.8.7',
    '::1',
    '[::1]',
    '0:0:0:0:0:0:0:1',
    '::ffff:127.0.0.1',
    'localhost',
  ])
    assert.equal(isLoopbackHost(host), true, host);
  for (const host of [
    '0.0.0.0',
    '::',
    '[::]',
    '',
    '10.0.0.1',
    '192.0.2.1',
    '::ffff:10.0.0.1',
    'relay.example',
  ])
    assert.equal(isLoopbackHost(host), false, host);
});

test('serverExposure: refuse beyond loopback without authentication, unless insecure; warn when open', () => {
  const refused = serverExposure('orly-db', '0.0.0.0:50051', {});
  assert.match(
    refused.refuse ?? '',
    /orly-db would listen on 0\.0\.0\.0:50051 \(not loopback\) without authentication/,
  );
  for (const name of [
    'ORLY_GRPC_TOKEN',
    'ORLY_GRPC_TLS_CERT',
    'ORLY_GRPC_TLS_KEY',
    'ORLY_GRPC_TLS_CA',
    'ORLY_GRPC_INSECURE',
  ])
    assert.ok(refused.refuse?.includes(name), name);
  assert.deepEqual(serverExposure('orly-db', '0.0.0.0:50051', { token: TOKEN }), {});
  assert.deepEqual(serverExposure('orly-db', '[::]:50051', mtls), {});
  // TLS without a client CA is not authentication.
  assert.ok(serverExposure('orly-db', '[::]:50051', { cert: pemish, key: pemish }).refuse);
  const insecure = serverExposure('orly-db', '0.0.0.0:50051', { insecure: true });
  assert.equal(insecure.refuse, undefined);
  assert.match(insecure.warn ?? '', /ORLY_GRPC_INSECURE=true: .*WITHOUT AUTHENTICATION/);
  const local = serverExposure('orly-acl', '127.0.0.1:50052', {});
  assert.equal(local.refuse, undefined);
  assert.match(local.warn ?? '', /without authentication: any local process can call it/);
  assert.equal(authenticatesCallers({}), false);
  assert.equal(authenticatesCallers({ token: TOKEN }), true);
  assert.equal(authenticatesCallers(mtls), true);
});

test('ORLY_GRPC_INSECURE and ORLY_GRPC_MAX_MESSAGE_SIZE are parsed; bad values name the variable', () => {
  assert.equal(loadGrpcSecurity({}).insecure, false);
  assert.equal(loadGrpcSecurity({}).maxMessageBytes, 16 * 1024 * 1024);
  assert.equal(loadGrpcSecurity({ ORLY_GRPC_INSECURE: 'true' }).insecure, true);
  assert.equal(loadGrpcSecurity({ ORLY_GRPC_MAX_MESSAGE_SIZE: '4194304' }).maxMessageBytes, 4194304);
  assert.throws(() => loadGrpcSecurity({ ORLY_GRPC_INSECURE: 'maybe' }), /ORLY_GRPC_INSECURE/);
  assert.throws(() => loadGrpcSecurity({ ORLY_GRPC_MAX_MESSAGE_SIZE: '1000' }), /ORLY_GRPC_MAX_MESSAGE_SIZE/);
});

/** A GrpcServer (no handlers) on `listen`, its start() outcome and its log lines. */
async function tryStart(listen: string, security: GrpcSecurity): Promise<{ error: unknown; logs: string }> {
  let logs = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs += chunk.toString();
      callback();
    },
  });
  const server = new GrpcServer({
    name: 'orly-test',
    listen,
    security,
    services: [{ definition: ACLServiceService, implementation: {} }],
    logger: pino({ level: 'warn' }, sink),
    isServing: () => true,
  });
  let error: unknown;
  try {
    await server.start();
  } catch (e) {
    error = e;
  }
  await server.stop(100);
  return { error, logs };
}

test('GrpcServer.start refuses before binding; the override warns and then tries to bind', async () => {
  const open = await tryStart('192.0.2.1:0', {});
  assert.ok(open.error instanceof ConfigError, String(open.error));
  assert.match(
    String((open.error as Error).message),
    /^ORLY_GRPC_TOKEN: orly-test would listen on 192\.0\.2\.1:0/,
  );

  const insecure = await tryStart('192.0.2.1:0', { insecure: true });
  assert.ok(!(insecure.error instanceof ConfigError) && insecure.error !== undefined, 'it tried to bind');
  assert.match(insecure.logs, /"level":40.*ORLY_GRPC_INSECURE=true: orly-test listens on 192\.0\.2\.1:0/);

  const token = await tryStart('192.0.2.1:0', { token: TOKEN });
  assert.ok(!(token.error instanceof ConfigError) && token.error !== undefined, 'it tried to bind');
  assert.equal(token.logs, '');

  const local = await tryStart('127.0.0.1:0', {});
  assert.equal(local.error, undefined);
  assert.match(local.logs, /without authentication: any local process can call it/);
});

const cli = (file: string) => fileURLToPath(new URL(`../../src/cli/${file}`, import.meta.url));

test('the service CLIs exit 2 on a non-loopback listen without authentication, naming the variables', () => {
  const cases: [string, Record<string, string>, string][] = [
    ['orly-db.js', { ORLY_DB_LISTEN: '0.0.0.0:0' }, 'ORLY_DB_LISTEN'],
    ['orly-acl.js', { ORLY_ACL_LISTEN: '0.0.0.0:0', ORLY_ACL_MODE: 'follows' }, 'ORLY_ACL_LISTEN'],
    ['orly-sync-negentropy.js', { ORLY_SYNC_NEGENTROPY_LISTEN: '0.0.0.0:0' }, 'ORLY_SYNC_NEGENTROPY_LISTEN'],
  ];
  for (const [file, env, variable] of cases) {
    const { ORLY_GRPC_TOKEN: _, ...inherited } = process.env;
    const run = spawnSync(process.execPath, [cli(file)], {
      env: { ...inherited, ORLY_DATA_DIR: '/nonexistent/orly-exposure-test', ...env },
      encoding: 'utf8',
      timeout: 10_000,
    });
    assert.equal(run.status, 2, `${file}: ${run.stderr}`);
    assert.match(run.stderr, new RegExp(`invalid configuration: ${variable}: .*without authentication`));
    assert.match(run.stderr, /ORLY_GRPC_TOKEN.*ORLY_GRPC_TLS_CA.*ORLY_GRPC_INSECURE=true/);
  }
});

test('orly-db on loopback without a token starts, with a warning line', async () => {
  const dir = tempDir();
  try {
    const db = await spawnOrlyDb({ ORLY_DATA_DIR: dir, ORLY_GRPC_TOKEN: '' });
    try {
      assert.match(db.output(), /"level":"warn".*orly-db listens on 127\.0\.0\.1:0 without authentication/);
    } finally {
      await db.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
