/**
 * X-Forwarded-For is believed only from ORLY_TRUSTED_PROXIES (default loopback, a proxy on the
 * same host): the client address is then its rightmost entry that is not a trusted proxy (the
 * entries left of it are the client's own words), and the connection's peer otherwise.
 * The NIP-42 relay URL never comes from X-Forwarded-Host or Host alone (relay-address.ts): a
 * proxied connection may name only the configured addresses.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import WebSocket from 'ws';
import { loadRelayConfig } from '../../src/relay/config.js';
import type { RequestHead } from '../../src/relay/transport/http-exchange.js';
import { clientAddress, trustedProxyList } from '../../src/relay/trusted-proxies.js';
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
  it('believes forwarded headers from loopback by default: the rightmost untrusted entry', async () => {
    const t = await startTestRelay();
    try {
      const seen = await connectionSeen(t.url, t.relay, FORWARDED);
      // 203.0.113.9 is what the client claimed; 10.0.0.1 is what the (trusted) proxy saw.
      assert.equal(seen.ip, '10.0.0.1');
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

  it('skips the trusted proxies of a chain, not the client-controlled entries', async () => {
    const t = await startTestRelay({ ORLY_TRUSTED_PROXIES: '127.0.0.0/8, 10.0.0.0/8' });
    try {
      assert.equal((await connectionSeen(t.url, t.relay, FORWARDED)).ip, '203.0.113.9');
      const spoofed = { 'X-Forwarded-For': '198.51.100.1, 203.0.113.9, 10.0.0.2, 10.0.0.1' };
      assert.equal((await connectionSeen(t.url, t.relay, spoofed)).ip, '203.0.113.9');
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

/** A request as the relay sees it: the socket peer and the headers (lower-case names). */
function fakeRequest(peer: string, headers: Record<string, string> = {}): RequestHead {
  return { method: 'GET', url: '/', remoteAddress: peer, headers };
}

describe('clientAddress', () => {
  const loopback = trustedProxyList(['127.0.0.0/8', '::1', '10.0.0.0/8']);
  const cases: [string, string, string | undefined, string][] = [
    ['direct client, headers ignored', '198.51.100.7', '203.0.113.9', '198.51.100.7'],
    ['direct IPv4-mapped client', '::ffff:198.51.100.7', undefined, '198.51.100.7'],
    ['proxy without the header', '127.0.0.1', undefined, '127.0.0.1'],
    ['one hop', '127.0.0.1', '198.51.100.7', '198.51.100.7'],
    ['client-chosen entries on the left', '127.0.0.1', '1.1.1.1, 2.2.2.2, 198.51.100.7', '198.51.100.7'],
    ['trusted hops on the right', '127.0.0.1', '1.1.1.1, 198.51.100.7, 10.1.1.1, 127.0.0.2', '198.51.100.7'],
    ['every entry a trusted proxy: the leftmost', '::1', '10.0.0.9, 127.0.0.3', '10.0.0.9'],
    ['IPv4 with a port', '127.0.0.1', '198.51.100.7:5555', '198.51.100.7'],
    ['bracketed IPv6 with a port', '127.0.0.1', '[2001:db8::5]:443', '2001:db8::5'],
    ['plain IPv6', '127.0.0.1', '2001:db8::6', '2001:db8::6'],
    ['IPv4-mapped entry', '127.0.0.1', '::ffff:198.51.100.8', '198.51.100.8'],
    ['garbage nearest: the nearest trusted hop', '127.0.0.1', '198.51.100.7, unknown', '127.0.0.1'],
    ['garbage behind a trusted hop', '127.0.0.1', 'garbage, 10.0.0.4', '10.0.0.4'],
    ['empty entries skipped', '127.0.0.1', '198.51.100.7, , ', '198.51.100.7'],
  ];
  for (const [name, peer, xff, expected] of cases) {
    it(name, () => {
      const headers: Record<string, string> = xff === undefined ? {} : { 'x-forwarded-for': xff };
      assert.equal(clientAddress(fakeRequest(peer, headers), loopback), expected);
    });
  }
});
