/**
 * `orly import` and `orly export` as real child processes on a real LMDB directory: a bad line
 * is reported on stderr with its line number and skipped without aborting; a tampered
 * signature is refused unless --no-verify; export writes JSONL oldest first, with an optional
 * filter.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fastKey, fastSign } from '../helpers/fast-sign.js';
import { ORLY_CLI } from '../helpers/relay-process.js';
import { type RunResult, runNode } from '../helpers/run-node.js';
import { SCRIPTABLE, ScriptDir } from '../helpers/write-plugins.js';

const dir = mkdtempSync(join(tmpdir(), 'orly-cli-io-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function orly(args: string[], stdin = ''): Promise<RunResult> {
  return runNode(ORLY_CLI, args, { stdin });
}

test('import reports bad lines by number and keeps going; export is oldest first', async () => {
  const key = fastKey();
  const base = Math.floor(Date.now() / 1000) - 1000;
  const newest = fastSign(key, { created_at: base + 30, content: 'newest', tags: [['t', 'x']] });
  const oldest = fastSign(key, { created_at: base + 10, content: 'oldest' });
  const middle = fastSign(key, { created_at: base + 20, content: 'middle', kind: 7 });
  const tampered = { ...fastSign(key, { created_at: base + 40, content: 'tampered' }) };
  tampered.sig = `${tampered.sig.slice(0, -2)}00`;
  const lines = [
    JSON.stringify(newest),
    'not json at all',
    JSON.stringify(oldest),
    JSON.stringify({ ...middle, id: 'ab' }),
    JSON.stringify(middle),
    JSON.stringify(tampered),
    '',
  ].join('\n');
  const imported = await orly(['import', '--data-dir', dir], lines);
  assert.equal(imported.code, 0, imported.stderr);
  assert.match(imported.stderr, /line 2: /, 'the unparseable line is named');
  assert.match(imported.stderr, /line 4: /, 'the malformed event is named');
  assert.match(imported.stderr, /line 6: .*signature/i, 'the bad signature is named');

  const exported = await orly(['export', '--data-dir', dir]);
  assert.equal(exported.code, 0, exported.stderr);
  const ids = exported.stdout
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { id: string }).id);
  assert.deepEqual(ids, [oldest.id, middle.id, newest.id], 'oldest first, the bad lines skipped');

  const filtered = await orly(['export', '--data-dir', dir, '--filter', '{"kinds":[7]}']);
  assert.equal(filtered.code, 0, filtered.stderr);
  assert.deepEqual(
    filtered.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { id: string }).id),
    [middle.id],
  );

  // --no-verify accepts the event whose signature does not verify (the operator's choice).
  const again = await orly(['import', '--no-verify', '--data-dir', dir], `${JSON.stringify(tampered)}\n`);
  assert.equal(again.code, 0, again.stderr);
  const all = await orly(['export', '--data-dir', dir]);
  assert.equal(all.stdout.trim().split('\n').length, 4);

  const badFilter = await orly(['export', '--data-dir', dir, '--filter', '{"ids":["xyz"]}']);
  assert.equal(badFilter.code, 2);
  assert.match(badFilter.stderr, /--filter: invalid: /);
});

test('import under ORLY_WRITE_POLICY_PLUGIN: the plugin sees sourceType Import; its rejects are skipped and named', async () => {
  const scripts = await ScriptDir.create();
  const store = mkdtempSync(join(tmpdir(), 'orly-cli-policy-'));
  try {
    const key = fastKey();
    const base = Math.floor(Date.now() / 1000) - 1000;
    const spec = (s: object, i: number) =>
      fastSign(key, { created_at: base + i, content: JSON.stringify(s) });
    const kept = spec({ action: 'accept' }, 1);
    const refused = spec({ action: 'reject', msg: 'ECHO' }, 2);
    const shadowed = spec({ action: 'shadowReject' }, 3);
    const lines = [kept, refused, shadowed].map((e) => JSON.stringify(e)).join('\n');
    const plugin = await scripts.write('policy.js', SCRIPTABLE);
    const imported = await runNode(ORLY_CLI, ['import', '--data-dir', store], {
      stdin: lines,
      env: { ORLY_WRITE_POLICY_PLUGIN: plugin },
    });
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(
      imported.stderr,
      /line 2: blocked: \{[^\n]*"sourceType":"Import"/,
      'the reject, with its input line',
    );
    assert.match(imported.stderr, /1 imported, 0 duplicates, 2 rejected/);
    const exported = await orly(['export', '--data-dir', store]);
    assert.deepEqual(
      exported.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { id: string }).id),
      [kept.id],
    );
  } finally {
    rmSync(store, { recursive: true, force: true });
    await scripts.remove();
  }
});
