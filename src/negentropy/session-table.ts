/**
 * NIP-77 session table of the relay: per connection, NEG subId -> slot. The reconciliation state
 * lives in the NegentropyResponder (local or orly-sync-negentropy); this table is the relay's
 * bookkeeping (per-connection cap, idle expiry, replacement). A slot is reserved when a NEG-OPEN
 * is accepted (its query still running) and is ready once the first reply is sent.
 * Replacing or closing a slot while its query runs makes the late result a no-op (the handler
 * checks `isCurrent`). Idle sessions are expired by one timer for the whole relay, not one per
 * session; `onExpire` lets the relay tell the client (NEG-ERR "closed: ...").
 */
import type { Connection } from '../relay/connection.js';

export class SessionSlot {
  /** True once the NEG-OPEN was answered. */
  ready = false;
  lastActive = Date.now();
}

export class NegentropySessions {
  private readonly tables = new Map<Connection, Map<string, SessionSlot>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly timeoutMs: number,
    private readonly onExpire: (conn: Connection, subId: string) => void,
  ) {}

  /** Starts the expiry sweep (every half timeout, between 50 ms and 30 s). */
  start(): void {
    if (this.timer) return;
    const every = Math.min(30_000, Math.max(50, Math.floor(this.timeoutMs / 2)));
    this.timer = setInterval(() => this.sweep(Date.now()), every);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.tables.clear();
  }

  get(conn: Connection, subId: string): SessionSlot | undefined {
    return this.tables.get(conn)?.get(subId);
  }

  /** Open (or opening) sessions of one connection. */
  count(conn: Connection): number {
    return this.tables.get(conn)?.size ?? 0;
  }

  /** Open (or opening) sessions of all connections. */
  get total(): number {
    let n = 0;
    for (const table of this.tables.values()) n += table.size;
    return n;
  }

  /** Reserves a slot for subId (the caller has closed any previous one). */
  reserve(conn: Connection, subId: string): SessionSlot {
    let table = this.tables.get(conn);
    if (!table) {
      table = new Map();
      this.tables.set(conn, table);
    }
    const slot = new SessionSlot();
    table.set(subId, slot);
    return slot;
  }

  /** Is this slot still the one registered for subId (not closed, replaced or disconnected)? */
  isCurrent(conn: Connection, subId: string, slot: SessionSlot): boolean {
    return this.tables.get(conn)?.get(subId) === slot;
  }

  /** Frees one session. Returns whether there was one. */
  close(conn: Connection, subId: string): boolean {
    const table = this.tables.get(conn);
    if (!table?.delete(subId)) return false;
    if (table.size === 0) this.tables.delete(conn);
    return true;
  }

  /** Frees every session of a connection (on disconnect). */
  closeAll(conn: Connection): void {
    this.tables.delete(conn);
  }

  /** Closes sessions idle for the timeout or longer; reports each to onExpire. */
  sweep(now: number): void {
    for (const [conn, table] of this.tables) {
      for (const [subId, slot] of table) {
        if (!slot.ready || now - slot.lastActive < this.timeoutMs) continue;
        table.delete(subId);
        this.onExpire(conn, subId);
      }
      if (table.size === 0) this.tables.delete(conn);
    }
  }
}
