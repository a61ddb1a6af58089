/**
 * The launcher's generic supervision with REAL child processes (fake services written to a
 * temp dir), driven in-process through Launcher + hand-built plans: readiness in stage order,
 * output tagging, restart with exponential backoff after an unexpected exit, crash loop ->
 * give-up with code 1 and everything stopped, a service exiting before it is ready, a
 * readiness timeout naming the service (earlier stages stopped), reverse-order shutdown
 * observed through the children's own timestamps, and SIGKILL after the stop timeout.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import type { RestartPolicy } from '../../src/launcher/config.js';
import { LaunchError, Launcher } from '../../src/launcher/launcher.js';
import type { LaunchPlan, ServicePlan, Stage } from '../../src/launcher/plan.js';
import { httpHealthProbe } from '../../src/launcher/readiness.js';
import { freePort, isAlive, readEvents, waitFor, writeFakeService } from './fake-service.js';

let dir: string;
let script: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'orly-launcher-sup-'));
  script = writeFakeService(dir);
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Captured {
  readonly logs: Array<Record<string, unknown>>;
  readonly lines: Array<{ line: string; stream: string }>;
  readonly launcher: Launcher;
}

const POLICY: RestartPolicy = { initialBackoffMs: 100, maxBackoffMs: 1000, maxRestarts: 3, windowMs: 60_000 };

let counter = 0;
async function service(
  name: string,
  stage: Stage,
  env: Record<string, string>,
  readyTimeoutMs = 5000,
): Promise<ServicePlan> {
  const port = await freePort();
  return {
    name,
    stage,
    command: process.execPath,
    args: [script],
    env: { ...process.env, FAKE_NAME: name, FAKE_PORT: String(port), ...env },
    probe: () => httpHealthProbe(`http://127.0.0.1:${port}/health`),
    readyTimeoutMs,
    binaryVariable: `TEST_${name}_BINARY`,
    readyTimeoutVariable: `TEST_${name}_READY_TIMEOUT`,
  };
}

function launch(stages: ServicePlan[][], overrides: Partial<LaunchPlan> = {}): Captured {
  const logs: Array<Record<string, unknown>> = [];
  const lines: Array<{ line: string; stream: string }> = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _enc, cb) {
        for (const l of String(chunk).split('\n')) if (l.trim()) logs.push(JSON.parse(l));
        cb();
      },
    }),
  );
  const plan: LaunchPlan = { stages, stopTimeoutMs: 5000, restart: POLICY, ...overrides };
  return {
    logs,
    lines,
    launcher: new Launcher(plan, { logger, sink: (line, stream) => lines.push({ line, stream }) }),
  };
}

function eventsFile(): string {
  return join(dir, `events-${++counter}.jsonl`);
}

describe('launcher supervision (fake services)', () => {
  test('starts stages in order, tags output, stops in reverse order waiting for each', async () => {
    const events = eventsFile();
    const env = { FAKE_EVENTS: events, FAKE_TERM_DELAY_MS: '150' };
    const { launcher, lines, logs } = launch([
      [await service('db', 'db', env)],
      [await service('acl', 'acl', env)],
      [await service('sync-a', 'sync', env), await service('sync-b', 'sync', env)],
      [await service('relay', 'relay', env)],
    ]);
    await launcher.start();
    const pids = Object.values(launcher.pids());
    assert.equal(pids.length, 5);
    const starts = readEvents(events).filter((e) => e.what === 'start');
    const startOf = (n: string) => starts.find((e) => e.name === n)!.t;
    assert.ok(startOf('db') < startOf('acl') && startOf('acl') < startOf('sync-a'));
    assert.ok(startOf('sync-b') < startOf('relay'));
    assert.ok(logs.some((l) => l.msg === 'all services ready'));

    // Output: JSON lines get a "child" field; plain lines are wrapped.
    await waitFor(
      () => lines.some((l) => l.stream === 'stderr' && l.line.includes('"child":"relay"')),
      2000,
      'stderr',
    );
    const json = lines.find((l) => l.stream === 'stdout' && l.line.includes('"child":"db"'))!;
    assert.deepEqual(
      { ...JSON.parse(json.line), run: undefined },
      { child: 'db', level: 'info', msg: 'fake up', name: 'db', run: undefined },
    );
    const plain = JSON.parse(
      lines.find((l) => l.stream === 'stderr' && l.line.includes('"child":"acl"'))!.line,
    );
    assert.equal(plain.msg, 'plain stderr line from acl');
    assert.equal(plain.stream, 'stderr');

    await launcher.shutdown(0, 'test');
    assert.deepEqual(await launcher.finished, { code: 0, reason: 'test' });
    for (const pid of pids) assert.equal(isAlive(pid), false, `pid ${pid} is gone`);
    const terms = readEvents(events).filter((e) => e.what === 'term');
    const termOf = (n: string) => terms.find((e) => e.name === n)!.t;
    // relay, then both sync services (in parallel), then acl, then db; each waited for.
    assert.ok(termOf('relay') + 140 <= termOf('sync-a'), 'sync stopped after the relay exited');
    assert.ok(Math.abs(termOf('sync-a') - termOf('sync-b')) < 100, 'sync services stopped together');
    assert.ok(Math.max(termOf('sync-a'), termOf('sync-b')) + 140 <= termOf('acl'), 'acl after sync');
    assert.ok(termOf('acl') + 140 <= termOf('db'), 'db last');
  });

  test('an unexpected exit is restarted with exponential backoff', async () => {
    const events = eventsFile();
    const { launcher, logs } = launch([
      [await service('db', 'db', { FAKE_EVENTS: events, FAKE_CRASH_RUNS: '2', FAKE_CRASH_AFTER_MS: '300' })],
    ]);
    await launcher.start();
    await waitFor(
      () => readEvents(events).filter((e) => e.what === 'start').length === 3,
      8000,
      'two restarts',
    );
    const [proc] = launcher.processes();
    await waitFor(() => proc!.pid !== undefined, 2000, 'running again');
    assert.equal(proc!.restarts, 2);
    const ev = readEvents(events);
    const crashes = ev.filter((e) => e.what === 'crash').map((e) => e.t);
    const starts = ev.filter((e) => e.what === 'start').map((e) => e.t);
    assert.ok(starts[1]! - crashes[0]! >= 100, `first backoff >= 100 ms (${starts[1]! - crashes[0]!})`);
    assert.ok(starts[2]! - crashes[1]! >= 200, `second backoff >= 200 ms (${starts[2]! - crashes[1]!})`);
    const restartLogs = logs.filter((l) => String(l.msg).includes('unexpectedly; restarting'));
    assert.deepEqual(
      restartLogs.map((l) => [l.child, l.restarts, l.backoffMs]),
      [
        ['db', 1, 100],
        ['db', 2, 200],
      ],
    );
    await launcher.shutdown(0, 'test');
    assert.equal((await launcher.finished).code, 0);
  });

  test('a crash loop stops everything with code 1, naming the service', async () => {
    const events = eventsFile();
    const { launcher } = launch(
      [
        [await service('db', 'db', { FAKE_EVENTS: events })],
        [
          await service('relay', 'relay', {
            FAKE_EVENTS: events,
            FAKE_CRASH_RUNS: '100',
            FAKE_CRASH_AFTER_MS: '150',
          }),
        ],
      ],
      { restart: { initialBackoffMs: 20, maxBackoffMs: 40, maxRestarts: 2, windowMs: 60_000 } },
    );
    await launcher.start();
    const dbPid = launcher.pids().db!;
    const outcome = await launcher.finished;
    assert.equal(outcome.code, 1);
    assert.match(
      outcome.reason,
      /^relay exited with code 1; it was restarted 2 times within 60s .*giving up$/,
    );
    assert.equal(readEvents(events).filter((e) => e.name === 'relay' && e.what === 'start').length, 3);
    assert.equal(isAlive(dbPid), false, 'the other services were stopped');
    assert.ok(
      readEvents(events).some((e) => e.name === 'db' && e.what === 'term'),
      'db got SIGTERM',
    );
  });

  test('a service exiting before it is ready fails the launch', async () => {
    const { launcher } = launch([[await service('db', 'db', { FAKE_EXIT_AT_START: '3' })]]);
    await assert.rejects(launcher.start(), (err: Error) => {
      assert.ok(err instanceof LaunchError);
      assert.equal(err.service, 'db');
      assert.equal(err.message, 'db exited with code 3 before it was ready');
      return true;
    });
    assert.equal((await launcher.finished).code, 1);
  });

  test('a readiness timeout names the service and stops what was started (reverse order)', async () => {
    const events = eventsFile();
    const { launcher } = launch([
      [await service('db', 'db', { FAKE_EVENTS: events })],
      [await service('acl', 'acl', { FAKE_EVENTS: events, FAKE_NO_LISTEN: '1' }, 600)],
      [await service('relay', 'relay', { FAKE_EVENTS: events })],
    ]);
    const began = Date.now();
    await assert.rejects(launcher.start(), (err: Error) => {
      assert.ok(err instanceof LaunchError);
      assert.match(
        err.message,
        /^acl was not ready within 600ms \(TEST_acl_READY_TIMEOUT\); last probe: GET http/,
      );
      return true;
    });
    assert.ok(Date.now() - began >= 600);
    const ev = readEvents(events);
    assert.ok(!ev.some((e) => e.name === 'relay'), 'later stages never started');
    const termAcl = ev.find((e) => e.name === 'acl' && e.what === 'term')!;
    const termDb = ev.find((e) => e.name === 'db' && e.what === 'term')!;
    assert.ok(termAcl.t <= termDb.t, 'acl stopped before db');
    for (const e of ev.filter((x) => x.what === 'start')) assert.equal(isAlive(e.pid), false);
    assert.equal((await launcher.finished).code, 1);
  });

  test('a service ignoring SIGTERM is SIGKILLed after the stop timeout', async () => {
    const events = eventsFile();
    const { launcher, logs } = launch(
      [[await service('db', 'db', { FAKE_EVENTS: events, FAKE_IGNORE_TERM: '1' })]],
      {
        stopTimeoutMs: 400,
      },
    );
    await launcher.start();
    const pid = launcher.pids().db!;
    const began = Date.now();
    await launcher.shutdown(0, 'test');
    const took = Date.now() - began;
    assert.ok(took >= 400 && took < 3000, `stop took ${took} ms`);
    assert.equal(isAlive(pid), false);
    assert.ok(
      readEvents(events).some((e) => e.what === 'term'),
      'SIGTERM was delivered first',
    );
    const stopped = logs.find((l) => l.msg === 'service stopped')!;
    assert.equal(stopped.forced, true);
    assert.equal(stopped.signal, 'SIGKILL');
  });
});
