/**
 * orly-sync-cluster configuration: defaults, the cluster settings shared with the in-process form,
 * the restricted kinds as the relay reads them, the optional orly-acl address, and errors naming
 * the variable.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadRelayConfig } from '../../../src/relay/config.js';
import { loadClusterServiceConfig } from '../../../src/services/sync-cluster/config.js';
import { assertErrorsNameTheirVariable } from '../../helpers/config-error.js';

const ADMIN = 'ab'.repeat(32);

test('defaults: 127.0.0.1:50062, orly-db on 50051, no admins, propagated, 30 s, live, DMs and gift wraps restricted', () => {
  const c = loadClusterServiceConfig({});
  assert.equal(c.listen, '127.0.0.1:50062');
  assert.equal(c.dbServer, '127.0.0.1:50051');
  assert.equal(c.logLevel, 'info');
  assert.equal(c.verifyWorkers, 1);
  assert.equal(c.aclServer, undefined);
  assert.deepEqual(c.restrictedKinds, [4, 1059]);
  assert.deepEqual(c.cluster, {
    enabled: false,
    admins: [],
    propagatePrivileged: true,
    intervalMs: 30_000,
    live: true,
    relayUrl: undefined,
  });
  // The same restricted kinds as the relay's, by default and when set.
  assert.deepEqual(c.restrictedKinds, loadRelayConfig({}).authRestrictedKinds);
  const set = { ORLY_AUTH_RESTRICTED_KINDS: '4, 1059,14' };
  assert.deepEqual(loadClusterServiceConfig(set).restrictedKinds, loadRelayConfig(set).authRestrictedKinds);
  assert.deepEqual(loadClusterServiceConfig({ ORLY_AUTH_RESTRICTED_KINDS: '' }).restrictedKinds, []);
});

test('every variable', () => {
  const c = loadClusterServiceConfig({
    ORLY_SYNC_CLUSTER_LISTEN: '0.0.0.0:7062',
    ORLY_SYNC_CLUSTER_DB_TYPE: 'GRPC',
    ORLY_SYNC_CLUSTER_DB_SERVER: '10.0.0.2:7051',
    ORLY_SYNC_CLUSTER_LOG_LEVEL: 'debug',
    ORLY_SYNC_CLUSTER_VERIFY_WORKERS: '0',
    ORLY_CLUSTER_ADMINS: ADMIN,
    ORLY_CLUSTER_PROPAGATE_PRIVILEGED_EVENTS: 'false',
    ORLY_CLUSTER_POLL_INTERVAL: '5s',
    ORLY_CLUSTER_LIVE: 'false',
    ORLY_RELAY_URL: 'wss://self.example',
    ORLY_GRPC_ACL_SERVER: '127.0.0.1:50052',
  });
  assert.equal(c.listen, '0.0.0.0:7062');
  assert.equal(c.dbServer, '10.0.0.2:7051');
  assert.equal(c.logLevel, 'debug');
  assert.equal(c.verifyWorkers, 0);
  assert.equal(c.aclServer, '127.0.0.1:50052');
  assert.deepEqual(c.cluster, {
    enabled: true,
    admins: [ADMIN],
    propagatePrivileged: false,
    intervalMs: 5000,
    live: false,
    relayUrl: 'wss://self.example',
  });
  // ORLY_ADMINS and ORLY_LOG_LEVEL are the fallbacks.
  assert.deepEqual(loadClusterServiceConfig({ ORLY_ADMINS: ADMIN }).cluster.admins, [ADMIN]);
  assert.equal(loadClusterServiceConfig({ ORLY_LOG_LEVEL: 'warn' }).logLevel, 'warn');
});

test('invalid values name their variable', () => {
  assertErrorsNameTheirVariable(loadClusterServiceConfig, [
    ['ORLY_SYNC_CLUSTER_DB_TYPE', 'badger'],
    ['ORLY_SYNC_CLUSTER_LISTEN', 'nowhere'],
    ['ORLY_SYNC_CLUSTER_DB_SERVER', 'host:99999'],
    ['ORLY_SYNC_CLUSTER_VERIFY_WORKERS', '-1'],
    ['ORLY_CLUSTER_ADMINS', 'not-a-key'],
    ['ORLY_CLUSTER_POLL_INTERVAL', 'often'],
    ['ORLY_CLUSTER_LIVE', 'maybe'],
    ['ORLY_AUTH_RESTRICTED_KINDS', '4,dm'],
    ['ORLY_GRPC_ACL_SERVER', 'no port'],
  ]);
});
