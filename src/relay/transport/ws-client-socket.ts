/**
 * ClientSocket over a `ws` WebSocket: corking is the TCP socket's own (net.Socket cork/uncork),
 * drainage its `drain` event, as the relay did before the transport interface existed.
 */
import { WebSocket } from 'ws';
import type { ClientSocket } from './client-socket.js';
import { encodeTextFrames } from './text-frames.js';

/** ws sends Buffers as binary frames unless told otherwise; relay frames are always text. */
const TEXT_FRAME = { binary: false } as const;

interface RawSocket {
  write(data: Uint8Array): boolean;
  cork(): void;
  uncork(): void;
  on(event: 'drain' | 'close', listener: () => void): void;
  off(event: 'drain' | 'close', listener: () => void): void;
}

export class WsClientSocket implements ClientSocket {
  /** The TCP socket under the WebSocket (ws keeps it as `_socket`). */
  private readonly raw: RawSocket | undefined;

  constructor(private readonly ws: WebSocket) {
    this.raw = (ws as unknown as { _socket?: RawSocket })._socket;
  }

  send(frame: string | Uint8Array): void {
    if (typeof frame === 'string') this.ws.send(frame);
    else this.ws.send(frame, TEXT_FRAME);
  }

  /**
   * Many frames in one write to the TCP socket, beside ws's own writes (in order with them: ws
   * writes straight through while it has no compression and no Blob to wait for, and the relay
   * uses neither), while the WebSocket is open (ws sends nothing after a close either).
   */
  sendFrames(data: Uint8Array, ends: ArrayLike<number>, from: number, to: number, start: number): void {
    if (to <= from || this.ws.readyState !== WebSocket.OPEN) return;
    if (this.raw === undefined || to - from === 1) {
      for (let i = from, at = start; i < to; at = ends[i]!, i++) this.send(data.subarray(at, ends[i]!));
      return;
    }
    this.raw.write(encodeTextFrames(data, ends, from, to, start));
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  cork(): void {
    this.raw?.cork();
  }

  uncork(): void {
    this.raw?.uncork();
  }

  close(code: number, reason?: string): void {
    try {
      this.ws.close(code, reason?.slice(0, 120));
    } catch {
      this.ws.terminate();
    }
  }

  terminate(): void {
    this.ws.terminate();
  }

  ping(): void {
    this.ws.ping();
  }

  onDrain(listener: () => void): () => void {
    const raw = this.raw;
    if (raw === undefined) {
      queueMicrotask(listener);
      return () => {};
    }
    const done = () => {
      raw.off('drain', done);
      raw.off('close', done);
      listener();
    };
    raw.on('drain', done);
    raw.on('close', done);
    return () => {
      raw.off('drain', done);
      raw.off('close', done);
    };
  }
}
