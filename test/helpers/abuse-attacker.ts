/**
 * The attacker of issue 9's robustness suite: a WebSocket client that sends fast, counts the
 * events it is flooded with without parsing them, and files every other answer by id.
 */
import WebSocket from 'ws';
import type { Frame } from './relay-harness.js';

/** Answers filed by subscription id (or event id, for OK). */
const TERMINAL = new Set(['EOSE', 'CLOSED', 'COUNT', 'NEG-MSG', 'NEG-ERR', 'OK']);
const EVENT_PREFIX = Buffer.from('["EVENT","');

/**
 * An attacker's connection: sends fast, counts the EVENT frames it gets per subscription
 * without parsing them, and files every other answer (EOSE, CLOSED, COUNT, NEG-MSG, NEG-ERR, OK)
 * by subscription or event id. An answer still awaited when the relay closes the socket is
 * `['socket closed', key, '<code> <reason>']`.
 */
export class Attacker {
  /** EVENT frames received, in all and per subscription id. */
  events = 0;
  readonly eventsBySub = new Map<string, number>();
  /** Close code and reason once the socket closed. */
  closedWith: string | undefined;
  private readonly answers = new Map<string, Frame[]>();
  private readonly waiters = new Map<string, (f: Frame) => void>();

  private constructor(readonly ws: WebSocket) {
    ws.on('error', () => {}); // a reset by the relay: 'close' follows
    ws.on('message', (data: Buffer) => {
      if (data.subarray(0, EVENT_PREFIX.length).equals(EVENT_PREFIX)) {
        const sub = data.toString('latin1', EVENT_PREFIX.length, data.indexOf(0x22, EVENT_PREFIX.length));
        this.eventsBySub.set(sub, (this.eventsBySub.get(sub) ?? 0) + 1);
        this.events++;
        return;
      }
      const frame = JSON.parse(data.toString()) as Frame;
      if (TERMINAL.has(frame[0]) && typeof frame[1] === 'string') this.file(frame[1], frame);
    });
    ws.on('close', (code, reason) => {
      this.closedWith = `${code} ${reason.toString()}`;
      for (const key of [...this.waiters.keys()]) this.file(key, ['socket closed', key, this.closedWith]);
    });
  }

  private file(key: string, frame: Frame): void {
    if (frame[0] === 'NEG-MSG') frame[2] = '…'; // the set's fingerprint, not needed
    const waiter = this.waiters.get(key);
    if (waiter !== undefined) {
      this.waiters.delete(key);
      waiter(frame);
    } else this.answers.set(key, [...(this.answers.get(key) ?? []), frame]);
  }

  static connect(url: string, headers?: Record<string, string>): Promise<Attacker> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, headers === undefined ? undefined : { headers });
      ws.once('open', () => resolve(new Attacker(ws)));
      ws.once('error', reject);
    });
  }

  /** An upgrade attempt: the open connection, or the HTTP status and Retry-After of the refusal. */
  static attempt(
    url: string,
    headers: Record<string, string>,
  ): Promise<Attacker | { status: number; retryAfter: string | undefined; body: string }> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      ws.once('open', () => resolve(new Attacker(ws)));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => {
          const retry = res.headers['retry-after'];
          resolve({ status: res.statusCode ?? 0, retryAfter: retry, body });
          ws.terminate();
        });
      });
      ws.on('error', (e) => {
        if (ws.readyState === WebSocket.CONNECTING) reject(e);
      });
    });
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The first answer for `key` not taken yet (queued or future); rejects after `timeoutMs`. */
  answer(key: string, timeoutMs = 20_000): Promise<Frame> {
    const queued = this.answers.get(key);
    if (queued !== undefined && queued.length > 0) return Promise.resolve(queued.shift()!);
    if (this.closedWith !== undefined) return Promise.resolve(['socket closed', key, this.closedWith]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(key);
        reject(new Error(`attacker: no answer for ${key} in ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(key, (f) => {
        clearTimeout(timer);
        resolve(f);
      });
    });
  }

  /** Answers for `keys`, in order. */
  async answersFor(keys: readonly string[], timeoutMs?: number): Promise<Frame[]> {
    const frames: Frame[] = [];
    for (const key of keys) frames.push(await this.answer(key, timeoutMs));
    return frames;
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}
