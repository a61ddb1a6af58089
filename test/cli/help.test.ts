/**
 * The command lines of every ORLY command, as real child processes: -h / --help prints that
 * command's usage on stdout and exits 0 (nothing started, nothing on stderr); an unknown option
 * exits 2 naming the option, with the usage on stderr; so do a missing value, a value given to a
 * flag and a positional argument the command does not take. In-process: the parser itself
 * (src/cli/args.ts) and strfry's `--flag value` / `--flag=value` forms of `orly sync`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseSyncArgs } from '../../src/cli/sync/sync-command.js';
import { parseCommandLine } from '../../src/config/args.js';
import { UsageError } from '../../src/errors.js';
import { runNode } from '../helpers/run-node.js';

const cli = (name: string) => fileURLToPath(new URL(`../../src/cli/${name}.js`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'orly-cli-help-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// A command that ignored --help would start and keep running: runNode's timeout fails the test.
const env = { ORLY_DATA_DIR: dir, ORLY_DB_DATA_DIR: dir };
const run = (name: string, args: readonly string[]) => runNode(cli(name), args, { env, timeoutMs: 20_000 });

interface CommandCase {
  /** The script in src/cli and the subcommand, if any. */
  readonly script: string;
  readonly sub: readonly string[];
  /** A line of this command's own usage (and of no other's). */
  readonly usage: RegExp;
}

const COMMANDS: readonly CommandCase[] = [
  { script: 'orly', sub: [], usage: /^orly \S+ — Nostr relay$/m },
  { script: 'orly', sub: ['export'], usage: /^Usage: orly export \[options\]$/m },
  { script: 'orly', sub: ['import'], usage: /^Usage: orly import \[options\] < events\.jsonl$/m },
  { script: 'orly', sub: ['sync'], usage: /^Usage: orly sync <ws-url> \[options\]$/m },
  { script: 'orly', sub: ['migrate'], usage: /^Usage: orly migrate$/m },
  { script: 'orly-db', sub: [], usage: /^orly-db \S+ — ORLY event store service/m },
  { script: 'orly-acl', sub: [], usage: /^orly-acl \S+ — /m },
  { script: 'orly-sync-negentropy', sub: [], usage: /^orly-sync-negentropy \S+ — /m },
  { script: 'orly-sync-distributed', sub: [], usage: /^orly-sync-distributed \S+ — /m },
  { script: 'orly-sync-cluster', sub: [], usage: /^orly-sync-cluster \S+ — /m },
  { script: 'orly-launcher', sub: [], usage: /^orly-launcher \S+ — /m },
];

const title = (c: CommandCase) => [c.script, ...c.sub].join(' ');

describe('--help and -h print the usage on stdout and exit 0', () => {
  for (const c of COMMANDS) {
    it(title(c), async () => {
      for (const flag of ['--help', '-h']) {
        const res = await run(c.script, [...c.sub, flag]);
        assert.equal(res.code, 0, `${title(c)} ${flag}: ${res.stderr}`);
        assert.match(res.stdout, c.usage, `${title(c)} ${flag}`);
        assert.equal(res.stderr, '');
        // Each usage is its own: no other command's first line.
        for (const other of COMMANDS) if (other !== c) assert.doesNotMatch(res.stdout, other.usage);
      }
    });
  }

  it('--help wins over the other arguments (orly sync --bogus ws://x --help)', async () => {
    const res = await run('orly', ['sync', '--bogus', 'ws://127.0.0.1:1', '--help']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^Usage: orly sync/);
  });
});

describe('usage errors exit 2 with the message and the usage on stderr', () => {
  for (const c of COMMANDS) {
    it(`${title(c)}: an unknown option is named`, async () => {
      for (const [arg, name] of [
        ['--no-such-option', '--no-such-option'],
        ['--no-such-option=1', '--no-such-option'],
        ['-Z', '-Z'],
      ] as const) {
        const res = await run(c.script, [...c.sub, arg]);
        assert.equal(res.code, 2, `${title(c)} ${arg}: ${res.stderr}`);
        assert.equal(res.stdout, '');
        const [first] = res.stderr.split('\n');
        assert.equal(first, `${title(c)}: unknown option ${name}`);
        assert.match(res.stderr, c.usage);
      }
    });
  }

  for (const script of ['orly-db', 'orly-acl', 'orly-sync-negentropy', 'orly-launcher']) {
    it(`${script}: positional arguments and a value given to --version`, async () => {
      const extra = await run(script, ['extra']);
      assert.equal(extra.code, 2);
      assert.match(extra.stderr, new RegExp(`^${script}: unexpected arguments: extra\n`));
      const valued = await run(script, ['--version=1']);
      assert.equal(valued.code, 2);
      assert.match(valued.stderr, new RegExp(`^${script}: --version takes no value\n`));
    });
  }

  it('orly: an unknown command, a missing value, a value given to a flag', async () => {
    const unknown = await run('orly', ['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^orly: unknown command "frobnicate"\n/);
    const noValue = await run('orly', ['export', '--data-dir']);
    assert.equal(noValue.code, 2);
    assert.match(noValue.stderr, /^orly export: --data-dir needs a value\n\nUsage: orly export/);
    const flagValue = await run('orly', ['import', '--no-verify=yes']);
    assert.equal(flagValue.code, 2);
    assert.match(flagValue.stderr, /^orly import: --no-verify takes no value\n\nUsage: orly import/);
    const syncValue = await run('orly', ['sync', 'ws://127.0.0.1:1', '--print-missing=1']);
    assert.equal(syncValue.code, 2);
    assert.match(syncValue.stderr, /^orly sync: --print-missing takes no value\n/);
  });

  it('--version still prints the version, also after a subcommand', async () => {
    for (const args of [['--version'], ['sync', '--version'], ['export', '--version']]) {
      const res = await run('orly', args);
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, /^\d+\.\d+\.\d+\S*\n$/);
    }
  });
});

describe('parseCommandLine (node:util parseArgs, our checks)', () => {
  const options = { name: { type: 'string' }, flag: { type: 'boolean' } } as const;

  it('reads --opt value, --opt=value, flags and positionals; the last repeat wins', () => {
    const line = parseCommandLine(['a', '--name', 'x', '--flag', 'b', '--name=y=z'], options, {
      positionals: true,
    });
    assert.deepEqual(line, { help: false, values: { name: 'y=z', flag: true }, positionals: ['a', 'b'] });
    assert.deepEqual(parseCommandLine(['--name='], options), {
      help: false,
      values: { name: '' },
      positionals: [],
    });
  });

  it('a string option takes the next argument even when it starts with a dash', () => {
    const line = parseCommandLine(['--name', '-3w'], options);
    assert.equal(line.help ? undefined : line.values.name, '-3w');
  });

  it('refuses what it does not know, with the option as written', () => {
    const refuses = (args: string[], message: string, config = {}) =>
      assert.throws(
        () => parseCommandLine(args, options, config),
        (err: unknown) => err instanceof UsageError && err.code === 'ORLY_USAGE' && err.message === message,
      );
    refuses(['--nope'], 'unknown option --nope');
    refuses(['--nope=1'], 'unknown option --nope');
    refuses(['-x'], 'unknown option -x');
    refuses(['--name'], '--name needs a value');
    refuses(['--flag=1'], '--flag takes no value');
    refuses(['a', 'b'], 'unexpected arguments: a b');
    refuses(['--', '--name'], 'unexpected arguments: --name');
  });

  it('-h / --help anywhere is help, before any other check', () => {
    assert.deepEqual(parseCommandLine(['--nope', '-h'], options), { help: true });
    assert.deepEqual(parseCommandLine(['x', '--help'], options), { help: true });
  });
});

describe('orly sync keeps strfry-compatible flags', () => {
  const syncEnv = { ORLY_DATA_DIR: '/tmp/unused' };

  it('--flag value and --flag=value give the same options', () => {
    const spaced = parseSyncArgs(
      [
        'ws://127.0.0.1:1',
        '--filter',
        '{"kinds":[1]}',
        '--dir',
        'both',
        '--frame-size-limit',
        '0',
        '--timeout',
        '2.5',
        '--data-dir',
        '/tmp/d',
      ],
      syncEnv,
    );
    const joined = parseSyncArgs(
      [
        '--filter={"kinds":[1]}',
        '--dir=both',
        '--frame-size-limit=0',
        '--timeout=2.5',
        '--data-dir=/tmp/d',
        'ws://127.0.0.1:1',
      ],
      syncEnv,
    );
    assert.deepEqual(joined, spaced);
    assert.deepEqual(spaced, {
      url: 'ws://127.0.0.1:1',
      dataDir: '/tmp/d',
      filter: { kinds: [1] },
      dir: 'both',
      frameSizeLimit: 0,
      printMissing: false,
      timeoutMs: 2500,
    });
    const client = parseSyncArgs(['ws://127.0.0.1:1', '--server', '127.0.0.1:50064'], syncEnv);
    assert.equal(client.server, '127.0.0.1:50064');
  });

  it('--range takes a value that starts with a dash', () => {
    const now = Math.floor(Date.now() / 1000);
    for (const args of [['--range', '-3w'], ['--range=-3w']]) {
      const { filter } = parseSyncArgs(['ws://127.0.0.1:1', ...args], syncEnv);
      assert.equal(filter.since, undefined);
      assert.ok(Math.abs(filter.until! - (now - 21 * 86_400)) < 5, String(filter.until));
    }
  });

  it('its usage errors are UsageErrors', () => {
    assert.throws(() => parseSyncArgs(['ws://127.0.0.1:1', '--dir'], syncEnv), /--dir needs a value/);
    assert.throws(() => parseSyncArgs(['ws://127.0.0.1:1', '--range', 'soon'], syncEnv), UsageError);
    assert.throws(() => parseSyncArgs(['ws://127.0.0.1:1', '--bogus'], syncEnv), /unknown option --bogus/);
  });
});
