/**
 * Relay groups in process: a relay with ORLY_RELAY_GROUP_ADMINS takes its distributed-sync peers
 * from the authoritative kind-39105 configuration, and follows a newer one at once; a
 * configuration from someone else, or an invalid one, changes nothing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/logger.js';
import { loadRelayConfig } from '../../src/relay/config.js';
import { createRelay } from '../../src/relay/create-relay.js';
import type { Relay } from '../../src/relay/relay.js';
import type { DistributedSync } from '../../src/sync/distributed/distributed-sync.js';
import { type Keys, newKeys, nowSec, sign } from '../helpers/nostr.js';
import { NO_ADDRESS_LIMITS, RawClient } from '../helpers/relay-harness.js';
import { waitFor } from '../helpers/wait.js';
import { freePort } from '../launcher/fake-service.js';

const logger = createLogger('silent');
const admin = newKeys();

interface Node {
  readonly port: number;
  readonly dir: string;
  readonly url: string;
  readonly http: string;
  relay?: Relay;
}

async function makeNode(): Promise<Node> {
  const port = await freePort();
  return {
    port,
    dir: mkdtempSync(join(tmpdir(), 'orly-group-')),
    url: `ws://127.0.0.1:${port}`,
    http: `http://127.0.0.1:${port}`,
  };
}

async function startNode(node: Node, extra: Record<string, string>): Promise<void> {
  const env = {
    ORLY_LISTEN: '127.0.0.1',
    ORLY_PORT: String(node.port),
    ORLY_LOG_LEVEL: 'silent',
    ORLY_VERIFY_WORKERS: '1',
    ...NO_ADDRESS_LIMITS,
    ORLY_DATA_DIR: node.dir,
    ORLY_RELAY_URL: node.url,
    ORLY_SYNC_DISTRIBUTED_INTERVAL: '1h',
    ...extra,
  };
  node.relay = await createRelay(loadRelayConfig(env), logger, env);
  await node.relay.start();
}

function peersOf(node: Node): string[] {
  return (node.relay!.replication.serviceFor('/api/sync/current') as DistributedSync).peers;
}

async function publish(node: Node, event: { id: string }): Promise<string> {
  const c = await RawClient.connect(node.url);
  try {
    const ok = await c.publish(event);
    return ok[2] === true ? 'ok' : String(ok[3]);
  } finally {
    await c.close();
  }
}

async function has(node: Node, id: string): Promise<boolean> {
  const c = await RawClient.connect(node.url);
  try {
    return (await c.query(`q${Date.now()}`, { ids: [id] })).length === 1;
  } finally {
    await c.close();
  }
}

const group = (relays: unknown, by: Keys = admin, createdAt = nowSec(), d = 'group') =>
  sign(by, {
    kind: 39105,
    created_at: createdAt,
    tags: [['d', d]],
    content: JSON.stringify({ relays }),
  });

describe('a relay group re-points distributed sync', () => {
  let a: Node;
  let b: Node;
  let c: Node;
  const author = newKeys();

  before(async () => {
    [a, b, c] = [await makeNode(), await makeNode(), await makeNode()];
    await startNode(a, { ORLY_RELAY_GROUP_ADMINS: admin.pk });
    await startNode(b, { ORLY_SYNC_DISTRIBUTED_PEERS: a.http });
    await startNode(c, { ORLY_SYNC_DISTRIBUTED_PEERS: a.http });
  });
  after(async () => {
    for (const node of [a, b, c]) {
      await node?.relay?.stop();
      if (node) rmSync(node.dir, { recursive: true, force: true });
    }
  });

  it('no configuration: no peers; a configuration from a non-admin or an invalid one changes nothing', async () => {
    assert.deepEqual(peersOf(a), []);
    assert.equal(await publish(a, group([b.url], newKeys())), 'ok');
    assert.equal(await publish(a, group(['not a url'], admin, nowSec(), 'broken')), 'ok');
    assert.deepEqual(peersOf(a), []);
  });

  it('the authoritative configuration makes its relays the peers, and a newer one replaces them at once', async () => {
    const now = nowSec();
    assert.equal(await publish(a, group([b.url], admin, now - 10)), 'ok');
    await waitFor(() => peersOf(a).length === 1 && peersOf(a)[0]!.startsWith(b.http), 5000, 'b as a peer');
    const fromB = sign(author, { content: 'from b' });
    assert.equal(await publish(b, fromB), 'ok');
    await waitFor(() => has(a, fromB.id), 10_000, 'b replicated to a', 200);

    assert.equal(await publish(a, group([c.url], admin, now)), 'ok');
    await waitFor(() => peersOf(a).length === 1 && peersOf(a)[0]!.startsWith(c.http), 5000, 'c replaces b');
    const fromC = sign(author, { content: 'from c' });
    assert.equal(await publish(c, fromC), 'ok');
    await waitFor(() => has(a, fromC.id), 10_000, 'c replicated to a', 200);
  });
});
