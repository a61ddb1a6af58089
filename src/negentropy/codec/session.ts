/**
 * One responder-side negentropy session: the sealed item set a NEG-OPEN matched, its
 * responder, and the bookkeeping a relay needs (last activity for idle expiry, rounds and
 * bytes for logs). Time is passed in, so this stays pure code with no timers or I/O.
 */
import { type ReconcileOptions, Responder } from './reconcile.js';
import type { NegentropyStorage } from './storage.js';

export interface SessionStats {
  readonly items: number;
  readonly rounds: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

export class NegentropySession {
  private readonly responder: Responder;
  lastActive: number;
  private rounds = 0;
  private bytesIn = 0;
  private bytesOut = 0;

  constructor(
    readonly id: string,
    readonly storage: NegentropyStorage,
    options: ReconcileOptions,
    now: number,
  ) {
    this.responder = new Responder(storage, options);
    this.lastActive = now;
  }

  /** Answers one initiator message (throws NegentropyError when it is malformed). */
  handle(message: Uint8Array, now: number): Uint8Array {
    this.lastActive = now;
    this.rounds++;
    this.bytesIn += message.length;
    const reply = this.responder.reconcile(message);
    this.bytesOut += reply.length;
    return reply;
  }

  isIdle(now: number, timeoutMs: number): boolean {
    return now - this.lastActive >= timeoutMs;
  }

  get stats(): SessionStats {
    return { items: this.storage.size, rounds: this.rounds, bytesIn: this.bytesIn, bytesOut: this.bytesOut };
  }
}
