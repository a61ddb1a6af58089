/**
 * Unit tests for src/protocol/messages.ts: parsing client frames (every verb, every kind of
 * malformed input), subscription-id validation, the relay frame builders (raw event JSON is
 * spliced verbatim), and a fuzz test.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Reasons } from '../../src/errors.js';
import {
  authFrame,
  CLIENT_VERBS,
  closedFrame,
  countFrame,
  eoseFrame,
  eventFrame,
  eventFramePrefix,
  isValidSubId,
  noticeFrame,
  okFrame,
  parseClientMessage,
} from '../../src/protocol/messages.js';
import { seededRandom } from '../helpers/events.js';

test('parseClientMessage: accepts every client verb', () => {
  const frames = [
    '["EVENT",{"id":"x"}]',
    '["REQ","sub",{"kinds":[1]},{}]',
    '["CLOSE","sub"]',
    '["AUTH",{}]',
    '["COUNT","q",{}]',
    '["NEG-OPEN","n",{},"6100"]',
    '["NEG-MSG","n","61"]',
    '["NEG-CLOSE","n"]',
  ];
  for (const frame of frames) {
    const parsed = parseClientMessage(frame);
    assert.ok(parsed.ok, frame);
    assert.deepEqual(parsed.message, JSON.parse(frame));
  }
  assert.equal(CLIENT_VERBS.size, frames.length);
});

test('parseClientMessage: arity and payload are left to the handlers', () => {
  const parsed = parseClientMessage('["REQ"]');
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.message, ['REQ']);
});

test('parseClientMessage: rejects non-JSON', () => {
  for (const text of ['', 'hello', '["EVENT",', '{"a":1', '[1,]', "['EVENT']", '\u0000']) {
    assert.deepEqual(parseClientMessage(text), { ok: false, reason: Reasons.notJson }, JSON.stringify(text));
  }
});

test('parseClientMessage: rejects JSON that is not an array with a string verb first', () => {
  for (const text of [
    '{}',
    '{"0":"EVENT"}',
    '"EVENT"',
    '1',
    'null',
    'true',
    '[]',
    '[1]',
    '[null,"x"]',
    '[["EVENT"]]',
  ]) {
    assert.deepEqual(parseClientMessage(text), { ok: false, reason: Reasons.notArray }, text);
  }
});

test('parseClientMessage: rejects unknown verbs, case-sensitively', () => {
  for (const verb of ['event', 'PUBLISH', 'OK', 'EOSE', 'NOTICE', '', 'NEG-ERR']) {
    const parsed = parseClientMessage(JSON.stringify([verb, 'x']));
    assert.deepEqual(parsed, { ok: false, reason: Reasons.unknownVerb(verb) }, verb);
    assert.ok(!parsed.ok && parsed.reason.startsWith('invalid: '));
  }
  // The echoed verb is truncated.
  const long = parseClientMessage(JSON.stringify(['X'.repeat(1000)]));
  assert.ok(!long.ok && long.reason.length < 100);
});

test('isValidSubId: a non-empty string of at most 64 characters', () => {
  assert.ok(isValidSubId('a'));
  assert.ok(isValidSubId('x'.repeat(64)));
  assert.ok(isValidSubId('日本 🤙'));
  assert.ok(!isValidSubId(''));
  assert.ok(!isValidSubId('x'.repeat(65)));
  assert.ok(!isValidSubId(1));
  assert.ok(!isValidSubId(null));
  assert.ok(!isValidSubId(['a']));
});

test('eventFrame: splices the raw event JSON verbatim', () => {
  const raw = '{"id":"x","content":"a\\u0001 \\"q\\""}';
  assert.equal(eventFramePrefix('sub'), '["EVENT","sub",');
  assert.equal(eventFrame('sub', raw), `["EVENT","sub",${raw}]`);
  // The subscription id is JSON-escaped.
  const frame = eventFrame('s"\\\n', '{}');
  assert.deepEqual(JSON.parse(frame), ['EVENT', 's"\\\n', {}]);
});

test('relay frames', () => {
  assert.equal(okFrame('abc', true, ''), '["OK","abc",true,""]');
  assert.equal(okFrame('abc', false, 'invalid: x'), '["OK","abc",false,"invalid: x"]');
  assert.equal(eoseFrame('sub'), '["EOSE","sub"]');
  assert.equal(closedFrame('sub', 'error: x'), '["CLOSED","sub","error: x"]');
  assert.equal(noticeFrame('hi "there"'), '["NOTICE","hi \\"there\\""]');
  assert.equal(authFrame('challenge'), '["AUTH","challenge"]');
  assert.equal(countFrame('q', 42), '["COUNT","q",{"count":42}]');
});

test('fuzz: parseClientMessage never throws', () => {
  const rand = seededRandom(1234);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(rand() * values.length)]!;
  const atoms = [
    'EVENT',
    'REQ',
    'CLOSE',
    'AUTH',
    'COUNT',
    'NEG-OPEN',
    'x',
    '',
    null,
    1,
    -0.5,
    true,
    {},
    [],
    '\ud800',
  ];
  const value = (depth: number): unknown => {
    const r = rand();
    if (depth > 3 || r < 0.5) return pick(atoms);
    if (r < 0.8) return Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1));
    return { kinds: value(depth + 1), '#t': value(depth + 1) };
  };
  const alphabet = '[]{}",:0123456789EVNTREQ\\u \u0000\ud83d\ude00';
  for (let i = 0; i < 5000; i++) {
    const json = JSON.stringify(value(0)) ?? 'null';
    const inputs = [json, json.slice(0, Math.floor(rand() * (json.length + 1)))];
    let noise = '';
    for (let n = Math.floor(rand() * 20); n > 0; n--) noise += pick([...alphabet]);
    inputs.push(noise);
    for (const text of inputs) {
      const parsed = parseClientMessage(text);
      if (parsed.ok) assert.ok(CLIENT_VERBS.has(parsed.message[0]));
      else assert.match(parsed.reason, /^invalid: /);
    }
  }
});
