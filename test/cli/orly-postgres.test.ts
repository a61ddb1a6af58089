/**
 * The commands on PostgreSQL (ORLY_DB_TYPE=postgres, a real server: test/helpers/postgres.ts), as
 * real child processes: `orly migrate` applies the schema once and reports it; `orly import` and
 * `orly export` use the database when no --data-dir is given (an import ends with fresh planner
 * statistics); a missing ORLY_POSTGRES_URL stops
 * them with exit 2 naming the variable; an unreachable server is a runtime failure (exit 1).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import postgres from 'postgres';
import { fastKey, fastSign } from '../helpers/fast-sign.js';
import { startTestPostgres } from '../helpers/postgres.js';
import { ORLY_CLI } from '../helpers/relay-process.js';
import { type RunResult, runNode } from '../helpers/run-node.js';

const server = await startTestPostgres();
after(() => server.stop());

function orly(args: string[], env: Record<string, string>, stdin?: string): Promise<RunResult> {
  return runNode(ORLY_CLI, args, {
    env: { ORLY_DB_TYPE: 'postgres', ...env },
    ...(stdin === undefined ? {} : { stdin }),
  });
}

test('orly migrate applies the schema once; import and export use the database', async () => {
  const env = { ORLY_POSTGRES_URL: await server.createDatabase() };
  const first = await orly(['migrate'], env);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /^schema version 1 \(migrations applied now: 1\)$/m);
  const second = await orly(['migrate'], env);
  assert.match(second.stdout, /^schema version 1 \(migrations applied now: none\)$/m);

  const key = fastKey();
  const base = Math.floor(Date.now() / 1000) - 1000;
  const newest = fastSign(key, { created_at: base + 30, content: 'newest' });
  const oldest = fastSign(key, { created_at: base + 10, content: 'oldest', kind: 7 });
  const imported = await orly(
    ['import'],
    env,
    [newest, 'not json', oldest].map((e) => JSON.stringify(e)).join('\n'),
  );
  assert.equal(imported.code, 0, imported.stderr);
  assert.match(imported.stderr, /line 2: /);
  // The import refreshed the planner's statistics (a freshly loaded table is otherwise planned blind).
  const sql = postgres(env.ORLY_POSTGRES_URL, { max: 1, onnotice: () => {} });
  try {
    const analyzed = await sql<{ relname: string }[]>`
      SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL ORDER BY relname`;
    assert.deepEqual(
      analyzed.map((r) => r.relname).filter((n) => n === 'events' || n === 'tags'),
      ['events', 'tags'],
    );
  } finally {
    await sql.end();
  }
  const exported = await orly(['export'], env);
  assert.equal(exported.code, 0, exported.stderr);
  assert.deepEqual(
    exported.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { id: string }).id),
    [oldest.id, newest.id],
  );
  const filtered = await orly(['export', '--filter', '{"kinds":[7]}'], env);
  assert.deepEqual(
    filtered.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { id: string }).id),
    [oldest.id],
  );
});

test('a missing URL is a configuration error naming ORLY_POSTGRES_URL; no server, a failure', async () => {
  for (const args of [['migrate'], ['export']]) {
    const missing = await orly(args, { ORLY_POSTGRES_URL: '' });
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /invalid configuration: ORLY_POSTGRES_URL: is required/);
  }
  const down = await orly(['migrate'], { ORLY_POSTGRES_URL: 'postgres://orly:x@127.0.0.1:9/none' });
  assert.equal(down.code, 1);
  assert.match(down.stderr, /ECONNREFUSED/);
});
