/**
 * Unit tests for src/sync/cluster/cluster-http.ts: the strict parse of `/cluster/events` queries
 * (defaults, bounds, every malformed number, repeated parameters) and the exact JSON bodies of
 * `/cluster/events` and `/cluster/latest` (ORLY's shapes: events always an array, next_from left
 * out when 0).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_RANGE_LIMIT,
  eventsRangeBody,
  latestBody,
  MAX_RANGE_LIMIT,
  parseEventsRangeQuery,
} from '../../../src/sync/cluster/cluster-http.js';

function parsed(query: string) {
  const r = parseEventsRangeQuery(new URLSearchParams(query));
  assert.ok(r.ok, `${query}: ${r.ok ? '' : r.error}`);
  return { from: r.from, to: r.to, limit: r.limit };
}

function errorOf(query: string): string {
  const r = parseEventsRangeQuery(new URLSearchParams(query));
  assert.ok(!r.ok, `${query} should be refused`);
  assert.match(r.error, /^invalid: /);
  return r.error;
}

describe('parseEventsRangeQuery', () => {
  it('reads from, to and limit', () => {
    assert.deepEqual(parsed('from=5&to=10&limit=20'), { from: 5, to: 10, limit: 20 });
    assert.deepEqual(parsed('limit=1&to=0&from=0'), { from: 0, to: 0, limit: 1 });
    assert.deepEqual(parsed('from=007&to=7'), { from: 7, to: 7, limit: DEFAULT_RANGE_LIMIT });
  });

  it('defaults to to unbounded and limit 1000, and ignores other parameters', () => {
    assert.deepEqual(parsed('from=1'), { from: 1, to: Number.MAX_SAFE_INTEGER, limit: 1000 });
    assert.deepEqual(parsed('from=1&cachebust=x&since=abc'), {
      from: 1,
      to: Number.MAX_SAFE_INTEGER,
      limit: 1000,
    });
  });

  it('accepts the largest values', () => {
    const max = String(Number.MAX_SAFE_INTEGER);
    assert.deepEqual(parsed(`from=${max}&to=${max}&limit=${MAX_RANGE_LIMIT}`), {
      from: Number.MAX_SAFE_INTEGER,
      to: Number.MAX_SAFE_INTEGER,
      limit: 10_000,
    });
  });

  it('requires from', () => {
    assert.match(errorOf(''), /from is required/);
    assert.match(errorOf('to=5&limit=10'), /from is required/);
  });

  it('refuses numbers that are not plain non-negative safe integers', () => {
    for (const bad of [
      '-1',
      '+1',
      '1e3',
      '1.0',
      '1.5',
      '0x10',
      ' 1',
      '1 ',
      '',
      'abc',
      'NaN',
      'Infinity',
      '9007199254740992',
      '99999999999999999999',
      '1'.repeat(400),
      '١',
    ]) {
      assert.match(errorOf(`from=${encodeURIComponent(bad)}`), /from must be a non-negative integer/, bad);
      assert.match(errorOf(`from=1&to=${encodeURIComponent(bad)}`), /to must be/, bad);
      assert.match(errorOf(`from=1&limit=${encodeURIComponent(bad)}`), /limit must be/, bad);
    }
  });

  it('quotes a long bad value only in part', () => {
    const error = errorOf(`from=${'x'.repeat(10_000)}`);
    assert.ok(error.length < 200, error);
  });

  it('refuses a parameter given twice', () => {
    assert.match(errorOf('from=1&from=2'), /from is given more than once/);
    assert.match(errorOf('from=1&to=5&to=6'), /to is given more than once/);
    assert.match(errorOf('from=1&limit=5&limit=5'), /limit is given more than once/);
  });

  it('refuses to below from', () => {
    assert.match(errorOf('from=10&to=9'), /to \(9\) is below from \(10\)/);
  });

  it('refuses a limit outside 1..10000', () => {
    assert.match(errorOf('from=1&limit=0'), /limit must be between 1 and 10000/);
    assert.match(errorOf('from=1&limit=10001'), /limit must be between 1 and 10000/);
    assert.match(errorOf('from=1&limit=1000000'), /limit must be between 1 and 10000/);
  });
});

describe('eventsRangeBody', () => {
  const id1 = 'a'.repeat(64);
  const id2 = 'b'.repeat(64);

  it('writes ORLY shape, with next_from', () => {
    assert.equal(
      eventsRangeBody(
        [
          { serial: 3, id: id1, createdAt: 1_700_000_000 },
          { serial: 9, id: id2, createdAt: 1_700_000_001 },
        ],
        true,
        10,
      ),
      `{"events":[{"serial":3,"id":"${id1}","timestamp":1700000000},` +
        `{"serial":9,"id":"${id2}","timestamp":1700000001}],"has_more":true,"next_from":10}`,
    );
  });

  it('leaves next_from out when 0 and writes an empty list as []', () => {
    assert.equal(eventsRangeBody([], false, 0), '{"events":[],"has_more":false}');
    assert.deepEqual(JSON.parse(eventsRangeBody([{ serial: 1, id: id1, createdAt: 5 }], false, 0)), {
      events: [{ serial: 1, id: id1, timestamp: 5 }],
      has_more: false,
    });
  });

  it('writes only the three fields of a row', () => {
    const row = { serial: 1, id: id1, createdAt: 5, extra: 'x' };
    assert.equal(
      eventsRangeBody([row], false, 0),
      `{"events":[{"serial":1,"id":"${id1}","timestamp":5}],"has_more":false}`,
    );
  });
});

describe('latestBody', () => {
  it('writes the serial and the time', () => {
    assert.equal(latestBody(42, 1_700_000_000), '{"serial":42,"timestamp":1700000000}');
    assert.equal(latestBody(0, 5), '{"serial":0,"timestamp":5}');
  });
});
