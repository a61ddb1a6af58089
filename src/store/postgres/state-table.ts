/**
 * The PostgreSQL store's StateStore role: the `state` table, UTF-8 key bytes -> UTF-8 value bytes
 * (bytea compares as memcmp, which is the role's UTF-8 byte order, and holds the NUL characters
 * that text cannot). putState applies every entry in one statement, so one transaction: the
 * repeated keys reduced to their last entry first, then the deletions and the upserts together.
 */
import type { StateStore } from '../event-store.js';
import { assertStateInput, checkedStateEntries, stateKeyProblem, stateListProblem } from '../state-limits.js';
import type { Sql } from './connection.js';
import { byteaArray } from './keys.js';

const GET = 'SELECT value FROM state WHERE key = $1::bytea';

const PUT =
  'WITH gone AS (DELETE FROM state WHERE key = ANY ($1::bytea[])) ' +
  'INSERT INTO state (key, value) SELECT k, v FROM unnest($2::bytea[], $3::bytea[]) AS u(k, v) ' +
  'ON CONFLICT (key) DO UPDATE SET value = excluded.value';

const LIST_FROM = 'SELECT key, value FROM state WHERE key >= $1::bytea ORDER BY key LIMIT $2::bigint';
const LIST_RANGE =
  'SELECT key, value FROM state WHERE key >= $1::bytea AND key < $3::bytea ORDER BY key LIMIT $2::bigint';

export class PostgresStateTable implements StateStore {
  constructor(
    private readonly sql: Sql,
    private readonly assertOpen: () => void,
  ) {}

  async getState(key: string): Promise<string | undefined> {
    assertStateInput('getState', stateKeyProblem(key));
    this.assertOpen();
    const [row] = await this.sql.unsafe<{ value: Buffer }[]>(GET, [Buffer.from(key, 'utf8')], {
      prepare: true,
    });
    return row?.value.toString('utf8');
  }

  async putState(entries: ReadonlyArray<readonly [key: string, value: string | undefined]>): Promise<void> {
    const writes = checkedStateEntries(entries);
    this.assertOpen();
    if (writes.length === 0) return;
    const last = new Map<string, readonly [Buffer, string | undefined]>();
    for (const entry of writes) {
      const hex = entry[0].toString('hex');
      last.delete(hex);
      last.set(hex, entry);
    }
    const deletions: Buffer[] = [];
    const keys: Buffer[] = [];
    const values: Buffer[] = [];
    for (const [key, value] of last.values()) {
      if (value === undefined) deletions.push(key);
      else {
        keys.push(key);
        values.push(Buffer.from(value, 'utf8'));
      }
    }
    await this.sql.unsafe(PUT, [byteaArray(deletions), byteaArray(keys), byteaArray(values)], {
      prepare: true,
    });
  }

  async listState(prefix: string, limit: number, after?: string): Promise<Array<[string, string]>> {
    assertStateInput('listState', stateListProblem(prefix, limit, after));
    this.assertOpen();
    const start = Buffer.from(prefix, 'utf8');
    // The first key after `after` is `after` followed by a zero byte.
    const next = after === undefined ? undefined : Buffer.concat([Buffer.from(after, 'utf8'), ZERO]);
    const from = next !== undefined && Buffer.compare(next, start) > 0 ? next : start;
    const end = prefixEnd(start);
    const rows = await this.sql.unsafe<{ key: Buffer; value: Buffer }[]>(
      end === undefined ? LIST_FROM : LIST_RANGE,
      end === undefined ? [from, limit] : [from, limit, end],
      { prepare: true },
    );
    return rows.map((r) => [r.key.toString('utf8'), r.value.toString('utf8')]);
  }
}

const ZERO = Buffer.alloc(1);

/** The first byte string after every string starting with `prefix`; undefined when there is none. */
function prefixEnd(prefix: Buffer): Buffer | undefined {
  let n = prefix.length;
  while (n > 0 && prefix[n - 1] === 0xff) n--;
  if (n === 0) return undefined;
  const end = Buffer.from(prefix.subarray(0, n));
  end[n - 1] = prefix[n - 1]! + 1;
  return end;
}
