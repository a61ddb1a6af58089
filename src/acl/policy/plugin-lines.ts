/**
 * Small bounded helpers of the write-policy plugin runner: a byte-bounded line splitter for a
 * child's stdout and stderr, and a log budget so a chattering or broken plugin cannot flood the
 * relay's log.
 */
import type { Logger } from '../../logger.js';

/**
 * Splits a byte stream into lines ('\n', a trailing '\r' dropped), holding at most `maxBytes` of
 * an unfinished line. A longer line is reported once through `onOverflow` with its first
 * `maxBytes` bytes, and the rest of it, up to the next newline, is discarded.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private held = 0;
  private discarding = false;

  constructor(
    private readonly maxBytes: number,
    private readonly onLine: (line: string) => void,
    private readonly onOverflow: (head: string) => void,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl === -1 ? chunk.length : nl;
      if (!this.discarding) this.hold(chunk.subarray(start, end));
      if (nl === -1) return;
      if (this.discarding) this.discarding = false;
      else this.emitHeld();
      start = nl + 1;
    }
  }

  private hold(piece: Buffer): void {
    if (piece.length === 0) return;
    const room = this.maxBytes - this.held;
    if (piece.length <= room) {
      this.parts.push(piece);
      this.held += piece.length;
      return;
    }
    this.parts.push(piece.subarray(0, room));
    const head = Buffer.concat(this.parts).toString('utf8');
    this.parts = [];
    this.held = 0;
    this.discarding = true;
    this.onOverflow(head);
  }

  private emitHeld(): void {
    let line = Buffer.concat(this.parts).toString('utf8');
    this.parts = [];
    this.held = 0;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    this.onLine(line);
  }
}

/** At most `perWindow` log lines every `windowMs`; the number left out is logged at the next one. */
export class LogBudget {
  private windowStart = 0;
  private used = 0;
  private suppressed = 0;

  constructor(
    private readonly logger: Logger,
    private readonly what: string,
    private readonly perWindow = 20,
    private readonly windowMs = 10_000,
  ) {}

  warn(fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    if (now - this.windowStart >= this.windowMs) {
      if (this.suppressed > 0) {
        this.logger.warn({ suppressed: this.suppressed }, `${this.what}: lines left out of the log`);
      }
      this.windowStart = now;
      this.used = 0;
      this.suppressed = 0;
    }
    if (this.used >= this.perWindow) {
      this.suppressed++;
      return;
    }
    this.used++;
    this.logger.warn(fields, message);
  }
}

/** `text` cut to `max` characters, marked when cut (for log fields). */
export function clip(text: string, max = 1024): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} chars)`;
}
