/**
 * Relay to relay over NIP-77 with 10,000+ events: two of our relays (A and B, both running,
 * negentropy enabled), 10,000 events in common and 1,000 only on each side; `orly sync` runs
 * against B on A's data directory (as an operator runs it next to a live relay) in each
 * direction. Down, up and both end with the expected sets; a filter limits what moves.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, describe, it } from 'node:test';
import type { NostrEvent } from '../../src/protocol/event.js';
import type { EventStore } from '../../src/store/event-store.js';
import { fastKey, fastSign } from '../helpers/fast-sign.js';
import { startTestRelay, type TestRelay } from '../helpers/relay-harness.js';
import { ORLY_CLI } from '../helpers/relay-process.js';

const COMMON = 10_000;
const ONLY = 1_000;
const start = Math.floor(Date.now() / 1000) - 50_000;
const keys = [fastKey(), fastKey(), fastKey()];
let n = 0;
function events(count: number, kind = 1): NostrEvent[] {
  return Array.from({ length: count }, () => {
    n++;
    // Clustered timestamps (many equal ones) exercise negentropy's id-prefix bounds.
    return fastSign(keys[n % 3]!, { kind, created_at: start + Math.floor(n / 7), content: `r2r ${n}` });
  });
}

async function fill(store: EventStore, list: readonly NostrEvent[]): Promise<void> {
  for (let i = 0; i < list.length; i += 2000) {
    const results = await Promise.all(list.slice(i, i + 2000).map((e) => store.save(e)));
    for (const r of results) assert.ok(r.stored);
  }
}

async function ids(store: EventStore): Promise<Set<string>> {
  const items = await store.negentropyItems({}, 1_000_000);
  assert.ok(items);
  const out = new Set<string>();
  for (let i = 0; i < items.count; i++)
    out.add(Buffer.from(items.ids.subarray(i * 32, i * 32 + 32)).toString('hex'));
  return out;
}

function sync(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ORLY_CLI, 'sync', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`orly sync timed out:\n${stderr}`));
    }, 120_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

function assertSet(actual: Set<string>, expected: readonly NostrEvent[]): void {
  const want = new Set(expected.map((e) => e.id));
  const missing = [...want].filter((id) => !actual.has(id)).length;
  const extra = [...actual].filter((id) => !want.has(id)).length;
  assert.deepEqual({ size: actual.size, missing, extra }, { size: want.size, missing: 0, extra: 0 });
}

describe('relay to relay, 12,000 events per side', { timeout: 300_000 }, () => {
  const relays: TestRelay[] = [];
  after(async () => {
    for (const r of relays) await r.stop();
  });

  async function pair(a: readonly NostrEvent[], b: readonly NostrEvent[]) {
    const env = { ORLY_NEGENTROPY_ENABLED: 'true', ORLY_VERIFY_WORKERS: '2' };
    const A = await startTestRelay(env);
    const B = await startTestRelay(env);
    relays.push(A, B);
    await fill(A.relay.store, a);
    await fill(B.relay.store, b);
    return { A, B };
  }

  for (const dir of ['down', 'up', 'both'] as const) {
    it(`--dir ${dir}: the sets end as expected`, async () => {
      const common = events(COMMON);
      const onlyA = events(ONLY);
      const onlyB = events(ONLY);
      const { A, B } = await pair([...common, ...onlyA], [...common, ...onlyB]);
      const res = await sync([B.url, '--data-dir', A.dataDir, '--dir', dir]);
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stderr, new RegExp(`have ${ONLY}, need ${ONLY}`));
      const all = [...common, ...onlyA, ...onlyB];
      assertSet(await ids(A.relay.store), dir === 'up' ? [...common, ...onlyA] : all);
      assertSet(await ids(B.relay.store), dir === 'down' ? [...common, ...onlyB] : all);
    });
  }

  it('a filter limits what moves', async () => {
    const common = events(2000);
    const notesA = events(300, 1);
    const otherA = events(200, 7);
    const notesB = events(300, 1);
    const otherB = events(200, 7);
    const { A, B } = await pair([...common, ...notesA, ...otherA], [...common, ...notesB, ...otherB]);
    const res = await sync([B.url, '--data-dir', A.dataDir, '--dir', 'both', '--filter', '{"kinds":[1]}']);
    assert.equal(res.code, 0, res.stderr);
    assertSet(await ids(A.relay.store), [...common, ...notesA, ...otherA, ...notesB]);
    assertSet(await ids(B.relay.store), [...common, ...notesB, ...otherB, ...notesA]);
  });
});
