/**
 * The strfry-compatible write-policy plugin runner (src/acl/policy/) against REAL plugin processes
 * (test/helpers/write-plugins.ts): verdicts and the input line, many events in flight answered out
 * of order, crash and restart with backoff, a hung plugin, garbage output, stderr in the log,
 * reload when the script changes, stop() and the PIDs gone, a POSIX shell plugin and strfry's own
 * example plugin unchanged. Every test stops its plugin and checks every PID it saw is gone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MAX_MSG_CHARS } from '../../src/acl/policy/plugin-protocol.js';
import {
  type PluginSource,
  type PluginVerdict,
  WritePolicyPlugin,
  type WritePolicyPluginOptions,
} from '../../src/acl/policy/write-plugin.js';
import { hexOf, unsignedEvent } from '../helpers/events.js';
import { waitFor } from '../helpers/wait.js';
import {
  alive,
  CRASH_ON_THIRD,
  captureLogger,
  IGNORES_SIGTERM,
  inputOf,
  type LogLine,
  REJECT_ALL,
  SCRIPTABLE,
  ScriptDir,
  SHELL_ACCEPT,
  STRFRY_WHITELIST,
  scripted,
} from '../helpers/write-plugins.js';

let dir: ScriptDir;
let scriptable: string;
before(async () => {
  dir = await ScriptDir.create();
  scriptable = await dir.write('scriptable.cjs', SCRIPTABLE);
});
after(() => dir.remove());

interface Running {
  readonly plugin: WritePolicyPlugin;
  readonly lines: LogLine[];
  /** Every PID seen; all must be gone after stop(). */
  readonly pids: Set<number>;
  readonly pid: () => number;
}

/** Starts a plugin, runs `body`, stops it and checks that no process it started is left. */
async function withPlugin(
  options: Partial<WritePolicyPluginOptions> & { command: string },
  body: (r: Running) => Promise<void>,
): Promise<void> {
  const { logger, lines } = captureLogger();
  const plugin = new WritePolicyPlugin({ logger, ...options });
  await plugin.start();
  const pids = new Set<number>();
  const pid = () => {
    const p = plugin.pid;
    assert.ok(p !== undefined, 'a plugin process runs');
    pids.add(p);
    return p;
  };
  pid();
  try {
    await body({ plugin, lines, pids, pid });
  } finally {
    await plugin.stop();
  }
  for (const p of pids) await waitFor(() => !alive(p), 5000, `PID ${p} gone`);
}

const error = (msg: string): PluginVerdict => ({ action: 'error', msg });

describe('write-policy plugin: verdicts', () => {
  it('accept, reject (prefix kept or blocked: added), shadowReject', async () => {
    await withPlugin({ command: scriptable }, async ({ plugin }) => {
      const decide = (spec: Record<string, unknown>) => plugin.decide(inputOf(scripted(spec)));
      assert.deepEqual(await decide({ action: 'accept' }), { action: 'accept' });
      assert.deepEqual(await decide({ action: 'reject', msg: 'blocked: go away' }), {
        action: 'reject',
        msg: 'blocked: go away',
      });
      assert.deepEqual(await decide({ action: 'reject', msg: 'pow: need 20 bits' }), {
        action: 'reject',
        msg: 'pow: need 20 bits',
      });
      assert.deepEqual(await decide({ action: 'reject', msg: 'not on the list' }), {
        action: 'reject',
        msg: 'blocked: not on the list',
      });
      assert.deepEqual(await decide({ action: 'reject', msg: 'nope: unknown prefix' }), {
        action: 'reject',
        msg: 'blocked: nope: unknown prefix',
      });
      assert.deepEqual(await decide({ action: 'reject' }), {
        action: 'reject',
        msg: 'blocked: rejected by write policy',
      });
      assert.deepEqual(await decide({ action: 'shadowReject', msg: 'shh' }), { action: 'shadowReject' });
      const long = 'invalid: ' + 'y'.repeat(5000);
      assert.deepEqual(await decide({ action: 'reject', msg: long }), {
        action: 'reject',
        msg: long.slice(0, MAX_MSG_CHARS),
      });
    });
  });

  it('sends strfry input lines: type new, receivedAt, sourceType, sourceInfo, authed only when given', async () => {
    await withPlugin({ command: scriptable }, async ({ plugin }) => {
      const echo = async (extra: Parameters<typeof inputOf>[1]) => {
        const verdict = await plugin.decide(inputOf(scripted({ action: 'reject', msg: 'ECHO' }), extra));
        assert.equal(verdict.action, 'reject');
        return JSON.parse((verdict as { msg: string }).msg.slice('blocked: '.length));
      };
      assert.deepEqual(await echo({}), {
        type: 'new',
        receivedAt: 1_700_000_123,
        sourceType: 'IP4',
        sourceInfo: '203.0.113.9',
      });
      const authed = hexOf(7);
      assert.deepEqual(await echo({ sourceType: 'IP6', sourceInfo: '2001:db8::1', authed }), {
        type: 'new',
        receivedAt: 1_700_000_123,
        sourceType: 'IP6',
        sourceInfo: '2001:db8::1',
        authed,
      });
      const sources: PluginSource[] = ['IP4', 'IP6', 'Import', 'Stream', 'Sync', 'Stored'];
      for (const sourceType of sources) {
        const sourceInfo = sourceType === 'Sync' ? 'wss://peer.example' : '';
        const line = await echo({ sourceType, sourceInfo });
        assert.deepEqual([line.sourceType, line.sourceInfo], [sourceType, sourceInfo]);
      }
    });
  });

  it('many events in flight, answered out of order, repeated ids matched in order', async () => {
    await withPlugin({ command: scriptable }, async ({ plugin }) => {
      const specs = Array.from({ length: 200 }, (_, i) => ({
        action: i % 3 === 0 ? 'accept' : 'reject',
        msg: `blocked: event ${i}`,
        delay: (i * 37) % 50,
      }));
      const verdicts = await Promise.all(specs.map((spec) => plugin.decide(inputOf(scripted(spec)))));
      verdicts.forEach((verdict, i) => {
        assert.deepEqual(
          verdict,
          i % 3 === 0 ? { action: 'accept' } : { action: 'reject', msg: `blocked: event ${i}` },
        );
      });
      const same = scripted({ action: 'reject', msg: 'SEQ' });
      const three = await Promise.all([0, 1, 2].map(() => plugin.decide(inputOf(same))));
      assert.deepEqual(
        three.map((v) => (v as { msg: string }).msg),
        ['blocked: 0', 'blocked: 1', 'blocked: 2'],
      );
    });
  });

  it('beyond maxInFlight events queue (answered in turn); beyond the queue a rate-limited error at once', async () => {
    await withPlugin({ command: scriptable, maxInFlight: 2, maxQueued: 1 }, async ({ plugin }) => {
      const slow = [1, 2].map(() => plugin.decide(inputOf(scripted({ delay: 300 }))));
      const queued = plugin.decide(inputOf(scripted({ action: 'reject', msg: 'third' })));
      assert.deepEqual(
        await plugin.decide(inputOf(scripted())),
        error('rate-limited: write-policy plugin is busy, try again later'),
      );
      assert.deepEqual(await Promise.all(slow), [{ action: 'accept' }, { action: 'accept' }]);
      assert.deepEqual(await queued, { action: 'reject', msg: 'blocked: third' });
      assert.deepEqual(await plugin.decide(inputOf(scripted())), { action: 'accept' });
    });
  });

  it('queued events of a plugin that dies get its error at once, not a timeout', async () => {
    await withPlugin(
      { command: scriptable, maxInFlight: 1, restartBackoffMs: { min: 5000, max: 5000 } },
      async ({ plugin }) => {
        const dying = plugin.decide(inputOf(scripted({ delay: 100, exit: 4 })));
        const started = Date.now();
        const queued = plugin.decide(inputOf(scripted()));
        assert.equal((await dying).action, 'error');
        assert.equal((await queued).action, 'error');
        assert.ok(Date.now() - started < 2000, 'answered when the plugin died');
      },
    );
  });
});

describe('write-policy plugin: failures', () => {
  it('crashes on its 3rd event: error, down meanwhile, restarted and working again', async () => {
    const command = await dir.write('crash.cjs', CRASH_ON_THIRD);
    await withPlugin({ command, restartBackoffMs: { min: 200, max: 1000 } }, async ({ plugin, pid }) => {
      const first = pid();
      assert.deepEqual(await plugin.decide(inputOf(scripted())), { action: 'accept' });
      assert.deepEqual(await plugin.decide(inputOf(scripted())), { action: 'accept' });
      assert.deepEqual(await plugin.decide(inputOf(scripted())), error('error: write-policy plugin exited'));
      assert.deepEqual(
        await plugin.decide(inputOf(scripted())),
        error('error: write-policy plugin is not running'),
      );
      await waitFor(() => plugin.pid !== undefined, 5000, 'the restart');
      assert.notEqual(pid(), first);
      assert.deepEqual(await plugin.decide(inputOf(scripted())), { action: 'accept' });
    });
  });

  it('hangs: the event times out, the others in flight fail, the plugin is restarted', async () => {
    await withPlugin(
      { command: scriptable, timeoutMs: 300, restartBackoffMs: { min: 50, max: 1000 } },
      async ({ plugin, pid }) => {
        const first = pid();
        const hung = plugin.decide(inputOf(scripted({ hang: true })));
        const slow = plugin.decide(inputOf(scripted({ delay: 2000 })));
        assert.deepEqual(await hung, error('error: write-policy plugin timed out'));
        assert.deepEqual(await slow, error('error: write-policy plugin was restarted'));
        await waitFor(() => !alive(first), 5000, 'the hung plugin killed');
        await waitFor(() => plugin.pid !== undefined, 5000, 'the restart');
        assert.notEqual(pid(), first);
        assert.deepEqual(await plugin.decide(inputOf(scripted())), { action: 'accept' });
      },
    );
  });

  it('exits at once every time: errors only, restarts with a bounded exponential backoff', async () => {
    await withPlugin(
      { command: 'exit 1', restartBackoffMs: { min: 50, max: 200 } },
      async ({ plugin, lines, pids }) => {
        const delays = () => lines.filter((l) => l.restartInMs !== undefined).map((l) => l.restartInMs);
        await waitFor(
          () => delays().length >= 5,
          10_000,
          () => `5 restarts, saw ${delays()}`,
        );
        assert.deepEqual(delays().slice(0, 5), [50, 100, 200, 200, 200]);
        for (let i = 0; i < 20; i++) {
          if (plugin.pid !== undefined) pids.add(plugin.pid);
          assert.equal((await plugin.decide(inputOf(scripted()))).action, 'error');
        }
      },
    );
  });

  it('garbage: non-JSON lines are skipped (strfry: junk around an answer works), rate-limited in the log', async () => {
    await withPlugin({ command: scriptable }, async ({ plugin, lines, pid }) => {
      const first = pid();
      const raw = `SOME JUNK\n{"id":"@ID@","action":"accept"}\nMORE JUNK`;
      assert.deepEqual(await plugin.decide(inputOf(scripted({ raw }))), { action: 'accept' });
      const junk = () => lines.filter((l) => l.msg === 'write-policy plugin: line is not JSON (ignored)');
      await waitFor(() => junk().length === 2, 5000, 'two junk lines logged');
      assert.deepEqual(
        junk().map((l) => [l.line, l.level]),
        [
          ['SOME JUNK', 40],
          ['MORE JUNK', 40],
        ],
      );
      const flood = `${'junk\n'.repeat(100)}{"id":"@ID@","action":"shadowReject"}`;
      assert.deepEqual(await plugin.decide(inputOf(scripted({ raw: flood }))), { action: 'shadowReject' });
      assert.equal(junk().length, 20, 'at most 20 garbage lines logged in 10 s');
      assert.equal(pid(), first, 'not restarted');
    });
  });

  it('garbage: unknown action, unknown id, no JSON answer at all, an endless line: error, never accept', async () => {
    await withPlugin(
      { command: scriptable, timeoutMs: 500, maxLineBytes: 1024, restartBackoffMs: { min: 20, max: 100 } },
      async ({ plugin, lines, pid }) => {
        const restartedAfter = async (spec: Record<string, unknown>, expected: PluginVerdict) => {
          const before = pid();
          assert.deepEqual(await plugin.decide(inputOf(scripted(spec))), expected);
          await waitFor(() => plugin.pid !== undefined && plugin.pid !== before, 5000, 'a new process');
          pid();
        };
        await restartedAfter({ action: 'maybe' }, error('error: write-policy plugin gave an invalid answer'));
        assert.ok(lines.some((l) => l.problem === 'unknown action "maybe"'));
        await restartedAfter({ id: hexOf(999) }, error('error: write-policy plugin was restarted'));
        assert.ok(lines.some((l) => l.msg === 'write-policy plugin: answer for an id not in flight'));
        await restartedAfter({ raw: '[1,2,3]' }, error('error: write-policy plugin was restarted'));
        await restartedAfter(
          { raw: 'A'.repeat(5000) },
          error('error: write-policy plugin gave an invalid answer'),
        );
        assert.ok(lines.some((l) => l.msg === 'write-policy plugin: answer line too long'));
        await restartedAfter({ raw: 'not json at all' }, error('error: write-policy plugin timed out'));
        assert.deepEqual(await plugin.decide(inputOf(scripted())), { action: 'accept' });
      },
    );
  });

  it("the plugin's stderr reaches the log at warn, line by line, long lines cut", async () => {
    await withPlugin({ command: scriptable }, async ({ plugin, lines }) => {
      const stderr = 'hello from the plugin\nsecond line\n' + 'x'.repeat(10_000);
      assert.deepEqual(await plugin.decide(inputOf(scripted({ stderr }))), { action: 'accept' });
      const logged = () => lines.filter((l) => l.msg === 'write-policy plugin stderr');
      await waitFor(
        () => logged().length === 3,
        5000,
        () => `3 stderr lines, saw ${logged().length}`,
      );
      assert.deepEqual(
        logged().map((l) => [l.level, String(l.line).slice(0, 30)]),
        [
          [40, 'hello from the plugin'],
          [40, 'second line'],
          [40, 'x'.repeat(30)],
        ],
      );
      assert.equal(logged()[2].cut, true);
      assert.ok(String(logged()[2].line).length < 1100);
    });
  });
});

describe('write-policy plugin: reload and stop', () => {
  it('reloads when the script changes: the old one finishes its events, new events go to the new one', async () => {
    const command = await dir.write('reloading.cjs', SCRIPTABLE);
    await withPlugin({ command, timeoutMs: 10_000 }, async ({ plugin, pid }) => {
      const first = pid();
      assert.deepEqual(await plugin.decide(inputOf(scripted())), { action: 'accept' });
      let slowSettled = false;
      const slow = plugin.decide(inputOf(scripted({ delay: 4000 }))).finally(() => {
        slowSettled = true;
      });
      await dir.write('reloading.cjs', REJECT_ALL);
      await waitFor(
        async () => (await plugin.decide(inputOf(scripted()))).action === 'reject',
        5000,
        'the new version',
      );
      assert.notEqual(pid(), first);
      assert.equal(slowSettled, false, 'the old plugin still has its event');
      assert.deepEqual(await slow, { action: 'accept' });
      await waitFor(() => !alive(first), 5000, 'the old plugin gone once drained');
      assert.deepEqual(await plugin.decide(inputOf(scripted())), { action: 'reject', msg: 'blocked: v2' });
    });
  });

  it('stop(): events in flight get an error, the shell and the plugin are gone; later decisions error', async () => {
    const { logger } = captureLogger();
    const plugin = new WritePolicyPlugin({ command: `node ${scriptable}`, logger });
    assert.deepEqual(
      await plugin.decide(inputOf(scripted())),
      error('error: write-policy plugin is not running'),
    );
    await plugin.start();
    const shellPid = plugin.pid!;
    const reply = await plugin.decide(inputOf(scripted({ action: 'reject', msg: 'PID' })));
    const nodePid = Number((reply as { msg: string }).msg.slice('blocked: '.length));
    assert.ok(alive(shellPid) && alive(nodePid));
    const hung = plugin.decide(inputOf(scripted({ hang: true })));
    await plugin.stop();
    assert.deepEqual(await hung, error('error: write-policy plugin stopped'));
    assert.equal(alive(shellPid), false);
    await waitFor(() => !alive(nodePid), 5000, 'the node plugin gone');
    assert.deepEqual(await plugin.decide(inputOf(scripted())), error('error: write-policy plugin stopped'));
  });

  it('stop(): a plugin ignoring SIGTERM is killed after the grace period', async () => {
    const command = await dir.write('stubborn.cjs', IGNORES_SIGTERM);
    let logged: LogLine[] = [];
    await withPlugin({ command, killGraceMs: 300 }, async ({ plugin, lines, pids }) => {
      logged = lines;
      const reply = await plugin.decide(inputOf(scripted()));
      pids.add(Number((reply as { msg: string }).msg.slice('blocked: '.length)));
    });
    assert.ok(
      logged.some((l) => l.line === 'ignoring SIGTERM'),
      'it got SIGTERM and ignored it (and is gone: SIGKILL)',
    );
  });

  it('start() rejects an empty command, a missing script, a script that is not executable', async () => {
    const { logger } = captureLogger();
    await assert.rejects(new WritePolicyPlugin({ command: ' ', logger }).start(), /command is empty/);
    await assert.rejects(
      new WritePolicyPlugin({ command: `${dir.path}/missing.js`, logger }).start(),
      /ENOENT/,
    );
    const plain = await dir.write('plain.cjs', SCRIPTABLE, 0o644);
    await assert.rejects(new WritePolicyPlugin({ command: plain, logger }).start(), /EACCES/);
  });
});

describe('write-policy plugin: other plugins', () => {
  it('a POSIX shell plugin', async () => {
    const command = await dir.write('accept.sh', SHELL_ACCEPT);
    await withPlugin({ command }, async ({ plugin }) => {
      const verdicts = await Promise.all([1, 2, 3].map(() => plugin.decide(inputOf(scripted()))));
      assert.deepEqual(verdicts, [{ action: 'accept' }, { action: 'accept' }, { action: 'accept' }]);
    });
  });

  it("strfry's docs/plugins.md whitelist example, unchanged", async () => {
    const command = await dir.write('whitelist.js', STRFRY_WHITELIST);
    await withPlugin({ command }, async ({ plugin }) => {
      const listed = '003ba9b2c5bd8afeed41a4ce362a8b7fc3ab59c25b6a1359cae9093f296dac01';
      assert.deepEqual(await plugin.decide(inputOf(unsignedEvent(listed))), { action: 'accept' });
      assert.deepEqual(await plugin.decide(inputOf(unsignedEvent(hexOf(5)))), {
        action: 'reject',
        msg: 'blocked: not on white-list',
      });
    });
  });
});
