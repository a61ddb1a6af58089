/**
 * VerifierPool: valid and tampered signatures with 0, 1 and 2 workers, thousands of concurrent
 * verifies, batch boundaries, worker crash (pending rejected, pool recovers), close(), and
 * that idle workers never keep the process alive.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { after, test } from 'node:test';
import { VerifierPool } from '../../src/crypto/verifier-pool.js';
import { waitFor } from '../helpers/wait.js';

interface BcryptoSchnorr {
  privateKeyGenerate(): Buffer;
  publicKeyCreate(key: Buffer): Buffer;
  sign(msg: Buffer, key: Buffer): Buffer;
}
const schnorr = createRequire(import.meta.url)('bcrypto/lib/schnorr') as BcryptoSchnorr;

interface Item {
  id: string;
  pubkey: string;
  sig: string;
  valid: boolean;
}

const KEYS = Array.from({ length: 8 }, () => {
  const secret = schnorr.privateKeyGenerate();
  return { secret, pubkey: schnorr.publicKeyCreate(secret).toString('hex') };
});

function signed(i: number): Item {
  const key = KEYS[i % KEYS.length]!;
  const msg = randomBytes(32);
  return {
    id: msg.toString('hex'),
    pubkey: key.pubkey,
    sig: schnorr.sign(msg, key.secret).toString('hex'),
    valid: true,
  };
}

function flip(hex: string, at: number): string {
  return hex.slice(0, at) + (hex[at] === '0' ? '1' : '0') + hex.slice(at + 1);
}

/** Half valid, the rest tampered in id, pubkey or signature. */
function mixed(count: number): Item[] {
  return Array.from({ length: count }, (_, i) => {
    const item = signed(i);
    switch (i % 6) {
      case 1:
        return { ...item, id: flip(item.id, i % 64), valid: false };
      case 3:
        return { ...item, sig: flip(item.sig, i % 128), valid: false };
      case 5:
        return { ...item, pubkey: KEYS[(i + 1) % KEYS.length]!.pubkey, valid: false };
      default:
        return item;
    }
  });
}

const pools: VerifierPool[] = [];
function pool(workers: number, maxBatch?: number): VerifierPool {
  const p = new VerifierPool(maxBatch === undefined ? { workers } : { workers, maxBatch });
  pools.push(p);
  return p;
}
after(() => Promise.all(pools.map((p) => p.close())));

for (const workers of [0, 1, 2]) {
  test(`${workers} workers: valid, tampered and malformed signatures`, async () => {
    const p = pool(workers);
    assert.equal(p.size, workers);
    const item = signed(0);
    assert.equal(await p.verify(item.id, item.pubkey, item.sig), true);
    assert.equal(await p.verify(flip(item.id, 0), item.pubkey, item.sig), false);
    assert.equal(await p.verify(item.id, flip(item.pubkey, 10), item.sig), false);
    assert.equal(await p.verify(item.id, item.pubkey, flip(item.sig, 100)), false);
    assert.equal(await p.verify(item.id, KEYS[1]!.pubkey, item.sig), false);
    // Malformed input never reaches a worker and never throws.
    assert.equal(await p.verify(item.id.toUpperCase(), item.pubkey, item.sig), false);
    assert.equal(await p.verify(item.id.slice(1), item.pubkey, item.sig), false);
    assert.equal(await p.verify(item.id, item.pubkey, `${item.sig.slice(0, 127)}g`), false);
    assert.equal(await p.verify('', '', ''), false);
    assert.equal(await p.verify(item.id, 'f'.repeat(64), item.sig), false);
    assert.equal(await p.verify(item.id, item.pubkey, '0'.repeat(128)), false);
  });

  test(`${workers} workers: 5000 concurrent verifies resolve correctly`, async () => {
    const p = pool(workers);
    const items = mixed(5000);
    const results = await Promise.all(items.map((it) => p.verify(it.id, it.pubkey, it.sig)));
    assert.deepEqual(
      results,
      items.map((it) => it.valid),
    );
    assert.equal(p.pending, 0);
  });
}

test('batch boundaries: odd batch sizes and requests spread over many ticks', async () => {
  const p = pool(2, 7);
  const items = mixed(300);
  const promises: Promise<boolean>[] = [];
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!;
    promises.push(p.verify(it.id, it.pubkey, it.sig));
    if (i % 13 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  assert.deepEqual(
    await Promise.all(promises),
    items.map((it) => it.valid),
  );
});

test('both workers get work', async () => {
  const p = pool(2, 16);
  const items = mixed(2000);
  const first = Promise.all(items.map((it) => p.verify(it.id, it.pubkey, it.sig)));
  // Right after queueing, the in-flight items are spread over both workers.
  const outstanding = (p as unknown as { slots: { outstanding: number }[] }).slots.map((s) => s.outstanding);
  assert.ok(
    outstanding.every((n) => n > 0),
    `outstanding per worker: ${outstanding.join(', ')}`,
  );
  assert.deepEqual(
    await first,
    items.map((it) => it.valid),
  );
});

test('a crashed worker rejects its pending verifies and the pool recovers', async () => {
  const exits: Error[] = [];
  const p = new VerifierPool({ workers: 1, maxBatch: 32, onWorkerExit: (error) => exits.push(error) });
  pools.push(p);
  const warm = signed(0);
  assert.equal(await p.verify(warm.id, warm.pubkey, warm.sig), true);

  p.crashWorkerForTesting(0);
  // A full batch is posted synchronously, behind the crash message: the worker never answers it.
  const items = mixed(32);
  const settled = await Promise.allSettled(items.map((it) => p.verify(it.id, it.pubkey, it.sig)));
  for (const s of settled) {
    assert.equal(s.status, 'rejected');
    assert.match(String((s as PromiseRejectedResult).reason), /worker 0 exited unexpectedly/);
  }
  assert.equal(exits.length, 1);
  assert.match(exits[0]!.message, /unexpected message/);

  // Still works: inline while the worker is being respawned, then on the new worker.
  const again = mixed(100);
  assert.deepEqual(
    await Promise.all(again.map((it) => p.verify(it.id, it.pubkey, it.sig))),
    again.map((it) => it.valid),
  );
  const slot = (p as unknown as { slots: { worker: unknown }[] }).slots[0]!;
  await waitFor(() => slot.worker !== undefined, 5000, 'the worker to be respawned');
  const later = mixed(100);
  assert.deepEqual(
    await Promise.all(later.map((it) => p.verify(it.id, it.pubkey, it.sig))),
    later.map((it) => it.valid),
  );
  assert.equal(p.pending, 0);
});

test('close() rejects pending and later verifies, and is idempotent', async () => {
  const p = new VerifierPool({ workers: 2 });
  const items = mixed(1000);
  const settled = Promise.allSettled(items.map((it) => p.verify(it.id, it.pubkey, it.sig)));
  const closing = p.close();
  assert.equal(p.close(), closing);
  await closing;
  for (const s of await settled) {
    // Items a worker answered before close() resolve; all others are rejected.
    if (s.status === 'rejected') assert.match(String(s.reason), /closed/);
  }
  const it = signed(0);
  await assert.rejects(p.verify(it.id, it.pubkey, it.sig), /closed/);

  const inline = new VerifierPool({ workers: 0 });
  await inline.close();
  await assert.rejects(inline.verify(it.id, it.pubkey, it.sig), /closed/);
});

test('the constructor validates its options', () => {
  assert.throws(() => new VerifierPool({ workers: -1 }), RangeError);
  assert.throws(() => new VerifierPool({ workers: 1.5 }), RangeError);
  assert.throws(() => new VerifierPool({ workers: 0, maxBatch: 0 }), RangeError);
});

/** Runs an ES module snippet in a fresh node process; resolves with its exit code and output. */
function runNode(
  source: string,
  timeoutMs: number,
): Promise<{ code: number | null; out: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', source], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child did not exit within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, ms: Date.now() - started });
    });
  });
}

test('idle workers never keep the process alive; busy ones do; close() lets it exit', async () => {
  const poolUrl = new URL('../../src/crypto/verifier-pool.js', import.meta.url).href;
  const item = signed(0);
  const args = `'${item.id}', '${item.pubkey}', '${item.sig}'`;
  // No close(): a verify awaited at top level still resolves (busy workers are ref'd), a later
  // one from a timer too, and then the process exits by itself.
  const noClose = await runNode(
    `import { VerifierPool } from '${poolUrl}';
     const pool = new VerifierPool({ workers: 2 });
     console.log('first', await pool.verify(${args}));
     setTimeout(async () => console.log('later', await pool.verify(${args})), 50);`,
    10_000,
  );
  assert.equal(noClose.code, 0, noClose.out);
  assert.match(noClose.out, /first true/);
  assert.match(noClose.out, /later true/);

  // A pool that is never used does not hold the process either.
  const unused = await runNode(
    `import { VerifierPool } from '${poolUrl}'; new VerifierPool({ workers: 2 });`,
    10_000,
  );
  assert.equal(unused.code, 0, unused.out);

  const closed = await runNode(
    `import { VerifierPool } from '${poolUrl}';
     const pool = new VerifierPool({ workers: 2 });
     const p = pool.verify(${args}).then(String, (e) => e.message);
     await pool.close();
     console.log(await p);`,
    10_000,
  );
  assert.equal(closed.code, 0, closed.out);
  assert.match(closed.out, /verifier pool is closed|true/);
});
