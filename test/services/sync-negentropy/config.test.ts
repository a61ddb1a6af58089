/**
 * orly-sync-negentropy configuration: ORLY_SYNC_NEGENTROPY_MAX_SESSIONS (default 8, 1..1000)
 * and ORLY_SYNC_NEGENTROPY_ID_SIZE (an integer 1..32, else a ConfigError naming it; any value
 * but 32 is ignored with one startup warning, since NIP-77 v1 ids are always 32 bytes).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { idSizeWarning, loadNegentropyServiceConfig } from '../../../src/services/sync-negentropy/config.js';
import { configErrorOf } from '../../helpers/config-error.js';

const configError = (env: Record<string, string>) => configErrorOf(loadNegentropyServiceConfig, env);

test('defaults: 8 sessions per connection, 32-byte ids, no warning', () => {
  const c = loadNegentropyServiceConfig({});
  assert.equal(c.negMaxSessions, 8);
  assert.equal(c.idSize, 32);
  assert.equal(idSizeWarning(c), undefined);
});

test('ORLY_SYNC_NEGENTROPY_MAX_SESSIONS is parsed and bounded', () => {
  assert.equal(loadNegentropyServiceConfig({ ORLY_SYNC_NEGENTROPY_MAX_SESSIONS: '1' }).negMaxSessions, 1);
  assert.equal(
    loadNegentropyServiceConfig({ ORLY_SYNC_NEGENTROPY_MAX_SESSIONS: ' 1000 ' }).negMaxSessions,
    1000,
  );
  for (const bad of ['0', '1001', '-3', '2.5', 'many']) {
    const err = configError({ ORLY_SYNC_NEGENTROPY_MAX_SESSIONS: bad });
    assert.equal(err.variable, 'ORLY_SYNC_NEGENTROPY_MAX_SESSIONS', bad);
    assert.match(err.message, /ORLY_SYNC_NEGENTROPY_MAX_SESSIONS/);
  }
});

test('ORLY_SYNC_NEGENTROPY_ID_SIZE: 32 is silent, other values in 1..32 warn, anything else fails', () => {
  assert.equal(idSizeWarning(loadNegentropyServiceConfig({ ORLY_SYNC_NEGENTROPY_ID_SIZE: '32' })), undefined);
  for (const value of ['16', '1', '31']) {
    const c = loadNegentropyServiceConfig({ ORLY_SYNC_NEGENTROPY_ID_SIZE: value });
    assert.equal(c.idSize, Number(value));
    const warning = idSizeWarning(c);
    assert.ok(warning !== undefined, value);
    assert.match(warning, new RegExp(`^ORLY_SYNC_NEGENTROPY_ID_SIZE=${value} is ignored`));
    assert.match(warning, /full 32-byte ids/);
  }
  for (const bad of ['0', '33', '64', '-16', 'sixteen', '16.5']) {
    const err = configError({ ORLY_SYNC_NEGENTROPY_ID_SIZE: bad });
    assert.equal(err.variable, 'ORLY_SYNC_NEGENTROPY_ID_SIZE', bad);
    assert.match(err.message, /ORLY_SYNC_NEGENTROPY_ID_SIZE/);
  }
});

test('ORLY_SYNC_NEGENTROPY_FILTER (one JSON filter, as ORLY has it) or the FILTER_* parts', () => {
  const c = loadNegentropyServiceConfig({
    ORLY_SYNC_NEGENTROPY_FILTER: '{"kinds":[0,1,3],"since":1700000000}',
  });
  assert.deepEqual(c.sync.filter.kinds, [0, 1, 3]);
  assert.equal(c.sync.filter.since, 1_700_000_000);
  const parts = loadNegentropyServiceConfig({ ORLY_SYNC_NEGENTROPY_FILTER_KINDS: '1,7' });
  assert.deepEqual(parts.sync.filter.kinds, [1, 7]);
  const bad: Record<string, string>[] = [
    { ORLY_SYNC_NEGENTROPY_FILTER: '{"kinds":' },
    { ORLY_SYNC_NEGENTROPY_FILTER: '{"kinds":"1"}' },
    { ORLY_SYNC_NEGENTROPY_FILTER: '{"limit":5}' },
    { ORLY_SYNC_NEGENTROPY_FILTER: '{}', ORLY_SYNC_NEGENTROPY_FILTER_KINDS: '1' },
  ];
  for (const env of bad) {
    assert.equal(configError(env).variable, 'ORLY_SYNC_NEGENTROPY_FILTER', JSON.stringify(env));
  }
});
