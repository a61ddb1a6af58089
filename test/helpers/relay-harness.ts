/**
 * Test harness: a real relay (real LMDB in a temp dir, real verifier workers) listening on
 * 127.0.0.1 port 0 in this process, and a raw WebSocket client that records every frame.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { OpenAccessControl } from '../../src/acl/access-control.js';
import { loadRelayConfig } from '../../src/config.js';
import { VerifierPool } from '../../src/crypto/verifier-pool.js';
import { createLogger } from '../../src/logger.js';
import { Relay } from '../../src/relay/relay.js';
import { LmdbEventStore } from '../../src/store/lmdb/lmdb-store.js';

export interface TestRelay {
  readonly relay: Relay;
  readonly url: string;
  readonly httpUrl: string;
  readonly port: number;
  readonly dataDir: string;
  stop(): Promise<void>;
}

export async function startTestRelay(env: Record<string, string> = {}): Promise<TestRelay> {
  const dataDir = env.ORLY_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'orly-test-'));
  const config = loadRelayConfig({
    ORLY_LISTEN: '127.0.0.1',
    ORLY_PORT: '0',
    ORLY_LOG_LEVEL: 'silent',
    ORLY_VERIFY_WORKERS: '1',
    ...env,
    ORLY_DATA_DIR: dataDir,
  });
  const store = await LmdbEventStore.open(dataDir);
  const relay = new Relay({
    config,
    store,
    access: new OpenAccessControl(),
    verifier: new VerifierPool({ workers: config.verifyWorkers }),
    logger: createLogger(config.logLevel),
  });
  const port = await relay.start();
  return {
    relay,
    port,
    url: `ws://127.0.0.1:${port}`,
    httpUrl: `http://127.0.0.1:${port}`,
    dataDir,
    async stop() {
      await relay.stop();
      if (env.ORLY_DATA_DIR === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

// biome-ignore lint/suspicious/noExplicitAny: relay frames are heterogeneous JSON arrays
export type Frame = any[];

/** A raw WebSocket client that queues every frame it receives, for exact protocol assertions. */
export class RawClient {
  readonly frames: Frame[] = [];
  private waiters: { match: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  closed = false;
  closeCode: number | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      const i = this.waiters.findIndex((w) => w.match(frame));
      if (i >= 0) {
        const [w] = this.waiters.splice(i, 1);
        w!.resolve(frame);
      } else this.frames.push(frame);
    });
    ws.on('close', (code) => {
      this.closed = true;
      this.closeCode = code;
    });
  }

  static connect(url: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const client = new RawClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
    });
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Resolves with the first frame (queued or future) matching the predicate. */
  next(match: (f: Frame) => boolean, timeoutMs = 5000): Promise<Frame> {
    const i = this.frames.findIndex(match);
    if (i >= 0) return Promise.resolve(this.frames.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (f: Frame) => {
          clearTimeout(timer);
          resolve(f);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          new Error(`timed out waiting for a frame; queued: ${JSON.stringify(this.frames).slice(0, 500)}`),
        );
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  nextOfType(type: string, timeoutMs?: number): Promise<Frame> {
    return this.next((f) => f[0] === type, timeoutMs);
  }

  /** Publishes an event and returns its OK frame. */
  async publish(event: { id: string }): Promise<Frame> {
    this.send(['EVENT', event]);
    return this.next((f) => f[0] === 'OK' && f[1] === event.id);
  }

  /** Sends a REQ and collects its EVENT payloads until EOSE (or rejects on CLOSED). */
  async query(subId: string, ...filters: unknown[]): Promise<Record<string, unknown>[]> {
    this.send(['REQ', subId, ...filters]);
    const events: Record<string, unknown>[] = [];
    for (;;) {
      const f = await this.next(
        (x) => (x[0] === 'EVENT' || x[0] === 'EOSE' || x[0] === 'CLOSED') && x[1] === subId,
      );
      if (f[0] === 'EOSE') return events;
      if (f[0] === 'CLOSED') throw new Error(`CLOSED: ${f[2]}`);
      events.push(f[2]);
    }
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}
