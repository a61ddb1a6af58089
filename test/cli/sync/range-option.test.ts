/** `orly sync --range`: strfry's START-END syntax, relative to a given now. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRange, RangeOptionError } from '../../../src/cli/sync/range-option.js';
import { parseSyncArgs } from '../../../src/cli/sync/sync-command.js';
import { UsageError } from '../../../src/errors.js';

const NOW = 1_800_000_000;

describe('parseRange', () => {
  it('reads each unit and either side alone', () => {
    assert.deepEqual(parseRange('2M-', NOW), { since: NOW - 2 * 30.5 * 86_400 });
    assert.deepEqual(parseRange('-3w', NOW), { until: NOW - 21 * 86_400 });
    assert.deepEqual(parseRange('1Y-3w', NOW), {
      since: NOW - Math.floor(365.2425 * 86_400),
      until: NOW - 21 * 86_400,
    });
    assert.deepEqual(parseRange('30m-90s', NOW), { since: NOW - 1800, until: NOW - 90 });
    assert.equal(parseRange('1d-1.5h', NOW).until, NOW - 5400);
    assert.deepEqual(parseRange('-', NOW), {});
  });

  it('refuses a missing dash, unknown units, and a start after the end', () => {
    assert.throws(() => parseRange('2M', NOW), RangeOptionError);
    assert.throws(() => parseRange('2x-', NOW), /bad time "2x"/);
    assert.throws(() => parseRange('-1', NOW), RangeOptionError);
    assert.throws(() => parseRange('1d-1w', NOW), /starts after it ends/);
  });
});

describe('orly sync flags as strfry has them', () => {
  const env = { ORLY_DATA_DIR: '/tmp/unused' };
  it('--range sets since/until and refuses to combine with them in --filter', () => {
    const o = parseSyncArgs(['ws://127.0.0.1:1', '--range=1w-', '--filter', '{"kinds":[1]}'], env);
    assert.deepEqual(o.filter.kinds, [1]);
    assert.ok(
      o.filter.since !== undefined && Math.abs(o.filter.since - (Date.now() / 1000 - 7 * 86_400)) < 5,
    );
    assert.throws(
      () => parseSyncArgs(['ws://127.0.0.1:1', '--range', '1w-', '--filter', '{"since":5}'], env),
      UsageError,
    );
    assert.throws(() => parseSyncArgs(['ws://127.0.0.1:1', '--range', 'soon'], env), /--range:/);
  });

  it('--print-missing implies --dir none and refuses any other direction', () => {
    assert.equal(parseSyncArgs(['ws://127.0.0.1:1', '--print-missing'], env).dir, 'none');
    assert.equal(parseSyncArgs(['ws://127.0.0.1:1', '--print-missing', '--dir=none'], env).dir, 'none');
    assert.throws(
      () => parseSyncArgs(['ws://127.0.0.1:1', '--print-missing', '--dir', 'down'], env),
      /--print-missing only reconciles/,
    );
  });
});
