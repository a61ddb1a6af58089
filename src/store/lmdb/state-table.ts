/**
 * The LMDB store's StateStore role (LmdbEventStore delegates to it): the `state` sub-database,
 * UTF-8 key bytes -> string value, so that LMDB's key order is the role's byte order. putState
 * writes every entry in one write transaction of the store (see lmdb-store.ts: it resolves once
 * the commit is on disk); reads see every commit made before them in this thread.
 */
import type { StateStore } from '../event-store.js';
import { assertStateInput, checkedStateEntries, stateKeyProblem, stateListProblem } from '../state-limits.js';
import type { LmdbTables } from './tables.js';

/** What the table needs from its store: the closed check and a write transaction it waits for on close. */
export interface StateTableHost {
  assertOpen(): void;
  /** Runs `apply` in one write transaction; resolves once committed. */
  write(apply: () => void): Promise<void>;
}

export class LmdbStateTable implements StateStore {
  constructor(
    private readonly t: LmdbTables,
    private readonly host: StateTableHost,
  ) {}

  async getState(key: string): Promise<string | undefined> {
    assertStateInput('getState', stateKeyProblem(key));
    this.host.assertOpen();
    return this.t.state.get(Buffer.from(key, 'utf8'));
  }

  async putState(entries: ReadonlyArray<readonly [key: string, value: string | undefined]>): Promise<void> {
    const writes = checkedStateEntries(entries);
    this.host.assertOpen();
    if (writes.length === 0) return;
    const state = this.t.state;
    await this.host.write(() => {
      for (const [key, value] of writes) {
        if (value === undefined) state.removeSync(key);
        else state.putSync(key, value);
      }
    });
  }

  async listState(prefix: string, limit: number, after?: string): Promise<Array<[string, string]>> {
    assertStateInput('listState', stateListProblem(prefix, limit, after));
    this.host.assertOpen();
    const start = Buffer.from(prefix, 'utf8');
    // The first key after `after` is `after` followed by a zero byte.
    const next = after === undefined ? undefined : Buffer.concat([Buffer.from(after, 'utf8'), ZERO]);
    const from = next !== undefined && Buffer.compare(next, start) > 0 ? next : start;
    const out: Array<[string, string]> = [];
    for (const { key, value } of this.t.state.getRange({ start: from })) {
      const bytes = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
      // Keys with the prefix are contiguous in byte order: the first one without it ends the list.
      if (!startsWith(bytes, start)) break;
      out.push([bytes.toString('utf8'), value]);
      if (out.length >= limit) break;
    }
    return out;
  }
}

const ZERO = Buffer.alloc(1);

function startsWith(bytes: Buffer, prefix: Buffer): boolean {
  return bytes.length >= prefix.length && bytes.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}
