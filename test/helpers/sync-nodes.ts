/**
 * Relays for the replication tests: each on a port chosen before it starts (peers must name each
 * other's URLs), its own LMDB directory and identity key (ORLY_RELAY_SECRET_KEY, so the test
 * knows it), restartable on the same port and data; and small probes (publish, stored?). The
 * node, its environment and its start serve the split-mode nodes too (split-nodes.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/logger.js';
import { loadRelayConfig } from '../../src/relay/config.js';
import { createRelay } from '../../src/relay/create-relay.js';
import type { Relay } from '../../src/relay/relay.js';
import { freePort } from '../launcher/fake-service.js';
import { type Keys, newKeys, rawAuth } from './nostr.js';
import { NO_ADDRESS_LIMITS, RawClient } from './relay-harness.js';

/** A relay on a port chosen before it starts, with a data directory of its own. */
export interface RelayNode {
  readonly port: number;
  readonly dir: string;
  readonly url: string;
  readonly http: string;
  relay?: Relay;
}

export interface SyncNode extends RelayNode {
  readonly keys: Keys;
}

export async function makeRelayNode(dirPrefix = 'orly-sync-node-'): Promise<RelayNode> {
  const port = await freePort();
  return {
    port,
    dir: mkdtempSync(join(tmpdir(), dirPrefix)),
    url: `ws://127.0.0.1:${port}`,
    http: `http://127.0.0.1:${port}`,
  };
}

export async function makeSyncNode(): Promise<SyncNode> {
  return { ...(await makeRelayNode()), keys: newKeys() };
}

/** The environment every test relay on `node` starts with: its port, directory and URL, quiet. */
export function relayNodeEnv(node: RelayNode): Record<string, string> {
  return {
    ORLY_LISTEN: '127.0.0.1',
    ORLY_PORT: String(node.port),
    ORLY_LOG_LEVEL: 'silent',
    ORLY_VERIFY_WORKERS: '1',
    ...NO_ADDRESS_LIMITS,
    ORLY_DATA_DIR: node.dir,
    ORLY_RELAY_URL: node.url,
  };
}

/** Starts (or restarts) the relay of `node` with `env`. */
export async function startNodeRelay(node: RelayNode, env: Record<string, string>): Promise<Relay> {
  const relay = await createRelay(loadRelayConfig(env), createLogger('silent'), env);
  try {
    await relay.start();
  } catch (err) {
    // Its port taken meanwhile (another process): nothing left open to keep the test alive.
    await relay.stop();
    throw err;
  }
  node.relay = relay;
  return relay;
}

/** Starts (or restarts) the node's relay with `extra` on top of the common environment. */
export function startSyncNode(node: SyncNode, extra: Record<string, string> = {}): Promise<Relay> {
  return startNodeRelay(node, {
    ...relayNodeEnv(node),
    ORLY_RELAY_SECRET_KEY: Buffer.from(node.keys.sk).toString('hex'),
    ...extra,
  });
}

export async function stopSyncNodes(nodes: readonly (SyncNode | undefined)[]): Promise<void> {
  for (const node of nodes) {
    await node?.relay?.stop();
    if (node) rmSync(node.dir, { recursive: true, force: true });
  }
}

/** Publishes (authenticated as `as` when given); the OK message, "ok" when accepted. */
export async function publishTo(node: SyncNode, event: { id: string }, as?: Keys): Promise<string> {
  const c = await RawClient.connect(node.url);
  try {
    if (as !== undefined) assert.equal((await rawAuth(c, as, node.url))[2], true);
    const ok = await c.publish(event);
    return ok[2] === true ? 'ok' : String(ok[3]);
  } finally {
    await c.close();
  }
}

/** How many of `ids` `node` serves to `reader` (authenticated when given). */
export async function storedIds(
  node: { url: string },
  ids: readonly string[],
  reader?: Keys,
): Promise<number> {
  const c = await RawClient.connect(node.url);
  try {
    if (reader !== undefined) assert.equal((await rawAuth(c, reader, node.url))[2], true);
    return (await c.query(`q${Date.now()}`, { ids: [...ids] })).length;
  } finally {
    await c.close();
  }
}

/** Is the event stored on `node`, as `reader` (authenticated when given) is served it? */
export async function storedOn(node: SyncNode, id: string, reader?: Keys): Promise<boolean> {
  return (await storedIds(node, [id], reader)) === 1;
}
