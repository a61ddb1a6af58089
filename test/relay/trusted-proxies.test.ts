/**
 * X-Forwarded-For / -Proto / -Host are believed only from ORLY_TRUSTED_PROXIES (default
 * loopback, a proxy on the same host): the client address in logs and the NIP-42 relay URL come
 * from them then, and from the connection itself otherwise.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import WebSocket from 'ws';
import { loadRelayConfig } from '../../src/relay/config.js';
import { startTestRelay } from '../helpers/relay-harness.js';
import { waitFor } from '../helpers/wait.js';

async function connectionSeen(
  url: string,
  relay: Awaited<ReturnType<typeof startTestRelay>>['relay'],
  headers: Record<string, string>,
): Promise<{ ip: string; relayUrl: string }> {
  const ws = new WebSocket(url, { headers });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  try {
    await waitFor(() => relay.connections.size > 0, 5000, 'the relay to register the connection');
    const [conn] = [...relay.connections];
    assert.ok(conn);
    return { ip: conn.ip, relayUrl: conn.relayUrl };
  } finally {
    ws.close();
    await waitFor(() => relay.connections.size === 0, 5000, 'the relay to forget the connection');
  }
}

const FORWARDED = {
  'X-Forwarded-For': '203.0.113.9, 10.0.0.1',
  'X-Forwarded-Proto': 'https',
  'X-Forwarded-Host': 'relay.example.com',
};

describe('trusted proxies', () => {
  it('believes forwarded headers from loopback by default', async () => {
    const t = await startTestRelay();
    try {
      const seen = await connectionSeen(t.url, t.relay, FORWARDED);
      assert.equal(seen.ip, '203.0.113.9');
      assert.equal(seen.relayUrl, 'wss://relay.example.com/');
    } finally {
      await t.stop();
    }
  });

  it('ignores them from a peer that is not listed', async () => {
    const t = await startTestRelay({ ORLY_TRUSTED_PROXIES: '10.0.0.0/8, 2001:db8::/32' });
    try {
      const seen = await connectionSeen(t.url, t.relay, FORWARDED);
      assert.equal(seen.ip, '127.0.0.1');
      assert.equal(seen.relayUrl, `ws://127.0.0.1:${t.port}/`);
    } finally {
      await t.stop();
    }
  });

  it('refuses a bad list at start-up, naming the variable', () => {
    for (const bad of ['not-an-ip', '10.0.0.0/33', '::1/200', '1.2.3.4/8/1']) {
      assert.throws(() => loadRelayConfig({ ORLY_TRUSTED_PROXIES: bad }), /ORLY_TRUSTED_PROXIES/);
    }
    assert.deepEqual(loadRelayConfig({ ORLY_TRUSTED_PROXIES: '' }).trustedProxies, []);
    assert.deepEqual(loadRelayConfig({}).trustedProxies, ['127.0.0.0/8', '::1']);
  });
});
