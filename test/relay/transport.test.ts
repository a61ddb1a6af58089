/**
 * The WebSocket transports (ORLY_WS_TRANSPORT): the edge behaves the same on ws and on
 * uWebSockets.js, whichever one the other suites run on (ORLY_TEST_TRANSPORT). Each transport
 * gets a real relay and real sockets: HTTP answers (HEAD without a body, an oversized body
 * refused with 413 and the connection closed), refused upgrades with their status, the client
 * address, a message far beyond the limit closing the socket (1009), pings answered.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { ConfigError } from '../../src/config/env.js';
import { createLogger } from '../../src/logger.js';
import { loadRelayConfig } from '../../src/relay/config.js';
import { createRelay } from '../../src/relay/create-relay.js';
import { resolveTransport } from '../../src/relay/transport/create-transport.js';
import { addressText } from '../../src/relay/transport/uws-address.js';
import { loadUws } from '../../src/relay/transport/uws-native.js';
import { SPLIT_MODE, startTestRelay, type TestRelay } from '../helpers/relay-harness.js';
import { attempt } from '../helpers/upgrade.js';
import { waitFor } from '../helpers/wait.js';

/** uWebSockets.js ships binaries for some platforms and Node versions only (README, WebSocket transport). */
const UWS_LOADS = loadUws().ok;

function bytes(...values: number[]): ArrayBuffer {
  return new Uint8Array(values).buffer;
}

describe('uWebSockets.js peer addresses are written as node writes them', () => {
  it('IPv4, IPv4-mapped IPv6, compressed IPv6', () => {
    assert.equal(addressText(bytes(127, 0, 0, 1)), '127.0.0.1');
    assert.equal(
      addressText(bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 7)),
      '::ffff:198.51.100.7',
    );
    assert.equal(addressText(bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)), '::1');
    assert.equal(
      addressText(bytes(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 5)),
      '2001:db8::1:0:0:5',
    );
    assert.equal(
      addressText(bytes(0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6)),
      '2001:db8:1:2:3:4:5:6',
    );
    assert.equal(addressText(bytes(1, 2)), undefined);
  });

  it('ORLY_WS_TRANSPORT: ws by default, uws on request, auto = uws where its binary loads', () => {
    assert.equal(loadRelayConfig({}).transport, 'ws');
    assert.equal(loadRelayConfig({ ORLY_WS_TRANSPORT: 'UWS' }).transport, 'uws');
    assert.equal(resolveTransport('auto').kind, UWS_LOADS ? 'uws' : 'ws');
    assert.deepEqual(resolveTransport('ws'), { kind: 'ws' });
  });

  it('with an asynchronous access check (orly-acl over gRPC): auto takes ws, uws stops start-up', async () => {
    const auto = resolveTransport('auto', true);
    assert.equal(auto.kind, 'ws');
    assert.match(auto.fallback ?? '', /ORLY_ACL_TYPE=grpc/);
    assert.deepEqual(resolveTransport('ws', true), { kind: 'ws' });
    assert.throws(
      () => resolveTransport('uws', true),
      (err: Error) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /ORLY_WS_TRANSPORT/);
        return true;
      },
    );
    // The relay refuses before it opens anything (no store, no orly-acl connection).
    const env = { ORLY_WS_TRANSPORT: 'uws', ORLY_ACL_TYPE: 'grpc', ORLY_GRPC_ACL_SERVER: '127.0.0.1:1' };
    await assert.rejects(createRelay(loadRelayConfig(env), createLogger('silent'), env), ConfigError);
  });
});

/** A raw HTTP request: status, headers, body, and whether the server closed the connection. */
function raw(
  port: number,
  method: string,
  path: string,
  body?: Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

for (const transport of ['ws', 'uws'] as const) {
  const skip =
    transport === 'uws' &&
    ((!UWS_LOADS && 'no uWebSockets.js binary for this platform and Node') ||
      (SPLIT_MODE &&
        'split mode checks access in orly-acl over gRPC, which uws refuses (create-transport.ts)'));
  describe(`transport ${transport}`, { skip }, () => {
    let t: TestRelay;
    before(async () => {
      t = await startTestRelay({ ORLY_WS_TRANSPORT: transport, ORLY_MAX_MESSAGE_SIZE: '4096' });
    });
    after(() => t.stop());

    it('answers HTTP: GET, HEAD without a body, 404, OPTIONS', async () => {
      const get = await raw(t.port, 'GET', '/health');
      assert.equal(get.status, 200);
      assert.equal(get.body, '{"status":"ok"}');
      assert.equal(get.headers['access-control-allow-origin'], '*');
      const head = await raw(t.port, 'HEAD', '/health');
      assert.equal(head.status, 200);
      assert.equal(head.body, '');
      assert.equal(head.headers['content-length'], String(get.body.length));
      assert.equal((await raw(t.port, 'GET', '/nowhere?x=1')).status, 404);
      assert.equal((await raw(t.port, 'OPTIONS', '/')).status, 204);
      const info = await raw(t.port, 'GET', '/', undefined, { Accept: 'application/nostr+json' });
      assert.equal(JSON.parse(info.body).limitation.max_message_length, 4096);
    });

    it('reads a request body and refuses one over 64 KiB with 413', async () => {
      const type = { 'Content-Type': 'application/nostr+json+rpc' };
      const small = await raw(
        t.port,
        'POST',
        '/api/nip86',
        Buffer.from('{"method":"supportedmethods"}'),
        type,
      );
      assert.equal(small.status, 400, small.body);
      const big = await raw(t.port, 'POST', '/api/nip86', Buffer.alloc(70_000, 0x20), type);
      assert.equal(big.status, 413);
      assert.match(big.body, /body over 65536 bytes/);
    });

    it('refuses upgrades elsewhere than / (404) and counts the client by its address', async () => {
      assert.equal((await attempt(`${t.url}/elsewhere`)).status, 404);
      const ws = new WebSocket(t.url);
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      await waitFor(() => t.relay.connections.size === 1, 5000, 'the connection');
      assert.equal([...t.relay.connections][0]!.ip, '127.0.0.1');
      ws.close();
      await waitFor(() => t.relay.connections.size === 0, 5000, 'the relay to forget the connection');
    });

    it('closes a socket whose message is far beyond the limit (1009) and answers pings', async () => {
      const ws = new WebSocket(t.url);
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      const pong = new Promise((resolve) => ws.once('pong', resolve));
      ws.ping();
      await pong;
      const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
      ws.send(`["EVENT",${JSON.stringify({ content: 'x'.repeat(80_000) })}]`);
      assert.equal(await closed, 1009);
    });
  });
}
