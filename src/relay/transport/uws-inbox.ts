/**
 * Fair turns for incoming messages on uWebSockets.js. uWS reads up to 512 KB from a socket at
 * once (node's net.Socket, under ws, 64 KB) and hands every message in it to JavaScript before
 * the event loop moves on, so a client that sends thousands of messages at once would hold the
 * loop (and every other client, /health included) for all of them. Here, once messages have been
 * dispatched for BUDGET_MS in one turn of the loop, later ones wait (copied: uWS reuses its
 * buffer) for the next turn, in order per socket, sockets served in turn. A socket with more
 * than its bound waiting is closed (1008): uWS has no way to stop reading a WebSocket, so this
 * bound is what TCP backpressure is under ws.
 */

/** Milliseconds of message dispatch per turn of the event loop before messages wait. */
const BUDGET_MS = 10;

interface Waiting {
  readonly data: Buffer;
  readonly isBinary: boolean;
}

/** One socket as the inbox sees it (uws-socket-state.ts). */
export interface InboxSocket {
  /** Messages waiting for a turn, oldest first. */
  waiting: Waiting[] | undefined;
  waitingBytes: number;
  readonly handlers: { message(data: Buffer, isBinary: boolean): void } | undefined;
  /** Closed (1008) when too much waits. */
  readonly socket: { close(code: number, reason?: string): void } | undefined;
}

const OVERFLOW = 'too many messages waiting to be read';

export class UwsInbox {
  /** When the current turn began dispatching (-1: not yet this turn). */
  private turnStart = -1;
  private readonly queue = new Set<InboxSocket>();
  private scheduled = false;

  constructor(private readonly maxWaitingBytes: number) {}

  /** A message from uWS (valid only during this call). */
  deliver(socket: InboxSocket, message: ArrayBuffer, isBinary: boolean): void {
    if (socket.waiting === undefined && this.withinBudget()) {
      socket.handlers?.message(Buffer.from(message), isBinary);
      return;
    }
    const bytes = socket.waitingBytes + message.byteLength;
    if (bytes > this.maxWaitingBytes) {
      socket.waiting = undefined;
      socket.waitingBytes = 0;
      this.queue.delete(socket);
      socket.socket?.close(1008, OVERFLOW);
      return;
    }
    const copy = { data: Buffer.from(message.slice(0)), isBinary };
    if (socket.waiting === undefined) socket.waiting = [copy];
    else socket.waiting.push(copy);
    socket.waitingBytes = bytes;
    this.queue.add(socket);
    this.schedule();
  }

  /** The socket closed: what it sent before closing is dispatched now, as ws would have. */
  flush(socket: InboxSocket): void {
    const waiting = socket.waiting;
    if (waiting === undefined) return;
    socket.waiting = undefined;
    socket.waitingBytes = 0;
    this.queue.delete(socket);
    for (const message of waiting) socket.handlers?.message(message.data, message.isBinary);
  }

  private withinBudget(): boolean {
    const now = performance.now();
    if (this.turnStart < 0) {
      this.turnStart = now;
      setImmediate(() => {
        this.turnStart = -1;
      });
    }
    return now - this.turnStart < BUDGET_MS;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.serve());
  }

  /** One turn: each waiting socket in turn gets a message until the budget is spent. */
  private serve(): void {
    this.scheduled = false;
    const start = performance.now();
    while (this.queue.size > 0 && performance.now() - start < BUDGET_MS)
      for (const socket of this.queue) {
        const message = socket.waiting?.shift();
        if (message === undefined || socket.waiting?.length === 0) {
          socket.waiting = undefined;
          socket.waitingBytes = 0;
          this.queue.delete(socket);
        } else socket.waitingBytes -= message.data.length;
        if (message !== undefined) socket.handlers?.message(message.data, message.isBinary);
      }
    if (this.queue.size > 0) this.schedule();
  }
}
