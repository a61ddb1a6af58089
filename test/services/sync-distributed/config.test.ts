/**
 * orly-sync-distributed configuration: defaults, the peer settings shared with the in-process
 * form, the optional orly-acl address, and errors naming the variable.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadDistributedServiceConfig } from '../../../src/services/sync-distributed/config.js';
import { assertErrorsNameTheirVariable } from '../../helpers/config-error.js';

test('defaults: 127.0.0.1:50061, orly-db on 50051, no peers, 30 s, live, no orly-acl', () => {
  const c = loadDistributedServiceConfig({});
  assert.equal(c.listen, '127.0.0.1:50061');
  assert.equal(c.dbServer, '127.0.0.1:50051');
  assert.equal(c.logLevel, 'info');
  assert.equal(c.verifyWorkers, 1);
  assert.equal(c.aclServer, undefined);
  assert.deepEqual(c.sync, { peers: [], intervalMs: 30_000, live: true, relayUrl: undefined });
});

test('every variable', () => {
  const c = loadDistributedServiceConfig({
    ORLY_SYNC_DISTRIBUTED_LISTEN: '0.0.0.0:7061',
    ORLY_SYNC_DISTRIBUTED_DB_TYPE: 'GRPC',
    ORLY_SYNC_DISTRIBUTED_DB_SERVER: '10.0.0.2:7051',
    ORLY_SYNC_DISTRIBUTED_LOG_LEVEL: 'debug',
    ORLY_SYNC_DISTRIBUTED_VERIFY_WORKERS: '0',
    ORLY_SYNC_DISTRIBUTED_PEERS: 'wss://a.example, https://b.example/,wss://a.example',
    ORLY_SYNC_DISTRIBUTED_INTERVAL: '5s',
    ORLY_SYNC_DISTRIBUTED_LIVE: 'false',
    ORLY_RELAY_URL: 'wss://self.example',
    ORLY_GRPC_ACL_SERVER: '127.0.0.1:50052',
  });
  assert.equal(c.listen, '0.0.0.0:7061');
  assert.equal(c.dbServer, '10.0.0.2:7051');
  assert.equal(c.logLevel, 'debug');
  assert.equal(c.verifyWorkers, 0);
  assert.equal(c.aclServer, '127.0.0.1:50052');
  assert.deepEqual(c.sync, {
    peers: ['https://a.example', 'https://b.example'],
    intervalMs: 5000,
    live: false,
    relayUrl: 'wss://self.example',
  });
  // ORLY_LOG_LEVEL is the fallback.
  assert.equal(loadDistributedServiceConfig({ ORLY_LOG_LEVEL: 'warn' }).logLevel, 'warn');
});

test('invalid values name their variable', () => {
  assertErrorsNameTheirVariable(loadDistributedServiceConfig, [
    ['ORLY_SYNC_DISTRIBUTED_DB_TYPE', 'badger'],
    ['ORLY_SYNC_DISTRIBUTED_LISTEN', 'nowhere'],
    ['ORLY_SYNC_DISTRIBUTED_DB_SERVER', 'host:99999'],
    ['ORLY_SYNC_DISTRIBUTED_PEERS', 'ftp://x.example'],
    ['ORLY_SYNC_DISTRIBUTED_INTERVAL', 'often'],
    ['ORLY_SYNC_DISTRIBUTED_LIVE', 'maybe'],
    ['ORLY_SYNC_DISTRIBUTED_VERIFY_WORKERS', '-1'],
    ['ORLY_GRPC_ACL_SERVER', 'no port'],
  ]);
});
