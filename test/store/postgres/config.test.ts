/** The PostgreSQL store's configuration: ORLY_DB_TYPE=postgres, its variables, and the errors naming them. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadRelayConfig } from '../../../src/relay/config.js';
import { loadPostgresConfig } from '../../../src/store/postgres/config.js';
import { configErrorOf } from '../../helpers/config-error.js';

const URL_OK = 'postgres://orly:secret@db.example:5432/orly';

test('ORLY_DB_TYPE: lmdb (local) by default, postgres with its URL', () => {
  assert.equal(loadRelayConfig({}).backend.dbType, 'local');
  assert.equal(loadRelayConfig({ ORLY_DB_TYPE: 'lmdb' }).backend.dbType, 'local');
  assert.equal(loadRelayConfig({ ORLY_DB_TYPE: 'local' }).backend.dbType, 'local');
  assert.equal(loadRelayConfig({}).backend.postgres, undefined);
  const backend = loadRelayConfig({ ORLY_DB_TYPE: 'postgres', ORLY_POSTGRES_URL: URL_OK }).backend;
  assert.equal(backend.dbType, 'postgres');
  assert.deepEqual(backend.postgres, { url: URL_OK, poolSize: 10, maxIndexedTags: 2000 });
  // The PostgreSQL variables are not read (nor checked) for another store.
  assert.equal(loadRelayConfig({ ORLY_POSTGRES_URL: 'nonsense' }).backend.postgres, undefined);
});

test('ORLY_POSTGRES_URL is required with postgres, and must be a postgres:// URL', () => {
  const load = (env: Record<string, string>) => loadRelayConfig({ ORLY_DB_TYPE: 'postgres', ...env });
  const missing = configErrorOf(load, {});
  assert.equal(missing.variable, 'ORLY_POSTGRES_URL');
  assert.match(missing.message, /is required/);
  for (const bad of ['not a url', 'http://db.example/orly', 'postgres:///orly', 'postgres://db/a/b']) {
    const err = configErrorOf(load, { ORLY_POSTGRES_URL: bad });
    assert.equal(err.variable, 'ORLY_POSTGRES_URL', bad);
  }
  // No message repeats the URL: it may hold a password.
  const err = configErrorOf(load, { ORLY_POSTGRES_URL: 'mysql://user:hunter2@db/x' });
  assert.doesNotMatch(err.message, /hunter2/);
  assert.equal(
    loadPostgresConfig({ ORLY_POSTGRES_URL: 'postgresql://db.example/x' }).url,
    'postgresql://db.example/x',
  );
  assert.equal(
    configErrorOf(load, { ORLY_POSTGRES_URL: URL_OK, ORLY_POSTGRES_READ_URL: 'x' }).variable,
    'ORLY_POSTGRES_READ_URL',
  );
  assert.equal(
    loadPostgresConfig({ ORLY_POSTGRES_URL: URL_OK, ORLY_POSTGRES_READ_URL: 'postgres://replica/orly' })
      .readUrl,
    'postgres://replica/orly',
  );
  assert.equal(configErrorOf(load, { ORLY_DB_TYPE: 'mongo' }).variable, 'ORLY_DB_TYPE');
  assert.match(configErrorOf(load, { ORLY_DB_TYPE: 'mongo' }).message, /postgres/);
});

test('pool size and TLS', () => {
  const base = { ORLY_POSTGRES_URL: URL_OK };
  assert.equal(loadPostgresConfig({ ...base, ORLY_POSTGRES_POOL_SIZE: '32' }).poolSize, 32);
  for (const bad of ['0', '-1', 'x', '1001'])
    assert.equal(
      configErrorOf(loadPostgresConfig, { ...base, ORLY_POSTGRES_POOL_SIZE: bad }).variable,
      'ORLY_POSTGRES_POOL_SIZE',
    );
  assert.equal(loadPostgresConfig(base).tls, undefined, 'the URL sslmode decides');
  assert.equal(loadPostgresConfig({ ...base, ORLY_POSTGRES_TLS: 'off' }).tls, false);
  assert.deepEqual(loadPostgresConfig({ ...base, ORLY_POSTGRES_TLS: 'require' }).tls, {
    rejectUnauthorized: false,
  });
  assert.equal(loadPostgresConfig({ ...base, ORLY_POSTGRES_TLS: 'verify-full' }).tls, 'verify-full');
  assert.equal(
    configErrorOf(loadPostgresConfig, { ...base, ORLY_POSTGRES_TLS: 'yes' }).variable,
    'ORLY_POSTGRES_TLS',
  );
  const dir = mkdtempSync(join(tmpdir(), 'orly-pg-tls-'));
  try {
    const pem = join(dir, 'ca.pem');
    writeFileSync(pem, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const notPem = join(dir, 'ca.txt');
    writeFileSync(notPem, 'hello');
    assert.deepEqual(loadPostgresConfig({ ...base, ORLY_POSTGRES_TLS_CA: pem }).tls, {
      ca: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
      rejectUnauthorized: true,
    });
    for (const [variable, value] of [
      ['ORLY_POSTGRES_TLS_CA', notPem],
      ['ORLY_POSTGRES_TLS_CA', join(dir, 'missing.pem')],
    ] as const)
      assert.equal(configErrorOf(loadPostgresConfig, { ...base, [variable]: value }).variable, variable);
    // A client certificate without its key names the one missing.
    assert.equal(
      configErrorOf(loadPostgresConfig, { ...base, ORLY_POSTGRES_TLS_CERT: pem }).variable,
      'ORLY_POSTGRES_TLS_KEY',
    );
    assert.equal(
      configErrorOf(loadPostgresConfig, { ...base, ORLY_POSTGRES_TLS: 'off', ORLY_POSTGRES_TLS_CA: pem })
        .variable,
      'ORLY_POSTGRES_TLS',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
