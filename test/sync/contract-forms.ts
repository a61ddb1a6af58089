/**
 * What the contract suites of the replications share (distributed/contract.ts and
 * cluster/contract.ts, run by their contract.test.ts): this relay's public URL, the subject, a
 * stub peer relay on loopback, a request to an endpoint as the relay forwards it (signed with
 * NIP-98 when a signer is given), the status of a peer polled once, and the two forms of a replication, each over the suite's
 * in-memory store and signing as `self` (ORLY_RELAY_SECRET_KEY), NIP-11 lookups timing out after
 * 2 s:
 *
 * - inProcess: the replication built over the store, an ingest path checking signatures on the
 *   main thread, started;
 * - overGrpc: the service on 127.0.0.1 port 0 with a token (signatures on the main thread), the
 *   relay's client started against it.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getToken } from 'nostr-tools/nip98';
import { finalizeEvent } from 'nostr-tools/pure';
import { VerifierPool } from '../../src/crypto/verifier-pool.js';
import { createLogger, type Logger } from '../../src/logger.js';
import type { ReplicationServerOptions } from '../../src/services/shared/replication-server.js';
import { PeerDirectory } from '../../src/sync/identity/peer-directory.js';
import { loadRelayIdentity, type RelayIdentity } from '../../src/sync/identity/relay-identity.js';
import type {
  PeerStatus,
  Replication,
  SyncHttpRequest,
  SyncHttpResponse,
} from '../../src/sync/replication.js';
import type { SyncServiceClientOptions } from '../../src/sync/service-client.js';
import { SyncIngest } from '../../src/sync/sync-ingest.js';
import type { MemoryEventStore } from '../helpers/memory-store.js';
import { nip98Header } from '../helpers/nip86.js';
import type { Keys } from '../helpers/nostr.js';

const logger = createLogger('silent');

interface Startable {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** What every contract context gives. */
export interface FormContext {
  readonly store: MemoryEventStore;
  /** The subject's identity (ORLY_RELAY_SECRET_KEY). */
  readonly self: Keys;
}

/** This relay's public URL in the suites (NIP-98 tokens name it). */
export const RELAY_HTTP = 'http://relay.test';

export interface ContractSubject<R> {
  readonly replication: R;
  close(): Promise<void>;
}

export interface StubRelay {
  /** http://127.0.0.1:port */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * A stub peer relay: NIP-11 names `keys` as its `self`; `method path` is answered 200 with
 * `body()` as JSON; anything else is a 404.
 */
export async function startStubRelay(
  keys: Keys,
  method: string,
  path: string,
  body: () => unknown,
): Promise<StubRelay> {
  const server: Server = createServer((req, res) => {
    req.resume();
    if (req.method === 'GET' && String(req.headers.accept).includes('application/nostr+json')) {
      res.writeHead(200, { 'Content-Type': 'application/nostr+json' });
      res.end(JSON.stringify({ name: 'stub', self: keys.pk }));
    } else if (req.method === method && req.url === path) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body()));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function secretEnv(self: Keys): Record<string, string> {
  return { ORLY_RELAY_SECRET_KEY: Buffer.from(self.sk).toString('hex') };
}

/**
 * `status` is that of the peer at `url` (identity `pubkey`, and `extra` fields) polled and found
 * at serial 0: active, no lag, no errors, no live link, nothing replicated or received.
 */
export function assertPolledOnce(status: PeerStatus, url: string, pubkey: string, extra: object = {}): void {
  assert.ok(status.lastPoll > 0);
  assert.deepEqual(
    { ...status, lastPoll: 0 },
    {
      url,
      ...extra,
      pubkey,
      lastSerial: 0,
      lag: 0,
      status: 'active',
      lastPoll: 0,
      errorCount: 0,
      lastError: '',
      live: false,
      eventsReplicated: 0,
      bytesReceived: 0,
    },
  );
}

export interface EndpointRequest {
  readonly method: string;
  /** The query string without "?" (default none). */
  readonly query?: string;
  /** JSON (an object, serialized) or any text; none: an empty body. */
  readonly body?: unknown;
  /** Signs a NIP-98 token for RELAY_HTTP + path (with the payload hash of an object body). */
  readonly signer?: Keys;
  /** Fields of the request set after the token is made. */
  readonly extra?: Partial<SyncHttpRequest>;
}

/** The request at `path` as the relay forwards it to `target`, from 127.0.0.1. */
export async function endpointRequest(
  target: Pick<Replication, 'handleHttp'>,
  path: string,
  { method, query = '', body, signer, extra = {} }: EndpointRequest,
): Promise<SyncHttpResponse> {
  const url = `${RELAY_HTTP}${path}${query === '' ? '' : `?${query}`}`;
  const text = body === undefined || typeof body === 'string' ? body : JSON.stringify(body);
  // A body that is not JSON gets a token without a payload hash (NIP-98 makes it optional).
  const authorization =
    signer === undefined
      ? undefined
      : typeof body === 'object' && body !== null
        ? await nip98Header(signer, url, body)
        : await getToken(url, method, (e) => finalizeEvent(e, signer.sk), true);
  return target.handleHttp({
    method,
    path,
    query,
    headers: {
      ...(text === undefined ? {} : { 'content-type': 'application/json' }),
      ...(authorization === undefined ? {} : { authorization }),
    },
    body: text === undefined ? Buffer.alloc(0) : Buffer.from(text),
    remoteAddr: '127.0.0.1',
    requestUrls: [url],
    ...extra,
  });
}

export async function inProcess<R extends Startable>(
  ctx: FormContext,
  create: (deps: {
    store: MemoryEventStore;
    identity: RelayIdentity;
    ingest: SyncIngest;
    logger: Logger;
    directory: PeerDirectory;
  }) => R,
): Promise<ContractSubject<R>> {
  const identity = await loadRelayIdentity(ctx.store, secretEnv(ctx.self));
  const verifier = new VerifierPool({ workers: 0 });
  const sync = create({
    store: ctx.store,
    identity,
    ingest: new SyncIngest({ store: ctx.store, verifier }),
    logger,
    directory: new PeerDirectory({ timeoutMs: 2000 }),
  });
  await sync.start();
  return {
    replication: sync,
    async close() {
      await sync.stop();
      await verifier.close();
    },
  };
}

/** The server options both services take, for the suite's store and identity. */
type CommonServerOptions = Required<
  Pick<ReplicationServerOptions, 'listen' | 'logger' | 'security' | 'env' | 'verifyWorkers' | 'directory'>
> & { readonly store: MemoryEventStore };

export async function overGrpc<R extends Startable>(
  ctx: FormContext,
  token: string,
  startServer: (common: CommonServerOptions) => Promise<{ address: string; stop(): Promise<void> }>,
  connect: (options: SyncServiceClientOptions) => R,
): Promise<ContractSubject<R>> {
  const server = await startServer({
    listen: '127.0.0.1:0',
    store: ctx.store,
    logger,
    security: { token },
    env: secretEnv(ctx.self),
    verifyWorkers: 0,
    directory: new PeerDirectory({ timeoutMs: 2000 }),
  });
  const client = connect({ address: server.address, security: { token }, connectTimeoutMs: 5000 });
  await client.start();
  return {
    replication: client,
    async close() {
      await client.stop();
      await server.stop();
    },
  };
}
