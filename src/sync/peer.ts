/**
 * The sync client's WebSocket to the peer relay (the `ws` package): connects, sends JSON
 * frames, and hands received frames out one at a time through `receive(timeoutMs)`, which
 * rejects with a SyncError on an inactivity timeout or when the connection closes. Counts the
 * bytes of text frames sent and received for the summary line.
 *
 * Frames the caller has not asked for yet wait in a queue with a bound (MAX_QUEUED_FRAMES
 * frames or MAX_QUEUED_BYTES bytes): at the bound the socket stops being read (`ws.pause()`),
 * so the peer's sends back up into TCP and into the peer's own per-connection buffer, which the
 * peer bounds (a relay drops a subscriber that reads too slowly; the live link then reconnects
 * and the poll fills the gap). Reading resumes once the queue is down to half. Nothing
 * received is dropped; a peer cannot grow our memory beyond the bound plus one socket read.
 */

import WebSocket from 'ws';
import { OrlyError } from '../errors.js';

/** A failure that ends the sync with a clear one-line message (exit code 1). */
export class SyncError extends OrlyError {
  readonly code: string = 'ORLY_SYNC';
  constructor(message: string) {
    super(message);
    this.name = 'SyncError';
  }
}

// biome-ignore lint/suspicious/noExplicitAny: relay frames are heterogeneous JSON arrays
export type Frame = any[];

/** Thrown by receive() when nothing arrived in time (callers turn it into a phase-specific message). */
export class ReceiveTimeout extends SyncError {
  constructor(seconds: number) {
    super(`no message from the peer for ${seconds} s`);
    this.name = 'ReceiveTimeout';
  }
}

/** Frames received but not yet asked for, at most (then the socket is paused). */
export const MAX_QUEUED_FRAMES = 2000;
/** Bytes of such frames, at most (then the socket is paused). */
export const MAX_QUEUED_BYTES = 16 * 1024 * 1024;

export class PeerConnection {
  bytesUp = 0;
  bytesDown = 0;
  private readonly queue: Frame[] = [];
  private readonly queueSizes: number[] = [];
  private queueHead = 0;
  private queuedBytes = 0;
  private waiter: { resolve: (f: Frame) => void; reject: (e: Error) => void } | undefined;
  private failure: SyncError | undefined;

  private constructor(
    private readonly ws: WebSocket,
    readonly url: string,
  ) {
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? undefined : data.toString();
      const size = Array.isArray(data)
        ? data.reduce((n, b) => n + b.length, 0)
        : (data as Buffer | ArrayBuffer).byteLength;
      this.bytesDown += size;
      if (text === undefined) return;
      let frame: unknown;
      try {
        frame = JSON.parse(text);
      } catch {
        return; // not JSON: ignored, like any relay frame we do not understand
      }
      if (!Array.isArray(frame) || typeof frame[0] !== 'string') return;
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w.resolve(frame);
      } else this.enqueue(frame, size);
    });
    ws.on('close', (code, why) => {
      const detail = why.length > 0 ? `: ${why.toString()}` : '';
      this.fail(new SyncError(`the peer closed the connection (code ${code}${detail})`));
    });
    ws.on('error', (err) => this.fail(new SyncError(`connection error: ${err.message}`)));
  }

  static connect(url: string, timeoutMs: number): Promise<PeerConnection> {
    return new Promise((resolve, reject) => {
      let ws: WebSocket;
      try {
        ws = new WebSocket(url, { handshakeTimeout: timeoutMs, maxPayload: 256 * 1024 * 1024 });
      } catch (err) {
        reject(
          new SyncError(`cannot connect to ${url}: ${err instanceof Error ? err.message : String(err)}`),
        );
        return;
      }
      const onError = (err: Error): void => {
        reject(new SyncError(`cannot connect to ${url}: ${err.message}`));
      };
      ws.once('error', onError);
      ws.once('open', () => {
        ws.off('error', onError);
        resolve(new PeerConnection(ws, url));
      });
    });
  }

  private fail(error: SyncError): void {
    this.failure ??= error;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.reject(this.failure);
    }
  }

  send(frame: unknown): void {
    if (this.failure) throw this.failure;
    const text = JSON.stringify(frame);
    this.bytesUp += Buffer.byteLength(text);
    this.ws.send(text);
  }

  /** Sends an already-serialized frame (e.g. an EVENT spliced around a stored event's raw JSON). */
  sendRaw(text: string): void {
    if (this.failure) throw this.failure;
    this.bytesUp += Buffer.byteLength(text);
    this.ws.send(text);
  }

  /** Frames received and waiting for receive() (at most MAX_QUEUED_FRAMES plus one socket read). */
  get queuedFrames(): number {
    return this.queue.length - this.queueHead;
  }

  /** Bytes of those frames. */
  get queuedBytesCount(): number {
    return this.queuedBytes;
  }

  /** True while reading is paused because the queue is at its bound. */
  get paused(): boolean {
    return this.ws.isPaused;
  }

  private enqueue(frame: Frame, size: number): void {
    this.queue.push(frame);
    this.queueSizes.push(size);
    this.queuedBytes += size;
    if (!this.ws.isPaused && (this.queuedFrames >= MAX_QUEUED_FRAMES || this.queuedBytes >= MAX_QUEUED_BYTES))
      this.ws.pause();
  }

  private dequeue(): Frame | undefined {
    if (this.queueHead >= this.queue.length) return undefined;
    const frame = this.queue[this.queueHead] as Frame;
    this.queuedBytes -= this.queueSizes[this.queueHead] as number;
    this.queueHead++;
    if (this.queueHead >= 1024 && this.queueHead * 2 >= this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueSizes.splice(0, this.queueHead);
      this.queueHead = 0;
    }
    if (
      this.ws.isPaused &&
      this.queuedFrames <= MAX_QUEUED_FRAMES / 2 &&
      this.queuedBytes <= MAX_QUEUED_BYTES / 2
    )
      this.ws.resume();
    return frame;
  }

  /** The next frame; rejects after `timeoutMs` of silence or when the connection is gone. */
  receive(timeoutMs: number): Promise<Frame> {
    const queued = this.dequeue();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new ReceiveTimeout(Math.round(timeoutMs / 1000)));
      }, timeoutMs);
      this.waiter = {
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  /** Closes the socket (normal closure) and waits briefly for it to go. */
  async close(): Promise<void> {
    this.failure ??= new SyncError('connection closed');
    this.queue.length = 0;
    this.queueSizes.length = 0;
    this.queueHead = 0;
    this.queuedBytes = 0;
    if (this.ws.isPaused) this.ws.resume(); // so the peer's close frame can be read
    if (this.ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.ws.terminate();
        resolve();
      }, 1000);
      this.ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
      else this.ws.close(1000);
    });
  }
}
