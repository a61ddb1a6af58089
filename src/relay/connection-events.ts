/**
 * What the relay does with one connection's socket events (transport/transport.ts
 * SocketHandlers): one small object per connection, its methods shared, rather than a closure
 * per event per connection (an idle connection's memory is mostly such bookkeeping).
 */
import type { Connection } from './connection.js';
import { dispatchMessage } from './handlers/dispatch.js';
import type { RelayContext } from './relay-context.js';
import type { SocketHandlers } from './transport/transport.js';

export class ConnectionEvents implements SocketHandlers {
  constructor(
    private readonly relay: RelayContext,
    private readonly conn: Connection,
    /** The relay's bookkeeping when the socket is gone (one function for all connections). */
    private readonly onClosed: (conn: Connection) => void,
  ) {}

  message(data: Buffer, isBinary: boolean): void {
    if (!this.conn.closed) dispatchMessage(this.relay, this.conn, data, isBinary);
  }

  pong(): void {
    this.conn.alive = true;
  }

  error(message: string): void {
    this.relay.logger.debug({ conn: this.conn.id, err: message }, 'websocket error');
  }

  closed(): void {
    this.onClosed(this.conn);
  }
}
