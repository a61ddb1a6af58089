/**
 * The PostgreSQL store's write path: one save is one call of orly_save (schema.ts), a single
 * statement and so a single transaction, committed before its reply (connection.ts).
 *
 * Concurrency (several relays, several connections each): orly_save first takes a
 * transaction-level advisory lock on every id and address it reads or changes — the event's id;
 * its address when replaceable/addressable; for a kind 5, each `e` target id and each `a` target
 * address — in ascending key order (so two saves never wait on each other in a cycle), then
 * checks, then writes; the locks are held until commit. Two saves touching the same id or
 * coordinate therefore run one after the other, the second seeing the first's committed result
 * (READ COMMITTED: each statement of the function takes a fresh snapshot after the lock):
 *
 * - competing versions of one replaceable/addressable coordinate: exactly one winner by NIP-01's
 *   rule (latest created_at, then lowest id), the unique index on `address` as a backstop;
 * - a save racing the deletion of its id: the tombstone is seen, or the event is there to be
 *   deleted; a deleted id never comes back; likewise `a` deletions and versions;
 * - the same event saved twice at once: one is stored, the other reports the duplicate's serial.
 *
 * A deadlock or serialization failure (not expected with this locking, but possible with row
 * locks of concurrent removals) is retried a few times; any other error answers `error:`.
 */
import { Reasons } from '../../errors.js';
import { dTag, expirationOf, type NostrEvent } from '../../protocol/event.js';
import { isAddressable, KIND_DELETION } from '../../protocol/kinds.js';
import type { SaveResult } from '../event-store.js';
import { deletionTargets } from '../lmdb/deletion.js';
import { describeError, isRetryable, type Sql } from './connection.js';
import { addressOf, byteaArray, lockKey, lockOrder, tagKey } from './keys.js';

/** The statement of one save (tests also run it inside transactions of their own). */
export const SAVE_SQL =
  "SELECT out_status, out_serial::float8 AS out_serial, array_to_string(out_removed, ',') AS out_removed FROM orly_save(" +
  '$1::bigint[], $2::bytea, $3::bytea, $4::integer, $5::bigint, $6::bigint, $7::bytea, $8::text, ' +
  '$9::bigint, $10::bytea[], $11::bytea[], $12::bytea[])';

const ATTEMPTS = 4;

interface SaveRow {
  readonly out_status: number;
  readonly out_serial: number;
  /** The removed ids as bytea text (`\\x…`), comma-separated (the pools read no array types). */
  readonly out_removed: string;
}

/** orly_save's parameters for one event (`tags`: its indexed (letter, value) pairs). */
export function saveParams(
  event: NostrEvent,
  raw: string,
  tags: readonly (readonly [string, string])[],
  origin: number,
): unknown[] {
  const id = Buffer.from(event.id, 'hex');
  const address = addressOf(event.pubkey, event.kind, dTag(event));
  const locks = [lockKey(id)];
  if (address !== undefined) locks.push(lockKey(address));
  let deletedIds: Buffer[] = [];
  let deletedAddresses: Buffer[] = [];
  if (event.kind === KIND_DELETION) {
    const targets = deletionTargets(event);
    deletedIds = [...new Set(targets.ids)].map((t) => Buffer.from(t, 'hex'));
    const addresses = new Map<string, Buffer>();
    for (const a of targets.addresses) {
      const key = addressOf(event.pubkey, a.kind, a.d)!;
      addresses.set(key.toString('hex'), key);
    }
    deletedAddresses = [...addresses.values()];
    for (const key of [...deletedIds, ...deletedAddresses]) locks.push(lockKey(key));
  }
  return [
    `{${lockOrder(locks).join(',')}}`,
    id,
    Buffer.from(event.pubkey, 'hex'),
    event.kind,
    event.created_at,
    expirationOf(event) ?? null,
    address ?? null,
    raw,
    origin,
    byteaArray(tags.map(([letter, value]) => tagKey(letter, value))),
    byteaArray(deletedIds),
    byteaArray(deletedAddresses),
  ];
}

/**
 * Runs one save; never throws (a database error is a `stored: false` with an `error:` reason,
 * and goes to `outcome.failed`).
 */
export async function runSave(
  sql: Sql,
  event: NostrEvent,
  params: unknown[],
  outcome: { ok(): void; failed(error: unknown): void },
): Promise<SaveResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      const [row] = await sql.unsafe<SaveRow[]>(SAVE_SQL, params as never[], { prepare: true });
      outcome.ok();
      return toResult(event, row!);
    } catch (error) {
      if (attempt < ATTEMPTS && isRetryable(error)) continue;
      outcome.failed(error);
      return { stored: false, reason: Reasons.storeFailed(describeError(error)) };
    }
  }
}

function toResult(event: NostrEvent, row: SaveRow): SaveResult {
  switch (row.out_status) {
    case 0:
      return {
        stored: true,
        duplicate: false,
        serial: row.out_serial,
        removed: row.out_removed === '' ? [] : row.out_removed.split(',').map((id) => id.slice(2)),
      };
    case 1:
      return { stored: true, duplicate: true, serial: row.out_serial, removed: [] };
    case 2:
      return { stored: false, reason: Reasons.deleted };
    default:
      return {
        stored: false,
        reason: isAddressable(event.kind) ? Reasons.olderAddressable : Reasons.olderReplaceable,
      };
  }
}
