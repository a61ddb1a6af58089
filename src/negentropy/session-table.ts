/**
 * The one NIP-77 session table: per connection, subscription id -> session entry. Used by the
 * relay (NegentropyGateway: the client's sessions, whatever responder answers them) and by
 * LocalNegentropyResponder (the reconciliation state, in the relay or in orly-sync-negentropy).
 *
 * - reserve() registers an entry (replacing the id's previous one); an entry becomes `ready`
 *   once its NEG-OPEN is answered. isCurrent() tells a late answer for a closed, replaced or
 *   disconnected entry to drop itself.
 * - Cap: `maxPerConnection` entries per connection (opening ones included); isFull() is checked
 *   by the caller after closing the id's previous entry, so a replacement never counts.
 * - Idle expiry: one timer for the whole table (every half timeout, between 50 ms and 30 s)
 *   closes ready entries idle for `idleTimeoutMs` or longer and reports each to `onExpire`.
 * - `onRemove` hears of every entry leaving, so a holder of resources (item sets) can count them.
 */

export class SessionEntry<S> {
  /** True once the NEG-OPEN was answered. */
  ready = false;
  lastActive = Date.now();

  constructor(public state: S) {}

  touch(now = Date.now()): void {
    this.lastActive = now;
  }
}

export interface SessionTableOptions<K, S> {
  /** Ready entries idle this long are closed by the sweep (0 = never). */
  readonly idleTimeoutMs: number;
  /** Entries allowed per connection (undefined = no cap). */
  readonly maxPerConnection?: number;
  /** Told about each entry the sweep closed. */
  readonly onExpire?: (conn: K, subId: string, entry: SessionEntry<S>) => void;
  /** Told about every entry that leaves the table, however (close, replace, disconnect, sweep, stop). */
  readonly onRemove?: (entry: SessionEntry<S>) => void;
}

export class SessionTable<K, S> {
  private readonly tables = new Map<K, Map<string, SessionEntry<S>>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly options: SessionTableOptions<K, S>) {}

  /** Starts the idle sweep (no-op without a timeout). */
  start(): void {
    const timeout = this.options.idleTimeoutMs;
    if (this.timer || timeout <= 0) return;
    const every = Math.min(30_000, Math.max(50, Math.floor(timeout / 2)));
    this.timer = setInterval(() => this.sweep(Date.now()), every);
    this.timer.unref();
  }

  /** Stops the sweep and forgets every entry. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const conn of [...this.tables.keys()]) this.closeConnection(conn);
  }

  get(conn: K, subId: string): SessionEntry<S> | undefined {
    return this.tables.get(conn)?.get(subId);
  }

  /** Open (or opening) sessions of one connection. */
  count(conn: K): number {
    return this.tables.get(conn)?.size ?? 0;
  }

  /** Is the connection at its cap (the caller has closed the id's previous entry)? */
  isFull(conn: K): boolean {
    const max = this.options.maxPerConnection;
    return max !== undefined && this.count(conn) >= max;
  }

  /** Open (or opening) sessions of all connections. */
  get total(): number {
    let n = 0;
    for (const table of this.tables.values()) n += table.size;
    return n;
  }

  /** Registers a new entry for subId, replacing any previous one. */
  reserve(conn: K, subId: string, state: S): SessionEntry<S> {
    let table = this.tables.get(conn);
    if (!table) {
      table = new Map();
      this.tables.set(conn, table);
    }
    const entry = new SessionEntry(state);
    const previous = table.get(subId);
    table.set(subId, entry);
    if (previous !== undefined) this.options.onRemove?.(previous);
    return entry;
  }

  /** Is this entry still the one registered for subId (not closed, replaced or disconnected)? */
  isCurrent(conn: K, subId: string, entry: SessionEntry<S>): boolean {
    return this.tables.get(conn)?.get(subId) === entry;
  }

  /** Frees one session. Returns whether there was one. */
  close(conn: K, subId: string): boolean {
    const table = this.tables.get(conn);
    const entry = table?.get(subId);
    if (table === undefined || entry === undefined) return false;
    table.delete(subId);
    if (table.size === 0) this.tables.delete(conn);
    this.options.onRemove?.(entry);
    return true;
  }

  /** Frees `entry` if it is still the current one for subId. */
  drop(conn: K, subId: string, entry: SessionEntry<S>): void {
    if (this.isCurrent(conn, subId, entry)) this.close(conn, subId);
  }

  /** Frees every session of a connection (on disconnect). */
  closeConnection(conn: K): void {
    const table = this.tables.get(conn);
    if (table === undefined) return;
    this.tables.delete(conn);
    if (this.options.onRemove) for (const entry of table.values()) this.options.onRemove(entry);
  }

  /** Closes ready entries idle for the timeout or longer; reports each to onExpire. */
  sweep(now: number): void {
    const timeout = this.options.idleTimeoutMs;
    if (timeout <= 0) return;
    for (const [conn, table] of this.tables) {
      for (const [subId, entry] of table) {
        if (!entry.ready || now - entry.lastActive < timeout) continue;
        table.delete(subId);
        this.options.onExpire?.(conn, subId, entry);
        this.options.onRemove?.(entry);
      }
      if (table.size === 0) this.tables.delete(conn);
    }
  }
}
