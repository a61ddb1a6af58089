/**
 * X-Forwarded-For is believed only from ORLY_TRUSTED_PROXIES (default loopback, a proxy on the
 * same host): the client address comes from it then, and from the connection itself otherwise.
 * The NIP-42 relay URL never comes from X-Forwarded-Host or Host alone (relay-address.ts): a
 * proxied connection may name only the configured addresses.
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
): Promise<{ ip: string; relayUrls: readonly string[] }> {
  const ws = new WebSocket(url, { headers });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  try {
    await waitFor(() => relay.connections.size > 0, 5000, 'the relay to register the connection');
    const [conn] = [...relay.connections];
    assert.ok(conn);
    return { ip: conn.ip, relayUrls: conn.relayUrls };
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
      // No public URL configured: a proxied client is not local, X-Forwarded-Host is not believed.
      assert.deepEqual(seen.relayUrls, []);
    } finally {
      await t.stop();
    }
  });

  it('a configured address is the relay URL of a proxied connection, whatever its forwarded host', async () => {
    const t = await startTestRelay({
      ORLY_RELAY_ADDRESSES: 'relay.example.com, wss://alt.example.com/nostr',
    });
    try {
      const expected = ['ws://relay.example.com/', 'wss://alt.example.com/nostr'];
      assert.deepEqual((await connectionSeen(t.url, t.relay, FORWARDED)).relayUrls, expected);
      const evil = { ...FORWARDED, 'X-Forwarded-Host': 'evil.example' };
      assert.deepEqual((await connectionSeen(t.url, t.relay, evil)).relayUrls, expected);
    } finally {
      await t.stop();
    }
  });

  it('ignores them from a peer that is not listed', async () => {
    const t = await startTestRelay({ ORLY_TRUSTED_PROXIES: '10.0.0.0/8, 2001:db8::/32' });
    try {
      const seen = await connectionSeen(t.url, t.relay, FORWARDED);
      assert.equal(seen.ip, '127.0.0.1');
      // Forged forwarded headers from a local peer: not a plain local client either.
      assert.deepEqual(seen.relayUrls, []);
      assert.deepEqual((await connectionSeen(t.url, t.relay, {})).relayUrls, [`ws://127.0.0.1:${t.port}/`]);
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
