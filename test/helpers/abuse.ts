/**
 * Issue 9's robustness suite ("hold under abuse"): the relay as a child process (the real `orly`
 * CLI; with ORLY_TEST_MODE=split over a real `orly-db` child process with a token), its resident
 * set read from /proc, stores seeded once with `orly import` and copied for each relay, and the
 * victim's view (REQ→EOSE and /health times, peak memory) while an attack (abuse-attacker.ts) runs.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { MALLOC_DEFAULTS } from '../../src/launcher/plan.js';
import type { NostrEvent } from '../../src/protocol/event.js';
import { type DbProcess, spawnOrlyDb } from '../contract/grpc-harness.js';
import { fastKey, fastSign } from './fast-sign.js';
import { RawClient, SPLIT_MODE } from './relay-harness.js';
import { ORLY_CLI, type RelayProcess, spawnRelay } from './relay-process.js';
import { runNode } from './run-node.js';

export const MB = 1_048_576;
const mb = (bytes: number) => Math.round(bytes / MB);

/** Resident sets in bytes: the relay's, and in split mode orly-db's. */
export interface Memory {
  readonly relay: number;
  readonly db: number | undefined;
}

const maxOf = (a: Memory, b: Memory): Memory => ({
  relay: Math.max(a.relay, b.relay),
  db: a.db === undefined || b.db === undefined ? undefined : Math.max(a.db, b.db),
});
const grewBy = (now: Memory, base: Memory) =>
  Math.max(now.relay - base.relay, (now.db ?? 0) - (base.db ?? 0));
const describeMemory = (m: Memory) =>
  m.db === undefined ? `${mb(m.relay)}` : `${mb(m.relay)}+db ${mb(m.db)}`;
const SPLIT_TOKEN = 'abuse-suite-split-token-0123456789';

/** Resident set (VmRSS) of a process, in bytes. */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

/**
 * A store directory holding `count` kind-1 events (real signatures, 100 authors, one a second up
 * to a minute ago) and `extra`, imported by `orly import` with signatures checked. Remove it when done.
 */
export async function seededStore(count: number, extra: readonly NostrEvent[] = []): Promise<string> {
  const authors = Array.from({ length: 100 }, () => fastKey());
  const start = Math.floor(Date.now() / 1000) - count - 60;
  const lines = extra.map((ev) => JSON.stringify(ev));
  for (let i = 0; i < count; i++) {
    const ev = fastSign(authors[i % 100]!, {
      created_at: start + i,
      tags: [['t', `seed${i % 50}`]],
      content: `seeded note ${i} ${'x'.repeat(100)}`,
    });
    lines.push(JSON.stringify(ev));
  }
  const dir = mkdtempSync(join(tmpdir(), 'orly-abuse-seed-'));
  const run = await runNode(ORLY_CLI, ['import', '--data-dir', dir], {
    stdin: `${lines.join('\n')}\n`,
    timeoutMs: 60_000,
  });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, new RegExp(`import done: .* ${lines.length} imported, .* 0 rejected, 0 invalid`));
  return dir;
}

export interface ChildRelay {
  readonly url: string;
  readonly httpUrl: string;
  readonly relay: RelayProcess;
  /** orly-db in split mode. */
  readonly db: DbProcess | undefined;
  /** Resident sets in bytes: the relay's, and orly-db's in split mode. */
  rss(): Memory;
  /** True while the relay (and orly-db) processes are running. */
  alive(): boolean;
  stop(): Promise<void>;
}

/**
 * Starts the relay CLI (port 0, 127.0.0.1) over a copy of the store in `template` (or an empty
 * one), in the mode ORLY_TEST_MODE asks for. `env` comes on top of relay-process's defaults
 * (the per-address limits off).
 */
export async function startChildRelay(env: Record<string, string>, template?: string): Promise<ChildRelay> {
  const dataDir = mkdtempSync(join(tmpdir(), 'orly-abuse-'));
  const relayDir = SPLIT_MODE ? mkdtempSync(join(tmpdir(), 'orly-abuse-relay-')) : dataDir;
  if (template !== undefined) cpSync(template, dataDir, { recursive: true });
  let db: DbProcess | undefined;
  const backend: Record<string, string> = {};
  if (SPLIT_MODE) {
    db = await spawnOrlyDb({ ...MALLOC_DEFAULTS, ORLY_DATA_DIR: dataDir, ORLY_GRPC_TOKEN: SPLIT_TOKEN });
    Object.assign(backend, {
      ORLY_DB_TYPE: 'grpc',
      ORLY_GRPC_SERVER: db.address,
      ORLY_GRPC_TOKEN: SPLIT_TOKEN,
    });
  }
  let relay: RelayProcess;
  try {
    // Run as orly-launcher and the README's systemd unit run it (glibc allocator settings).
    relay = await spawnRelay({ ...MALLOC_DEFAULTS, ...env, ...backend, ORLY_DATA_DIR: relayDir });
  } catch (error) {
    await db?.stop();
    throw error;
  }
  const running = (p: { child: { exitCode: number | null; signalCode: unknown } }) =>
    p.child.exitCode === null && p.child.signalCode === null;
  return {
    url: relay.url,
    httpUrl: `http://127.0.0.1:${relay.port}`,
    relay,
    db,
    rss: () => ({ relay: rssOf(relay.child.pid!), db: db === undefined ? undefined : rssOf(db.child.pid!) }),
    alive: () => running(relay) && (db === undefined || running(db)),
    async stop() {
      await relay.stop();
      await db?.stop();
      rmSync(dataDir, { recursive: true, force: true });
      if (relayDir !== dataDir) rmSync(relayDir, { recursive: true, force: true });
    },
  };
}

/**
 * The victim's warm-up on a fresh relay: its small REQ, a `{}` scan, a COUNT and /health, a few
 * times each, so that the baseline is the relay having done every kind of work once. Returns
 * the baseline resident set.
 */
export async function warmUp(t: ChildRelay, victim: string): Promise<Memory> {
  const c = await RawClient.connect(t.url);
  try {
    for (let i = 0; i < 3; i++) {
      assert.equal((await c.query(`warm${i}`, { authors: [victim], limit: 2 })).length, 2);
      await c.query(`scan${i}`, {});
      c.send(['CLOSE', `warm${i}`]);
      c.send(['CLOSE', `scan${i}`]);
      c.send(['COUNT', `count${i}`, {}]);
      assert.equal((await c.next((f) => f[1] === `count${i}`))[0], 'COUNT');
      assert.equal((await fetch(`${t.httpUrl}/health`)).status, 200);
    }
  } finally {
    await c.close();
  }
  return t.rss();
}

/** What the victim saw while an attack ran (milliseconds, bytes). */
export interface VictimView {
  readonly rounds: number;
  readonly reqP50: number;
  readonly reqMax: number;
  readonly healthMax: number;
  /** The largest resident sets sampled during the attack. */
  readonly peakRss: Memory;
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

/**
 * Runs `attack` while a well-behaved client, on its own connection, asks `{authors:[victim],
 * limit:2}` (two events expected, then CLOSE) and GET /health in turn, `paceMs` apart, until the
 * attack is over (at least `minRounds` times); samples the relay's resident set every 100 ms.
 */
export async function victimDuring<T>(
  t: ChildRelay,
  victim: string,
  attack: () => Promise<T>,
  { paceMs = 25, minRounds = 5 } = {},
): Promise<{ result: T; seen: VictimView }> {
  const client = await RawClient.connect(t.url);
  const reqMs: number[] = [];
  const healthMs: number[] = [];
  let peakRss = t.rss();
  const sampler = setInterval(() => {
    if (t.alive()) peakRss = maxOf(peakRss, t.rss());
  }, 100);
  let attacking = true;
  const running = attack().finally(() => {
    attacking = false;
  });
  running.catch(() => {}); // awaited below; the victim's loop must not stop at an unhandled rejection
  try {
    for (let i = 0; attacking || i < minRounds; i++) {
      let began = performance.now();
      const got = await client.query(`v${i}`, { authors: [victim], limit: 2 });
      reqMs.push(performance.now() - began);
      client.send(['CLOSE', `v${i}`]);
      assert.equal(got.length, 2, 'the victim gets its two events');
      began = performance.now();
      const health = await fetch(`${t.httpUrl}/health`, { signal: AbortSignal.timeout(10_000) });
      healthMs.push(performance.now() - began);
      assert.equal(health.status, 200);
      await new Promise((r) => setTimeout(r, paceMs));
    }
    const result = await running;
    if (t.alive()) peakRss = maxOf(peakRss, t.rss());
    const req = sorted(reqMs);
    return {
      result,
      seen: {
        rounds: req.length,
        reqP50: Math.round(req[Math.floor(req.length / 2)]!),
        reqMax: Math.round(req[req.length - 1]!),
        healthMax: Math.round(sorted(healthMs).at(-1)!),
        peakRss,
      },
    };
  } finally {
    clearInterval(sampler);
    await running.catch(() => {});
    await client.close();
  }
}

/** One line for a test's diagnostics: what the victim saw, memory in MB. */
export function describeView(seen: VictimView, baseline: Memory): string {
  return (
    `victim: ${seen.rounds} rounds, REQ→EOSE p50 ${seen.reqP50} ms, max ${seen.reqMax} ms; ` +
    `/health max ${seen.healthMax} ms; RSS baseline ${describeMemory(baseline)} MB, ` +
    `peak ${describeMemory(seen.peakRss)} MB`
  );
}

/** The bounds on what the victim sees: REQ→EOSE p50 < 250 ms and max < 2 s, /health < 500 ms. */
export function assertVictimServed(seen: VictimView, baseline: Memory): void {
  const view = describeView(seen, baseline);
  assert.ok(seen.reqP50 < 250, `victim REQ→EOSE p50 < 250 ms: ${view}`);
  assert.ok(seen.reqMax < 2000, `victim REQ→EOSE max < 2 s: ${view}`);
  assert.ok(seen.healthMax < 500, `/health < 500 ms: ${view}`);
  assert.ok(grewBy(seen.peakRss, baseline) <= 256 * MB, `RSS grew by at most 256 MB: ${view}`);
}

/**
 * After the attacker left: polls the resident sets every 250 ms for up to 5 s until they are
 * within 64 MB of `baseline` (the relay's, and orly-db's in split mode). `assertReturned` fails
 * with the samples unless they got there; the processes must still be up.
 */
export async function memoryAfter(t: ChildRelay, baseline: Memory, what: string) {
  const samples: Memory[] = [];
  const deadline = Date.now() + 5000;
  for (;;) {
    assert.ok(t.alive(), `${what}: the relay is still running`);
    samples.push(t.rss());
    if (grewBy(samples.at(-1)!, baseline) <= 64 * MB || Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const text = `RSS after the attacker left, every 250 ms (MB): ${samples.map(describeMemory).join(', ')}`;
  return {
    text,
    assertReturned() {
      assert.ok(
        grewBy(samples.at(-1)!, baseline) <= 64 * MB,
        `${what}: RSS within 64 MB of its baseline ${describeMemory(baseline)} MB 5 s after the attacker left; ${text}`,
      );
    },
  };
}

/** One row of the table, replayed on a fresh relay. */
export interface Replay<T> {
  /** Names the row in failure messages. */
  readonly row: string;
  /** Relay environment on top of relay-process's defaults. */
  readonly env?: Record<string, string>;
  /** A store directory (seededStore) the relay starts over a copy of. */
  readonly store?: string;
  /** The victim's pubkey: two of its events must be stored by the time `setup` is done. */
  readonly victim: string;
  /** Before the warm-up: what the scenario needs stored. */
  setup?(t: ChildRelay): Promise<void>;
  /** The attack; the victim queries while it runs. */
  attack(t: ChildRelay): Promise<T>;
  /** What the attacker must have been answered (and what must not have leaked). */
  check?(result: T, t: ChildRelay): void | Promise<void>;
  /** The victim's pause between rounds (keep it under the REQ rate limits when they are on). */
  readonly paceMs?: number;
  /** Whether memory must be back within 64 MB of the baseline 5 s after the attacker left (default true). */
  readonly memoryReturns?: boolean;
}

/**
 * Replays one row: a fresh relay, `setup`, the victim's warm-up and baseline, the attack while the
 * victim queries, the memory in the 5 s after the attacker left, then the row's own `check`, the
 * victim's bounds and the memory bound (diagnostics: what the victim saw, memory samples). The
 * relay is stopped in any case.
 */
export async function replay<T>(ctx: TestContext, r: Replay<T>): Promise<T> {
  const t = await startChildRelay(r.env ?? {}, r.store);
  try {
    await r.setup?.(t);
    const baseline = await warmUp(t, r.victim);
    const { result, seen } = await victimDuring(t, r.victim, () => r.attack(t), { paceMs: r.paceMs ?? 25 });
    ctx.diagnostic(describeView(seen, baseline));
    const memory = await memoryAfter(t, baseline, r.row);
    ctx.diagnostic(memory.text);
    await r.check?.(result, t);
    assertVictimServed(seen, baseline);
    if (r.memoryReturns !== false) memory.assertReturned();
    return result;
  } finally {
    await t.stop();
  }
}
