/**
 * Where the PostgreSQL store sends its queries (query, count, negentropy items) when a streaming
 * replica is configured (ORLY_POSTGRES_READ_URL): read-your-writes for this relay.
 *
 * Every save this store commits makes it "ahead" of what the replica is known to show. A
 * background check then reads the primary's WAL flush position (every commit made so far is at or
 * before it) and waits until the replica has replayed that far; the writes made before the check
 * started are then visible there. Queries go to the replica only while no write of this store is
 * missing from it, else to the primary: a client never misses what it just published through this
 * relay. (Writes of other relays sharing the database may appear on the replica a little later
 * than on the primary: the replica's replay lag.) A replica that is not in recovery (the URL names
 * a primary) counts as caught up; one that cannot be reached sends the queries to the primary.
 * (`primary` is the primary's query pool.) getById, the sync role, the state role and the change
 * feed always use the primary.
 */
import type { Logger } from '../../logger.js';
import { describeError, type Sql } from './connection.js';

const CHECK_INTERVAL_MS = 50;
/** A check waits this long for the replica, then starts again from a newer position. */
const CHECK_WAIT_MS = 5000;
/** After a failed query the replica is left alone this long. */
const REPLICA_PAUSE_MS = 5000;

const FLUSH_LSN = 'SELECT pg_current_wal_flush_lsn()::text AS lsn';
const REPLAYED = 'SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, true) AS ok';

export class ReadRouting {
  /** Saves committed by this store. */
  private written = 0;
  /** Of those, how many the replica is known to show. */
  private replayed = 0;
  private checking: Promise<void> | undefined;
  private downUntil = 0;
  private closed = false;

  constructor(
    private readonly primary: Sql,
    private readonly replica: Sql | undefined,
    private readonly logger?: Logger,
  ) {}

  /** The pool for a query now. */
  reads(): Sql {
    return this.replica !== undefined && this.replayed === this.written && Date.now() >= this.downUntil
      ? this.replica
      : this.primary;
  }

  /**
   * A query on `pool` failed before it returned anything: true when it was the replica (then left
   * alone for REPLICA_PAUSE_MS) and the caller should run it again on the primary.
   */
  failed(pool: Sql, error: unknown): boolean {
    if (pool !== this.replica || pool === this.primary) return false;
    this.downUntil = Date.now() + REPLICA_PAUSE_MS;
    this.logger?.warn(
      { err: describeError(error) },
      'postgres read replica failed; reading from the primary',
    );
    return true;
  }

  /** After each committed save. */
  noteWrite(): void {
    if (this.replica === undefined) return;
    this.written++;
    this.noteCheck();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.checking;
  }

  private noteCheck(): void {
    this.checking ??= this.check().finally(() => {
      this.checking = undefined;
      if (this.replayed < this.written && !this.closed) this.noteCheck();
    });
  }

  private async check(): Promise<void> {
    const replica = this.replica!;
    const target = this.written;
    try {
      const [position] = await this.primary.unsafe<{ lsn: string }[]>(FLUSH_LSN);
      const deadline = Date.now() + CHECK_WAIT_MS;
      while (!this.closed && Date.now() < deadline) {
        const [row] = await replica.unsafe<{ ok: boolean }[]>(REPLAYED, [position!.lsn], { prepare: true });
        if (row?.ok) {
          this.replayed = Math.max(this.replayed, target);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, CHECK_INTERVAL_MS));
      }
    } catch (error) {
      this.logger?.debug({ err: describeError(error) }, 'postgres read replica: position check failed');
      await new Promise((resolve) => setTimeout(resolve, CHECK_WAIT_MS / 5));
    }
  }
}
