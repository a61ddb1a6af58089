/**
 * The LMDB store's writer thread: every save of the store runs here, so the event loop that
 * parses and answers clients does not spend a quarter of its time in LMDB's puts. Saves that
 * arrive while a commit runs wait for the next one and share its transaction (group commit);
 * each batch is one synchronous LMDB transaction (data and meta page fsync'd before it returns),
 * answered only once committed: the store's `save` still resolves only when the event is durable.
 *
 * A batch whose transaction fails (an LMDB error such as a full map) is retried one save per
 * transaction, so one bad save does not fail the others. The serial counter lives here: only
 * saves allocate serials.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Reasons } from '../../../errors.js';
import type { NostrEvent } from '../../../protocol/event.js';
import type { SaveResult } from '../../event-store.js';
import { indexedTags } from '../index-keys.js';
import { LmdbTables } from '../tables.js';
import { applySave, type PreparedEvent, prepare } from '../write-path.js';
import type { FromWriter, SaveRequest, ToWriter, WriterData } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('writer-worker.ts runs as a worker thread');
const data = workerData as WriterData;
const t = new LmdbTables(data.dataFile, data);
let serial = 0;
for (const key of t.events.getKeys({ reverse: true, limit: 1 })) serial = key;

let queue: SaveRequest[] = [];
let scheduled = false;

function post(message: FromWriter): void {
  port!.postMessage(message);
}

/** The save's prepared form, or the reason it is refused before any transaction. */
function prepared(request: SaveRequest): PreparedEvent | SaveResult {
  let event: NostrEvent;
  try {
    event = JSON.parse(request.raw) as NostrEvent;
  } catch (error) {
    return { stored: false, reason: Reasons.storeFailed(`unreadable event: ${(error as Error).message}`) };
  }
  const tags = indexedTags(event);
  if (tags.length > data.maxIndexedTags) {
    return { stored: false, reason: Reasons.tooManyIndexedTags(tags.length, data.maxIndexedTags) };
  }
  return prepare(event, request.raw, tags);
}

function isResult(p: PreparedEvent | SaveResult): p is SaveResult {
  return 'stored' in p;
}

function failed(error: unknown): SaveResult {
  return {
    stored: false,
    reason: Reasons.storeFailed(error instanceof Error ? error.message : String(error)),
  };
}

/** Runs `saves` in one transaction; the serial counter is restored when it fails. */
function commit(saves: readonly (PreparedEvent | SaveResult)[]): SaveResult[] {
  const before = serial;
  try {
    return t.root.transactionSync(() =>
      saves.map((p) => (isResult(p) ? p : applySave(t, p, () => ++serial))),
    );
  } catch (error) {
    serial = before;
    throw error;
  }
}

function flush(): void {
  scheduled = false;
  const batch = queue;
  queue = [];
  if (batch.length === 0) return;
  const saves = batch.map(prepared);
  let results: SaveResult[];
  try {
    results = commit(saves);
  } catch {
    results = saves.map((p) => {
      try {
        return commit([p])[0]!;
      } catch (error) {
        return failed(error);
      }
    });
  }
  post({ type: 'saved', ids: batch.map((r) => r.id), results });
}

port.on('message', (message: ToWriter) => {
  if (message.type === 'close') {
    flush();
    void t.root.close().then(() => process.exit(0));
    return;
  }
  queue.push(message);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
});

post({ type: 'ready' });
