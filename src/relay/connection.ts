/**
 * One client WebSocket: its NIP-42 state, its subscriptions, and a send path that
 * enforces the outbound buffer limit (a slow reader is closed with a NOTICE instead of
 * growing memory without bound).
 */
import { randomBytes } from 'node:crypto';
import { Reasons } from '../errors.js';
import { noticeFrame } from '../protocol/messages.js';
import type { MessageLimiter } from './connection-guard.js';
import type { Subscription } from './subscription.js';
import type { ClientSocket } from './transport/client-socket.js';

let nextConnectionId = 1;

/** `authed` of every connection that has not authenticated (never written). */
const NOBODY: ReadonlySet<string> = new Set<string>();

/**
 * Frames sent during one tick leave in one write per socket: each connection is corked at its
 * first send of the tick and uncorked when the tick's work is done. A store commit acknowledges
 * a whole batch of events at once, so OKs and live deliveries for the same socket coalesce
 * instead of costing one syscall each.
 */
let corkedThisTick: Connection[] = [];
let flushScheduled = false;

function flushCorked(): void {
  flushScheduled = false;
  const batch = corkedThisTick;
  corkedThisTick = [];
  for (const conn of batch) conn.endTickCork();
}

/** How long a slow reader closed by the relay has to complete the close handshake. */
const SLOW_READER_GRACE_MS = 2000;
/** Query results wait while more than this is queued for the client (backpressure()). */
const QUERY_HIGH_WATER = 1_048_576;
/** A client whose socket does not drain for this long while query results wait is closed. */
const DRAIN_TIMEOUT_MS = 60_000;

export class Connection {
  readonly id = nextConnectionId++;
  readonly challenge = randomBytes(16).toString('hex');
  /** NIP-42: every pubkey that authenticated on this connection (one shared empty set until the first AUTH). */
  authed: ReadonlySet<string> = NOBODY;
  readonly subscriptions = new Map<string, Subscription>();
  /** The weight of the live subscriptions' filters (ORLY_MAX_SUBSCRIPTION_BYTES bounds it). */
  subscriptionBytes = 0;
  /** Aborted when the connection goes away (made when first asked for: most connections never are). */
  private goneController: AbortController | undefined;
  private goneReason: unknown;
  /** EVENTs received but not yet answered with OK. */
  eventsInFlight = 0;
  alive = true;
  closed = false;
  private tickCorked = false;
  /** Set while query results wait for this client's socket to drain. */
  private drained: Promise<void> | undefined;

  constructor(
    readonly socket: ClientSocket,
    readonly ip: string,
    /** The URLs this client may name in a NIP-42 `relay` tag (relay-address.ts); none: AUTH is refused. */
    readonly relayUrls: readonly string[],
    /** Its EVENT and REQ token buckets, and its address's (connection-guard.ts). */
    readonly limiter: MessageLimiter,
    private readonly maxOutboundBuffer: number,
    private readonly onSlowReader: (conn: Connection) => void,
  ) {}

  /** Sends a text frame. Returns false when the connection is gone or was just closed for being slow. */
  send(frame: string | Uint8Array): boolean {
    if (this.closed) return false;
    this.corkForTick();
    this.socket.send(frame);
    return true;
  }

  /** Sends text frames [ends[i-1] (or `start`), ends[i]) of `data` for i in [from, to), as send() would each. */
  sendFrames(data: Uint8Array, ends: ArrayLike<number>, from: number, to: number, start: number): boolean {
    if (this.closed) return false;
    this.corkForTick();
    this.socket.sendFrames(data, ends, from, to, start);
    return true;
  }

  private corkForTick(): void {
    if (this.tickCorked) return;
    this.tickCorked = true;
    this.socket.cork();
    corkedThisTick.push(this);
    if (!flushScheduled) {
      flushScheduled = true;
      process.nextTick(flushCorked);
    }
  }

  /** After a flush: whatever the kernel would not take is backlog; too much of it closes a slow reader. */
  private checkBacklog(): void {
    if (this.closed || this.socket.bufferedAmount <= this.maxOutboundBuffer) return;
    this.close(1008, Reasons.slowReader, true);
    this.onSlowReader(this);
  }

  /** Closes with an optional NOTICE first. Idempotent. */
  close(code: number, notice: string | undefined, force = false): void {
    if (this.closed) return;
    this.closed = true;
    try {
      if (notice !== undefined) this.socket.send(noticeFrame(notice));
      this.socket.close(code, notice);
      // A reader that stopped reading will never complete the close handshake: cut it off soon.
      if (force) setTimeout(() => this.socket.terminate(), SLOW_READER_GRACE_MS).unref();
    } catch {
      this.socket.terminate();
    }
  }

  /**
   * Undefined while less than QUERY_HIGH_WATER bytes wait to be sent to this client; else a
   * promise that resolves once its socket has drained (or the connection is gone). A query's
   * results wait on it, so a client that reads slowly gets them at its pace instead of filling
   * the relay's memory; one that stops reading for DRAIN_TIMEOUT_MS is closed as a slow reader.
   */
  backpressure(): Promise<void> | undefined {
    if (this.closed || this.socket.bufferedAmount < QUERY_HIGH_WATER) return undefined;
    // One wait per backlog, shared by every query of this connection.
    this.drained ??= new Promise<void>((resolve) => {
      let forget = () => {};
      const done = () => {
        clearTimeout(timer);
        forget();
        this.drained = undefined;
        resolve();
      };
      const timer = setTimeout(() => {
        if (!this.closed) {
          this.close(1008, Reasons.slowReader, true);
          this.onSlowReader(this);
        }
        done();
      }, DRAIN_TIMEOUT_MS);
      timer.unref();
      forget = this.socket.onDrain(done);
    });
    return this.drained;
  }

  /** Called once per tick for a connection corked by send(). */
  endTickCork(): void {
    this.tickCorked = false;
    this.socket.uncork();
    this.checkBacklog();
  }

  /** Aborted when the connection goes away: its queued COUNTs and throttled EVENTs are dropped. */
  get gone(): AbortSignal {
    if (this.goneController === undefined) {
      this.goneController = new AbortController();
      if (this.goneReason !== undefined) this.goneController.abort(this.goneReason);
    }
    return this.goneController.signal;
  }

  /** The connection went away (relay.ts): aborts `gone`. */
  markGone(reason: object): void {
    this.goneReason = reason;
    this.goneController?.abort(reason);
  }

  /** Records a NIP-42 authentication as `pubkey`. */
  authenticated(pubkey: string): void {
    if (this.authed === NOBODY) this.authed = new Set([pubkey]);
    else (this.authed as Set<string>).add(pubkey);
  }

  isAuthenticated(): boolean {
    return this.authed.size > 0;
  }
}
