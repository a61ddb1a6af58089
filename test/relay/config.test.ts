/** Configuration: defaults, parsing, and start-up errors that name the variable. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/config/env.js';
import { loadRelayConfig } from '../../src/relay/config.js';

test('defaults need no configuration', () => {
  const c = loadRelayConfig({ HOME: '/home/op' });
  assert.equal(c.listen, '0.0.0.0');
  assert.equal(c.port, 3334);
  assert.equal(c.dataDir, '/home/op/.local/share/ORLY');
  assert.equal(c.logLevel, 'info');
  assert.equal(c.relayUrl, undefined);
  assert.deepEqual(c.authRestrictedKinds, [4, 1059]);
  assert.ok(c.limits.defaultLimit <= c.limits.maxLimit);
});

test('values are parsed', () => {
  const c = loadRelayConfig({
    ORLY_PORT: '8080',
    ORLY_DATA_DIR: '/data',
    ORLY_LOG_LEVEL: 'DEBUG',
    ORLY_RELAY_URL: 'wss://relay.example.com',
    ORLY_AUTH_RESTRICTED_KINDS: '4, 14,1059',
    ORLY_MAX_LIMIT: '100',
  });
  assert.equal(c.port, 8080);
  assert.equal(c.dataDir, '/data');
  assert.equal(c.logLevel, 'debug');
  assert.equal(c.relayUrl, 'wss://relay.example.com');
  assert.deepEqual(c.authRestrictedKinds, [4, 14, 1059]);
  assert.equal(c.limits.maxLimit, 100);
  assert.equal(c.limits.defaultLimit, 100);
  assert.deepEqual(loadRelayConfig({ ORLY_AUTH_RESTRICTED_KINDS: '' }).authRestrictedKinds, []);
});

test('an invalid value names its variable', () => {
  const cases: Record<string, string> = {
    ORLY_PORT: 'abc',
    ORLY_LOG_LEVEL: 'loud',
    ORLY_RELAY_URL: 'http://x',
    ORLY_MAX_MESSAGE_SIZE: '10',
    ORLY_RELAY_PUBKEY: 'XYZ',
    ORLY_AUTH_RESTRICTED_KINDS: '4,x',
    ORLY_AUTH_REQUIRED: 'maybe',
    ORLY_AUTH_TO_WRITE: '2',
    ORLY_MIN_POW_DIFFICULTY: '65',
    ORLY_WS_TRANSPORT: 'nginx',
  };
  for (const [name, value] of Object.entries(cases)) {
    assert.throws(
      () => loadRelayConfig({ [name]: value }),
      (err: unknown) => err instanceof ConfigError && err.variable === name && err.message.startsWith(name),
      name,
    );
  }
});

test('the gates: off by default, parsed when set', () => {
  assert.deepEqual(loadRelayConfig({}).gates, {
    authRequired: false,
    authToWrite: false,
    minPowDifficulty: 0,
  });
  const c = loadRelayConfig({
    ORLY_AUTH_REQUIRED: 'true',
    ORLY_AUTH_TO_WRITE: 'yes',
    ORLY_MIN_POW_DIFFICULTY: '64',
  });
  assert.deepEqual(c.gates, { authRequired: true, authToWrite: true, minPowDifficulty: 64 });
  assert.throws(() => loadRelayConfig({ ORLY_MIN_POW_DIFFICULTY: '-1' }), /ORLY_MIN_POW_DIFFICULTY/);
});
