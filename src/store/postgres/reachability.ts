/**
 * Whether the PostgreSQL server is reachable, for isOpen() (the relay's /health and readiness):
 * the last statement's outcome decides — a connection-level failure (refused, reset, closed, the
 * server shutting down) makes it unreachable, any success reachable again. While unreachable a
 * probe (`SELECT 1`) runs every PROBE_MS, so the store comes back by itself even without traffic.
 */
import type { Sql } from './connection.js';

const PROBE_MS = 1000;

/** SQLSTATEs of a server going away: admin_shutdown, crash_shutdown, cannot_connect_now. */
const SHUTDOWN = new Set(['57P01', '57P02', '57P03']);
/** The driver's and Node's codes of a connection that failed or was lost. */
const LOST = /^(CONNECTION_|CONNECT_TIMEOUT|ECONN|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|EPIPE|EAI_)/;

export function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string') return false;
  return code.startsWith('08') || SHUTDOWN.has(code) || LOST.test(code);
}

export class Reachability {
  private up = true;
  private timer: NodeJS.Timeout | undefined;
  private probing = false;

  constructor(private readonly sql: Sql) {}

  get reachable(): boolean {
    return this.up;
  }

  ok(): void {
    this.up = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** After a failed statement: unreachable if the failure was the connection's. */
  failed(error: unknown): void {
    if (!isConnectionError(error)) return;
    this.up = false;
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.probe(), PROBE_MS);
    this.timer.unref();
  }

  /** Resolves or rejects as `work` does, noting the outcome. */
  async watch<T>(work: Promise<T>): Promise<T> {
    try {
      const result = await work;
      this.ok();
      return result;
    } catch (error) {
      this.failed(error);
      throw error;
    }
  }

  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private probe(): void {
    if (this.probing) return;
    this.probing = true;
    this.sql
      .unsafe('SELECT 1')
      .then(
        () => this.ok(),
        () => {},
      )
      .finally(() => {
        this.probing = false;
      });
  }
}
