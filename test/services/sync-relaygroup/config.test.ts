/**
 * orly-sync-relaygroup configuration: defaults, the admins (hex or npub, as in process), the
 * optional orly-sync-distributed address, and errors naming the variable.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nip19 } from 'nostr-tools';
import { loadRelayGroupServiceConfig } from '../../../src/services/sync-relaygroup/config.js';
import { assertErrorsNameTheirVariable } from '../../helpers/config-error.js';
import { newKeys } from '../../helpers/nostr.js';

test('defaults: 127.0.0.1:50063, orly-db on 50051, no admins, no orly-sync-distributed', () => {
  assert.deepEqual(loadRelayGroupServiceConfig({}), {
    listen: '127.0.0.1:50063',
    dbServer: '127.0.0.1:50051',
    logLevel: 'info',
    admins: [],
    distributedServer: undefined,
  });
  assert.equal(loadRelayGroupServiceConfig({ ORLY_LOG_LEVEL: 'warn' }).logLevel, 'warn');
});

test('every variable', () => {
  const [a, b] = [newKeys(), newKeys()];
  assert.deepEqual(
    loadRelayGroupServiceConfig({
      ORLY_SYNC_RELAYGROUP_LISTEN: '0.0.0.0:7063',
      ORLY_SYNC_RELAYGROUP_DB_TYPE: 'GRPC',
      ORLY_SYNC_RELAYGROUP_DB_SERVER: '10.0.0.2:7051',
      ORLY_SYNC_RELAYGROUP_LOG_LEVEL: 'debug',
      ORLY_SYNC_RELAYGROUP_DISTRIBUTED_SERVER: '127.0.0.1:50061',
      ORLY_RELAY_GROUP_ADMINS: `${a.pk}, ${nip19.npubEncode(b.pk)},${a.pk}`,
    }),
    {
      listen: '0.0.0.0:7063',
      dbServer: '10.0.0.2:7051',
      logLevel: 'debug',
      admins: [a.pk, b.pk],
      distributedServer: '127.0.0.1:50061',
    },
  );
});

test('invalid values name their variable', () => {
  assertErrorsNameTheirVariable(loadRelayGroupServiceConfig, [
    ['ORLY_SYNC_RELAYGROUP_DB_TYPE', 'badger'],
    ['ORLY_SYNC_RELAYGROUP_LISTEN', 'nowhere'],
    ['ORLY_SYNC_RELAYGROUP_DB_SERVER', 'host:99999'],
    ['ORLY_SYNC_RELAYGROUP_LOG_LEVEL', 'loud'],
    ['ORLY_SYNC_RELAYGROUP_DISTRIBUTED_SERVER', 'no port'],
    ['ORLY_RELAY_GROUP_ADMINS', 'npub1notakey'],
  ]);
});
