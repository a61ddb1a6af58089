/**
 * Signature-verification worker thread, spawned by VerifierPool (src/crypto/verifier-pool.ts).
 *
 * Protocol: the pool posts one string per batch, the concatenation for every item of
 * id (64 hex) + pubkey (64 hex) + sig (128 hex), i.e. 256 lowercase hex characters per item.
 * The worker answers each batch, in the order received, with a Uint8Array holding 1 (valid)
 * or 0 (invalid) per item; its buffer is transferred, not copied.
 *
 * Shutdown is cooperative, never worker.terminate(): terminating a thread while it is inside
 * bcrypto's native code makes bcrypto's N-API checks fail and abort() the whole process.
 * The pool sets the shared stop flag (workerData.stop, an Int32Array over a SharedArrayBuffer),
 * which makes the worker drop the rest of its queue without verifying or answering, then
 * posts {type: 'close'}: the worker closes its port and its thread ends normally.
 *
 * {type: 'crash'} (test hook) and any other message are treated as bugs: the worker throws and
 * dies, and the pool rejects that worker's pending items and respawns it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { verifySchnorr, verifySchnorrBytes } from './schnorr.js';

const HEX_PER_ITEM = 256;
const BYTES_PER_ITEM = 128;

/** Set to 1 by the pool when it closes. */
const stop = new Int32Array((workerData as { stop: SharedArrayBuffer }).stop);

/** 0/1 per item, or undefined when the pool closed meanwhile (nobody waits for the answer). */
function verifyBatch(batch: string): Uint8Array<ArrayBuffer> | undefined {
  const count = Math.floor(batch.length / HEX_PER_ITEM);
  const results = new Uint8Array(new ArrayBuffer(count));
  // One hex decode for the whole batch. Buffer.from stops at the first non-hex character,
  // so a short result means some item is malformed: then decode item by item.
  const bytes = batch.length === count * HEX_PER_ITEM ? Buffer.from(batch, 'hex') : Buffer.alloc(0);
  const whole = bytes.length === count * BYTES_PER_ITEM;
  for (let i = 0; i < count; i++) {
    if (Atomics.load(stop, 0) !== 0) return undefined;
    let ok: boolean;
    if (whole) {
      const o = i * BYTES_PER_ITEM;
      ok = verifySchnorrBytes(
        bytes.subarray(o, o + 32),
        bytes.subarray(o + 64, o + 128),
        bytes.subarray(o + 32, o + 64),
      );
    } else {
      const o = i * HEX_PER_ITEM;
      ok = verifySchnorr(batch.slice(o, o + 64), batch.slice(o + 64, o + 128), batch.slice(o + 128, o + 256));
    }
    results[i] = ok ? 1 : 0;
  }
  return results;
}

if (!parentPort) throw new Error('verify-worker.js must be started as a worker thread');
const port = parentPort;

port.on('message', (message: unknown) => {
  if (typeof message === 'string') {
    const results = verifyBatch(message);
    if (results !== undefined) port.postMessage(results, [results.buffer]);
    return;
  }
  if (typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'close') {
    port.close();
    return;
  }
  throw new Error(`verify worker: unexpected message ${JSON.stringify(message)}`);
});
