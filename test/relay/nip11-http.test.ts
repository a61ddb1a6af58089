/**
 * Plain HTTP on the relay port: the NIP-11 document (with CORS), the HTML home page,
 * /health, /metrics, and WebSocket upgrades refused on paths other than "/".
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { Clients, newKeys, sign } from '../helpers/nostr.js';
import { LMDB_MODE, startTestRelay, type TestRelay } from '../helpers/relay-harness.js';

const ADMIN = newKeys().pk;
const ENV = {
  ORLY_APP_NAME: 'Test <Relay> & Co',
  ORLY_RELAY_DESCRIPTION: 'a relay under test',
  ORLY_RELAY_PUBKEY: ADMIN,
  ORLY_RELAY_CONTACT: 'mailto:admin@example.com',
  ORLY_RELAY_ICON: 'https://example.com/icon.png',
  ORLY_MAX_MESSAGE_SIZE: '200000',
  ORLY_MAX_SUBSCRIPTIONS: '7',
  ORLY_MAX_FILTERS: '9',
  ORLY_MAX_LIMIT: '300',
  ORLY_DEFAULT_LIMIT: '120',
  ORLY_MAX_EVENT_TAGS: '123',
  ORLY_MAX_CONTENT_LENGTH: '4567',
  ORLY_CREATED_AT_UPPER_LIMIT: '300',
  ORLY_CREATED_AT_LOWER_LIMIT: '86400',
};

let t: TestRelay;
const clients = new Clients();

before(async () => {
  t = await startTestRelay(ENV);
});

after(async () => {
  await clients.closeAll();
  await t.stop();
});

function assertCors(headers: Headers): void {
  assert.equal(headers.get('access-control-allow-origin'), '*');
  assert.ok(headers.get('access-control-allow-headers'), 'Access-Control-Allow-Headers');
  assert.match(headers.get('access-control-allow-methods') ?? '', /GET/);
}

/** A GET that closes its connection, so no keep-alive socket outlives the test. */
async function get(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${t.httpUrl}${path}`, { headers: { Connection: 'close', ...headers } });
}

describe('NIP-11 relay information document', () => {
  it('GET / with Accept: application/nostr+json returns the document with CORS headers', async () => {
    const res = await get('/', { Accept: 'application/nostr+json' });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/nostr\+json/);
    assertCors(res.headers);
    const doc = (await res.json()) as Record<string, unknown>;
    assert.deepEqual(doc.supported_nips, [1, 9, 11, 40, 42, 45, 70]);
    assert.equal(doc.name, ENV.ORLY_APP_NAME);
    assert.equal(doc.description, ENV.ORLY_RELAY_DESCRIPTION);
    assert.equal(doc.pubkey, ADMIN);
    assert.equal(doc.contact, ENV.ORLY_RELAY_CONTACT);
    assert.equal(doc.icon, ENV.ORLY_RELAY_ICON);
    assert.equal(typeof doc.software, 'string');
    assert.doesNotThrow(() => new URL(doc.software as string), 'software must be a URL');
    assert.equal(typeof doc.version, 'string');
    const limitation = doc.limitation as Record<string, unknown>;
    assert.equal(limitation.max_message_length, 200000);
    assert.equal(limitation.max_subscriptions, 7);
    assert.equal(limitation.max_filters, 9);
    assert.equal(limitation.max_limit, 300);
    assert.equal(limitation.default_limit, 120);
    assert.equal(limitation.max_subid_length, 64);
    assert.equal(limitation.max_event_tags, 123);
    assert.equal(limitation.max_content_length, 4567);
    assert.equal(limitation.created_at_upper_limit, 300);
    assert.equal(limitation.created_at_lower_limit, 86400);
    assert.equal(limitation.auth_required, false);
    assert.equal(limitation.payment_required, false);
    assert.equal(limitation.min_pow_difficulty, 0);
    assert.equal(limitation.max_filter_values, 1000);
    assert.equal(limitation.max_req_values, 4000);
    assert.equal(limitation.max_subscription_bytes, 1_048_576);
  });

  it('the advertised values are the enforced configuration', () => {
    const { limits } = t.relay.config;
    assert.equal(limits.maxSubscriptionsPerConnection, 7);
    assert.equal(limits.maxFiltersPerReq, 9);
    assert.equal(limits.maxLimit, 300);
    assert.equal(limits.defaultLimit, 120);
  });

  it('the Accept header may list several types', async () => {
    const res = await get('/', { Accept: 'text/html, application/nostr+json;q=0.9' });
    assert.match(res.headers.get('content-type') ?? '', /^application\/nostr\+json/);
    assert.deepEqual(
      ((await res.json()) as { supported_nips: number[] }).supported_nips,
      [1, 9, 11, 40, 42, 45, 70],
    );
  });

  it('OPTIONS (CORS preflight) answers 204 with the CORS headers', async () => {
    const res = await fetch(`${t.httpUrl}/`, {
      method: 'OPTIONS',
      headers: { Connection: 'close', Origin: 'https://example.com', 'Access-Control-Request-Method': 'GET' },
    });
    assert.equal(res.status, 204);
    assertCors(res.headers);
  });
});

describe('other HTTP routes', () => {
  it('plain GET / returns an HTML page naming the relay (escaped)', async () => {
    const res = await get('/');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assertCors(res.headers);
    const html = await res.text();
    assert.ok(html.includes('Test &#60;Relay&#62; &#38; Co'), html);
    assert.ok(!html.includes('<Relay>'));
  });

  it('GET /health -> 200', async () => {
    const res = await get('/health');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  it('GET /metrics -> Prometheus text with the relay metrics', async () => {
    const c = await clients.raw(t.url);
    const ev = sign(newKeys(), { content: 'counted' });
    assert.deepEqual(await c.publish(ev), ['OK', ev.id, true, '']);
    assert.deepEqual(await c.query('m', { ids: [ev.id] }), [ev]);
    const res = await get('/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await res.text();
    for (const name of [
      'orly_connections',
      'orly_messages_total',
      'orly_events_total',
      'orly_query_duration_seconds',
      'orly_store_events',
    ]) {
      assert.match(text, new RegExp(`^${name}`, 'm'), name);
    }
    assert.match(text, /^orly_events_total\{result="accepted"\} [1-9]/m);
    assert.match(text, /^orly_messages_total\{verb="EVENT"\} [1-9]/m);
    assert.match(text, /^orly_connections [1-9]/m);
    assert.match(text, /^orly_store_events [1-9]/m);
    if (LMDB_MODE) assert.match(text, /^orly_query_workers_ready [1-9]/m);
    assert.match(text, /^orly_query_duration_seconds_count [1-9]/m);
  });

  it('unknown paths -> 404, other methods -> 405, POST / is the NIP-86 API (415 for another type)', async () => {
    assert.equal((await get('/nope')).status, 404);
    const res = await fetch(`${t.httpUrl}/`, { method: 'PUT', body: 'x', headers: { Connection: 'close' } });
    assert.equal(res.status, 405);
    const post = await fetch(`${t.httpUrl}/`, {
      method: 'POST',
      body: 'x',
      headers: { Connection: 'close' },
    });
    assert.equal(post.status, 415);
  });

  it('HEAD / sends headers without a body', async () => {
    const res = await fetch(`${t.httpUrl}/health`, { method: 'HEAD', headers: { Connection: 'close' } });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '');
  });
});

describe('WebSocket endpoint', () => {
  it('upgrades on / (also with a query string)', async () => {
    const c = await clients.raw(`${t.url}/?client=test`);
    const ev = sign(newKeys());
    assert.deepEqual(await c.publish(ev), ['OK', ev.id, true, '']);
  });

  for (const path of ['/other', '/nostr', '//', '/index.html']) {
    it(`refuses an upgrade on ${path}`, async () => {
      const status = await new Promise<number | string>((resolve) => {
        const ws = new WebSocket(`${t.url}${path}`);
        ws.on('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          res.resume();
          ws.terminate();
        });
        ws.on('open', () => {
          ws.close();
          resolve('open');
        });
        ws.on('error', (err) => resolve(`error: ${err.message}`));
      });
      assert.equal(status, 404);
    });
  }

  it('a raw upgrade request on another path gets a 404 response', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({
        host: '127.0.0.1',
        port: t.port,
        path: '/elsewhere',
        headers: {
          Connection: 'Upgrade',
          Upgrade: 'websocket',
          'Sec-WebSocket-Version': '13',
          'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('upgrade', (_res, socket) => {
        socket.destroy();
        reject(new Error('upgraded'));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 404);
  });
});
