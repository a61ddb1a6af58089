/**
 * The PostgreSQL store's schema, as versioned migrations (applied by migrations.ts, in order,
 * each once). A released migration is never edited: a change is a new one.
 *
 * Version 1:
 *
 *   events             one row per stored event
 *     serial           the id of the transaction that stored it (pg_current_xact_id) plus
 *                      orly_meta.serial_base: increasing in the order transactions start writing,
 *                      and every transaction older than a snapshot's xmin has ended, which is what
 *                      eventsSince relies on (see read-path.ts). One event per transaction.
 *     id, pubkey       32 bytes each (bytea compares as memcmp: the order of the lowercase hex)
 *     kind, created_at, expiration (NIP-40, NULL when none)
 *     address          keys.ts addressOf for replaceable/addressable kinds, else NULL (unique:
 *                      one version per coordinate, whatever the writers)
 *     origin           the writing store instance (its change feed skips its own)
 *     raw              the canonical JSON, sent as is
 *   tags               one row per indexed (letter, value) of an event: tkey (keys.ts tagKey),
 *                      the event's serial and created_at (so a tag scan runs newest first)
 *   deleted_ids        NIP-09 `e` tombstones: (id, deleter pubkey); a tombstone blocks the id only
 *                      for events of that pubkey, as in LMDB
 *   deleted_addresses  NIP-09 `a` tombstones: address -> latest created_at of the deletions naming
 *                      it; versions at or before it are refused
 *   state              the StateStore role: UTF-8 key bytes -> UTF-8 value bytes (bytea: byte order,
 *                      and NUL characters are allowed, which text is not)
 *   broadcasts         ephemeral events too large for a NOTIFY payload, kept a minute
 *   orly_meta          serial_base (raised at start-up when the database was restored into a
 *                      cluster whose transaction ids are lower than the stored serials)
 *
 * Indexes, one per filter shape, each in result order (created_at descending, id ascending):
 * ids (primary key), created_at (covering kind and expiration: negentropy and count read it
 * alone), pubkey, kind, pubkey+kind, tag key (tags_key), plus serial (eventsSince, the change
 * feed), address, expiration (purge) and tags by serial (removal).
 *
 * orly_save(...) is the whole write path of one event in one call (see write-path.ts): the
 * statement is its own transaction, committed (synchronous_commit on) before the reply is sent.
 */

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

const V1_TABLES = `
CREATE TABLE orly_meta (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  serial_base bigint NOT NULL DEFAULT 0
);
INSERT INTO orly_meta DEFAULT VALUES;

CREATE TABLE events (
  serial bigint NOT NULL,
  id bytea NOT NULL,
  pubkey bytea NOT NULL,
  kind integer NOT NULL,
  created_at bigint NOT NULL,
  expiration bigint,
  address bytea,
  origin bigint NOT NULL,
  raw text NOT NULL,
  CONSTRAINT events_pkey PRIMARY KEY (id)
);
CREATE UNIQUE INDEX events_serial ON events (serial);
CREATE INDEX events_created ON events (created_at DESC, id) INCLUDE (kind, expiration);
CREATE INDEX events_pubkey ON events (pubkey, created_at DESC, id);
CREATE INDEX events_kind ON events (kind, created_at DESC, id);
CREATE INDEX events_pubkey_kind ON events (pubkey, kind, created_at DESC, id);
CREATE UNIQUE INDEX events_address ON events (address) WHERE address IS NOT NULL;
CREATE INDEX events_expiration ON events (expiration) WHERE expiration IS NOT NULL;

CREATE TABLE tags (
  serial bigint NOT NULL,
  tkey bytea NOT NULL,
  created_at bigint NOT NULL
);
CREATE INDEX tags_key ON tags (tkey, created_at DESC) INCLUDE (serial);
CREATE INDEX tags_serial ON tags (serial);

CREATE TABLE deleted_ids (
  id bytea NOT NULL,
  pubkey bytea NOT NULL,
  PRIMARY KEY (id, pubkey)
);

CREATE TABLE deleted_addresses (
  address bytea PRIMARY KEY,
  deleted_at bigint NOT NULL
);

CREATE TABLE state (
  key bytea PRIMARY KEY,
  value bytea NOT NULL
);

CREATE TABLE broadcasts (
  id bigserial PRIMARY KEY,
  origin bigint NOT NULL,
  raw text NOT NULL,
  created timestamptz NOT NULL DEFAULT now()
);
`;

const V1_FUNCTIONS = `
CREATE FUNCTION orly_remove(p_serials bigint[]) RETURNS bytea[] LANGUAGE sql AS $$
  WITH gone AS (DELETE FROM events e WHERE e.serial = ANY (p_serials) RETURNING e.serial, e.id),
       untagged AS (DELETE FROM tags t WHERE t.serial IN (SELECT g.serial FROM gone g))
  SELECT coalesce(array_agg(g.id), '{}') FROM gone g
$$;

CREATE FUNCTION orly_horizon() RETURNS bigint LANGUAGE sql STABLE AS $$
  SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint + m.serial_base FROM orly_meta m
$$;

CREATE FUNCTION orly_save(
  p_locks bigint[], p_id bytea, p_pubkey bytea, p_kind integer, p_created_at bigint,
  p_expiration bigint, p_address bytea, p_raw text, p_origin bigint, p_tags bytea[],
  p_del_ids bytea[], p_del_addresses bytea[],
  OUT out_status smallint, OUT out_serial bigint, OUT out_removed bytea[]
) LANGUAGE plpgsql AS $$
DECLARE
  v_key bigint;
  v_deleted_at bigint;
  v_old record;
BEGIN
  -- Every id and address this save reads or changes, locked in one (ascending) order.
  FOREACH v_key IN ARRAY p_locks LOOP
    PERFORM pg_advisory_xact_lock(v_key);
  END LOOP;
  out_removed := '{}';
  out_serial := 0;
  -- 1 duplicate, 2 deleted, 3 older version; nothing written before these checks.
  SELECT e.serial INTO v_key FROM events e WHERE e.id = p_id;
  IF FOUND THEN
    out_status := 1; out_serial := v_key; RETURN;
  END IF;
  IF p_kind <> 5 AND EXISTS (SELECT 1 FROM deleted_ids d WHERE d.id = p_id AND d.pubkey = p_pubkey) THEN
    out_status := 2; RETURN;
  END IF;
  IF p_address IS NOT NULL THEN
    SELECT d.deleted_at INTO v_deleted_at FROM deleted_addresses d WHERE d.address = p_address;
    IF v_deleted_at >= p_created_at THEN
      out_status := 2; RETURN;
    END IF;
    SELECT e.serial, e.id, e.created_at INTO v_old FROM events e WHERE e.address = p_address;
    IF FOUND THEN
      IF v_old.created_at > p_created_at OR (v_old.created_at = p_created_at AND v_old.id < p_id) THEN
        out_status := 3; RETURN;
      END IF;
      out_removed := out_removed || orly_remove(ARRAY[v_old.serial]);
    END IF;
  END IF;
  IF p_kind = 5 THEN
    INSERT INTO deleted_ids (id, pubkey)
      SELECT DISTINCT i, p_pubkey FROM unnest(p_del_ids) AS i ON CONFLICT DO NOTHING;
    out_removed := out_removed || orly_remove(ARRAY(
      SELECT e.serial FROM events e WHERE e.id = ANY (p_del_ids) AND e.pubkey = p_pubkey AND e.kind <> 5));
    INSERT INTO deleted_addresses (address, deleted_at)
      SELECT DISTINCT a, p_created_at FROM unnest(p_del_addresses) AS a
      ON CONFLICT (address) DO UPDATE
        SET deleted_at = greatest(deleted_addresses.deleted_at, excluded.deleted_at);
    out_removed := out_removed || orly_remove(ARRAY(
      SELECT e.serial FROM events e WHERE e.address = ANY (p_del_addresses) AND e.created_at <= p_created_at));
  END IF;
  out_serial := pg_current_xact_id()::text::bigint + (SELECT m.serial_base FROM orly_meta m);
  INSERT INTO events (serial, id, pubkey, kind, created_at, expiration, address, origin, raw)
    VALUES (out_serial, p_id, p_pubkey, p_kind, p_created_at, p_expiration, p_address, p_origin, p_raw);
  INSERT INTO tags (serial, tkey, created_at) SELECT out_serial, k, p_created_at FROM unnest(p_tags) AS k;
  out_status := 0;
END
$$;
`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'events, tags, tombstones, state, broadcasts; orly_save',
    sql: V1_TABLES + V1_FUNCTIONS,
  },
];

/**
 * Run at every start-up (under the migration lock): when the stored serials are not below the
 * next transaction id (the database was restored into another cluster), raise serial_base so that
 * new serials stay above every stored one.
 */
export const SERIAL_BASE_CHECK = `
UPDATE orly_meta m SET serial_base = m.serial_base + s.top - (pg_current_xact_id()::text::bigint + m.serial_base) + 1
  FROM (SELECT coalesce(max(serial), 0) AS top FROM events) s
  WHERE s.top >= pg_current_xact_id()::text::bigint + m.serial_base
`;
