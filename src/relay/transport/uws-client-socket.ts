/**
 * ClientSocket over a uWebSockets.js WebSocket. uWS corks only inside a callback
 * (ws.cork(fn)); the relay corks for a whole tick (connection.ts), so frames sent while corked
 * wait here and leave in one ws.cork() at uncork(). A uWS WebSocket must not be touched after its
 * close event (uWS throws), so every call checks `gone` first. uWS drops a frame when more than
 * its maxBackpressure (ORLY_MAX_OUTBOUND_BUFFER) is queued; the socket then reports an
 * unbounded backlog, and the relay closes it as a slow reader at the end of the tick, as it
 * would have with ws.
 */
import type { WebSocket } from '@trufflesuite/uws-js-unofficial';
import type { ClientSocket } from './client-socket.js';

/** ws.send(): 2 when the frame was dropped (backpressure over maxBackpressure). */
const DROPPED = 2;

export class UwsClientSocket implements ClientSocket {
  private corked = false;
  /** Frames sent while corked (allocated when needed: most sockets are idle). */
  private queue: (string | Uint8Array)[] | undefined;
  /** Their size, in characters for strings (close enough for backpressure). */
  private queued = 0;
  private overflowed = false;
  private gone = false;
  private drainListeners: (() => void)[] | undefined;

  constructor(private readonly ws: WebSocket<unknown>) {}

  send(frame: string | Uint8Array): void {
    if (this.gone) return;
    if (!this.corked) {
      this.write(frame);
      return;
    }
    if (this.queue === undefined) this.queue = [frame];
    else this.queue.push(frame);
    this.queued += frame.length;
  }

  sendFrames(data: Uint8Array, ends: ArrayLike<number>, from: number, to: number, start: number): void {
    for (let i = from, at = start; i < to; at = ends[i]!, i++) this.send(data.subarray(at, ends[i]!));
  }

  private write(frame: string | Uint8Array): void {
    if (this.ws.send(frame, false) === DROPPED) this.overflowed = true;
  }

  get bufferedAmount(): number {
    if (this.gone) return 0;
    if (this.overflowed) return Number.MAX_SAFE_INTEGER;
    return this.ws.getBufferedAmount() + this.queued;
  }

  cork(): void {
    this.corked = true;
  }

  uncork(): void {
    this.corked = false;
    this.flush();
  }

  private flush(): void {
    const frames = this.queue;
    if (frames === undefined) return;
    this.queue = undefined;
    this.queued = 0;
    if (this.gone) return;
    if (frames.length === 1) this.write(frames[0]!);
    else
      this.ws.cork(() => {
        for (const frame of frames) this.write(frame);
      });
    // Whoever waits for a backlog that was only queued here: if the kernel took it all, uWS has
    // nothing left to drain and will not say so (ws's TCP socket emits 'drain' in this case).
    if (this.drainListeners !== undefined && !this.gone && this.ws.getBufferedAmount() === 0) this.drained();
  }

  close(code: number, reason?: string): void {
    if (this.gone) return;
    // Frames queued before the close go first (e.g. the NOTICE saying why).
    this.flush();
    if (!this.gone) this.ws.end(code, reason?.slice(0, 120));
  }

  terminate(): void {
    if (!this.gone) this.ws.close();
  }

  ping(): void {
    if (!this.gone) this.ws.ping();
  }

  onDrain(listener: () => void): () => void {
    if (this.gone) {
      queueMicrotask(listener);
      return () => {};
    }
    this.drainListeners ??= [];
    const listeners = this.drainListeners;
    listeners.push(listener);
    return () => {
      const i = listeners.indexOf(listener);
      if (i >= 0) listeners.splice(i, 1);
    };
  }

  /** uWS's drain event: some of the backlog was written (the waiters look again). */
  drained(): void {
    const listeners = this.drainListeners;
    if (listeners === undefined || listeners.length === 0) return;
    this.drainListeners = undefined;
    for (const listener of listeners) listener();
  }

  /** uWS's close event: the WebSocket is gone and must not be touched again. */
  markGone(): void {
    this.gone = true;
    this.queue = undefined;
    this.queued = 0;
    this.drained();
  }
}
