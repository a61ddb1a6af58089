/**
 * Who may read /metrics: by default only a direct client on this machine (a request through a
 * proxy, i.e. with forwarded headers, gets 403); with ORLY_METRICS_TOKEN only a bearer of the
 * token (401 otherwise); with ORLY_METRICS_LISTEN it is served on its own port and no longer on
 * the relay's (404 there).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '../../src/config/env.js';
import { loadRelayConfig } from '../../src/relay/config.js';
import { startTestRelay, type TestRelay } from '../helpers/relay-harness.js';

const TOKEN = 'metrics-token-0123456789';

function get(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { headers: { Connection: 'close', ...headers } });
}

describe('default: this machine only', () => {
  let t: TestRelay;
  before(async () => {
    t = await startTestRelay();
  });
  after(async () => {
    await t.stop();
  });

  it('a direct local request is served; one through a proxy is refused with 403', async () => {
    const local = await get(`${t.httpUrl}/metrics`);
    assert.equal(local.status, 200);
    assert.match(await local.text(), /^orly_connections /m);
    const proxies: Record<string, string>[] = [
      { 'X-Forwarded-For': '203.0.113.5' },
      { 'X-Real-IP': '203.0.113.5' },
      { Forwarded: 'for=203.0.113.5' },
    ];
    for (const headers of proxies) {
      const proxied = await get(`${t.httpUrl}/metrics`, headers);
      assert.equal(proxied.status, 403, JSON.stringify(headers));
      assert.match(await proxied.text(), /ORLY_METRICS_TOKEN/);
    }
  });
});

describe('ORLY_METRICS_TOKEN', () => {
  let t: TestRelay;
  before(async () => {
    t = await startTestRelay({ ORLY_METRICS_TOKEN: TOKEN });
  });
  after(async () => {
    await t.stop();
  });

  it('requires Authorization: Bearer <token>, from anywhere', async () => {
    const refused: Record<string, string>[] = [
      {},
      { Authorization: 'Bearer wrong-token-0123456789' },
      { Authorization: TOKEN },
    ];
    for (const headers of refused) {
      const res = await get(`${t.httpUrl}/metrics`, headers);
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
      await res.text();
    }
    const served: Record<string, string>[] = [
      { Authorization: `Bearer ${TOKEN}` },
      { Authorization: `bearer ${TOKEN}`, 'X-Forwarded-For': '203.0.113.5' },
    ];
    for (const headers of served) {
      const res = await get(`${t.httpUrl}/metrics`, headers);
      assert.equal(res.status, 200, JSON.stringify(headers));
      assert.match(await res.text(), /^orly_connections /m);
    }
  });
});

describe('ORLY_METRICS_LISTEN', () => {
  let t: TestRelay;
  before(async () => {
    t = await startTestRelay({ ORLY_METRICS_LISTEN: '127.0.0.1:0' });
  });
  after(async () => {
    await t.stop();
  });

  it('serves /metrics on its own port, and not on the relay port', async () => {
    const port = t.relay.metricsPort;
    assert.ok(port > 0 && port !== t.port);
    const relayPort = await get(`${t.httpUrl}/metrics`);
    assert.equal(relayPort.status, 404);
    await relayPort.text();
    const own = await get(`http://127.0.0.1:${port}/metrics`, { 'X-Forwarded-For': '203.0.113.5' });
    assert.equal(own.status, 200);
    assert.match(await own.text(), /^orly_connections /m);
    const elsewhere = await get(`http://127.0.0.1:${port}/`);
    assert.equal(elsewhere.status, 404);
    await elsewhere.text();
    // The relay's other routes are unchanged.
    assert.equal((await get(`${t.httpUrl}/health`)).status, 200);
  });

  it('with a token as well, the token is required there', async () => {
    const both = await startTestRelay({ ORLY_METRICS_LISTEN: '127.0.0.1:0', ORLY_METRICS_TOKEN: TOKEN });
    try {
      const url = `http://127.0.0.1:${both.relay.metricsPort}/metrics`;
      const refused = await get(url);
      assert.equal(refused.status, 401);
      await refused.text();
      const served = await get(url, { Authorization: `Bearer ${TOKEN}` });
      assert.equal(served.status, 200);
      await served.text();
    } finally {
      await both.stop();
    }
  });
});

describe('configuration', () => {
  it('refuses a short token or a bad address, naming the variable', () => {
    for (const [name, value] of [
      ['ORLY_METRICS_TOKEN', 'short'],
      ['ORLY_METRICS_TOKEN', 'has a space in it, long enough'],
      ['ORLY_METRICS_LISTEN', '9090'],
      ['ORLY_METRICS_LISTEN', '127.0.0.1:99999'],
    ] as const) {
      assert.throws(
        () => loadRelayConfig({ [name]: value }),
        (err: unknown) => err instanceof ConfigError && err.variable === name,
        `${name}=${value}`,
      );
    }
    assert.deepEqual(loadRelayConfig({}).metrics, {});
    assert.deepEqual(loadRelayConfig({ ORLY_METRICS_LISTEN: '127.0.0.1:9090' }).metrics, {
      listen: { host: '127.0.0.1', port: 9090 },
    });
  });
});
