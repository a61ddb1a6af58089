/**
 * Applies the schema's migrations (schema.ts) at start-up: in one transaction that first takes a
 * transaction-level advisory lock (MIGRATION_LOCK), so relays starting at the same moment apply
 * them one after the other (the second finds them applied and changes nothing); DDL is
 * transactional in PostgreSQL, so a failed migration leaves nothing half-done. The versions
 * applied are recorded in schema_migrations. A database migrated by a newer relay (versions
 * this one does not know) is refused rather than used.
 */
import type { Sql } from 'postgres';
import { MIGRATIONS, SERIAL_BASE_CHECK } from './schema.js';

/** The advisory-lock key of the migrations ("orlymigr" as 8 bytes). */
const MIGRATION_LOCK = 0x6f726c796d696772n;

export interface MigrationResult {
  /** The versions this call applied (empty when the schema was current). */
  readonly applied: readonly number[];
  /** The schema version now in force. */
  readonly version: number;
}

export async function migrate(sql: Sql): Promise<MigrationResult> {
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK.toString()}::bigint)`;
    await tx`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`;
    const rows = await tx<{ version: number }[]>`SELECT version FROM schema_migrations`;
    const done = new Set(rows.map((r) => r.version));
    const known = MIGRATIONS.at(-1)?.version ?? 0;
    const newest = Math.max(0, ...done);
    if (newest > known)
      throw new Error(
        `the database's schema is version ${newest}, newer than this relay knows (${known}): upgrade the relay`,
      );
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue;
      await tx.unsafe(migration.sql).simple();
      await tx`INSERT INTO schema_migrations (version, name) VALUES (${migration.version}, ${migration.name})`;
      applied.push(migration.version);
    }
    await tx.unsafe(SERIAL_BASE_CHECK);
    return { applied, version: known };
  });
}
