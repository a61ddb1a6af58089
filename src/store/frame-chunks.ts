/**
 * Builds FrameChunks (src/store/query-frames.ts): EVENT frames (prefix + stored JSON + `]`)
 * concatenated into chunks of about `chunkBytes`, each with its frames' end offsets and ids.
 * The frames are written into one reusable scratch buffer; a chunk taken out is an exact copy
 * (its buffers may be transferred to another thread or handed to a gRPC stream).
 */
import type { FrameChunk } from './query-frames.js';

const CLOSE_BRACKET = 0x5d;

export class FrameChunkBuilder {
  private scratch: Buffer;
  private length = 0;
  private ends: number[] = [];
  private ids = '';

  constructor(private readonly chunkBytes: number) {
    this.scratch = Buffer.allocUnsafe(chunkBytes);
  }

  /** Adds one frame; returns the chunk it completed when this frame did not fit beside the others. */
  add(prefix: Uint8Array, json: Uint8Array, id: string): FrameChunk | undefined {
    const size = prefix.length + json.length + 1;
    let full: FrameChunk | undefined;
    if (this.length + size > this.scratch.length) {
      full = this.take();
      // One frame larger than a chunk: a scratch of its own size (kept unless it is huge).
      if (size > this.scratch.length) this.scratch = Buffer.allocUnsafe(size);
    }
    this.scratch.set(prefix, this.length);
    this.scratch.set(json, this.length + prefix.length);
    this.scratch[this.length + size - 1] = CLOSE_BRACKET;
    this.length += size;
    this.ends.push(this.length);
    this.ids += id;
    return full;
  }

  /** The frames added since the last take, as a chunk of their own (undefined when none). */
  take(): FrameChunk | undefined {
    if (this.ends.length === 0) return undefined;
    const data = new Uint8Array(this.length);
    data.set(this.scratch.subarray(0, this.length));
    const chunk = { data, ends: Uint32Array.from(this.ends), ids: this.ids };
    this.length = 0;
    this.ends = [];
    this.ids = '';
    if (this.scratch.length > 4 * this.chunkBytes) this.scratch = Buffer.allocUnsafe(this.chunkBytes);
    return chunk;
  }
}
