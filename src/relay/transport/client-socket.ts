/**
 * One client's WebSocket as the relay uses it (connection.ts), whichever library carries it
 * (transport.ts): text frames out, a close handshake or a cut, pings, and what is still queued.
 */
export interface ClientSocket {
  /** Queues one text frame (a Uint8Array holds its UTF-8 bytes). Frames leave in the order sent. */
  send(frame: string | Uint8Array): void;
  /**
   * Queues text frames [ends[i-1] (or `start`), ends[i]) of `data` for i in [from, to), in order,
   * as send() would one by one (a transport that can writes them in one go).
   */
  sendFrames(data: Uint8Array, ends: ArrayLike<number>, from: number, to: number, start: number): void;
  /**
   * Bytes queued for this client and not yet taken by the kernel (a transport that had to drop a
   * frame because too much was queued reports more than any limit, so the relay closes it).
   */
  readonly bufferedAmount: number;
  /** Frames sent until uncork() leave together, in one write where the transport can. */
  cork(): void;
  uncork(): void;
  /** Starts the close handshake (a reason is cut to fit a close frame). Nothing more is sent. */
  close(code: number, reason?: string): void;
  /** Cuts the connection at once, without a close handshake. Safe to call when already closed. */
  terminate(): void;
  /** Sends a ping; the transport reports the pong to the socket's handlers. */
  ping(): void;
  /**
   * Calls `listener` once, when what was queued has been written or the socket has closed.
   * Returns a function that forgets the listener.
   */
  onDrain(listener: () => void): () => void;
}
