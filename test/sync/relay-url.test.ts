/**
 * Unit tests for src/sync/relay-url.ts: the canonical form of relay URLs named by relay-group and
 * cluster-membership events (scheme and host case, default ports, the empty path, IDN hosts, dot
 * segments), the allowed schemes, and every refusal (userinfo, fragments, whitespace, backslashes,
 * missing hosts, bad ports, length).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_RELAY_URL_LENGTH, normalizeRelayUrl } from '../../src/sync/relay-url.js';

function normalized(text: string): string {
  const r = normalizeRelayUrl(text);
  assert.ok(r.ok, `${text}: ${r.ok ? '' : r.problem}`);
  return r.url;
}

function problem(text: unknown, schemes?: Parameters<typeof normalizeRelayUrl>[1]): string {
  const r = normalizeRelayUrl(text, schemes);
  assert.ok(!r.ok, `${String(text)} should be refused`);
  return r.problem;
}

describe('normalizeRelayUrl', () => {
  it('lowercases scheme and host, drops default ports and the slash of an empty path', () => {
    assert.equal(normalized('WSS://Relay.Example.COM:443/'), 'wss://relay.example.com');
    assert.equal(normalized('ws://relay.example.com:80'), 'ws://relay.example.com');
    assert.equal(normalized('HTTP://relay.example.com:80/'), 'http://relay.example.com');
    assert.equal(normalized('https://relay.example.com:443'), 'https://relay.example.com');
  });

  it('keeps other ports, paths (with their trailing slash) and queries', () => {
    assert.equal(normalized('wss://relay.example.com:4848'), 'wss://relay.example.com:4848');
    assert.equal(normalized('ws://127.0.0.1:443/'), 'ws://127.0.0.1:443');
    assert.equal(normalized('https://relay.example.com:80/'), 'https://relay.example.com:80');
    assert.equal(normalized('wss://relay.example.com/Nostr/'), 'wss://relay.example.com/Nostr/');
    assert.equal(normalized('wss://relay.example.com/a?x=1'), 'wss://relay.example.com/a?x=1');
    assert.equal(normalized('wss://relay.example.com/?'), 'wss://relay.example.com');
  });

  it('resolves dot segments, writes IDN hosts as punycode and keeps IPv6 literals', () => {
    assert.equal(normalized('wss://relay.example.com/a/../b'), 'wss://relay.example.com/b');
    assert.equal(normalized('wss://rélay.example.com'), 'wss://xn--rlay-bpa.example.com');
    assert.equal(normalized('ws://[::1]:7777/'), 'ws://[::1]:7777');
  });

  it('reports the scheme', () => {
    const r = normalizeRelayUrl('HTTPS://x.example');
    assert.ok(r.ok);
    assert.equal(r.scheme, 'https');
  });

  it('accepts only the given schemes', () => {
    assert.match(problem('ftp://x.example'), /scheme "ftp"/);
    assert.match(problem('wss://x.example', ['http', 'https']), /expected http, https/);
    assert.ok(normalizeRelayUrl('https://x.example', ['http', 'https']).ok);
  });

  it('refuses what is not an absolute URL with a host', () => {
    assert.match(problem('relay.example.com'), /absolute URL/);
    assert.match(problem('wss:relay.example.com'), /absolute URL/);
    assert.match(problem('wss:/relay.example.com'), /absolute URL/);
    assert.match(problem('wss://'), /no host/);
    assert.match(problem('wss:///path'), /no host/);
    assert.match(problem('wss://:443'), /no host/);
    assert.match(problem('wss://x.example:99999'), /not a valid URL/);
    assert.match(problem('wss://x.example:port'), /not a valid URL/);
    assert.match(problem('wss://x<y.example'), /not a valid URL/);
  });

  it('refuses userinfo, fragments, whitespace, control characters and backslashes', () => {
    assert.match(problem('wss://user@relay.example.com'), /userinfo/);
    assert.match(problem('wss://user:pw@relay.example.com/'), /userinfo/);
    assert.match(problem('wss://relay.example.com/#x'), /fragment/);
    assert.match(problem('wss://relay.example.com#'), /fragment/);
    assert.match(problem(' wss://relay.example.com'), /whitespace/);
    assert.match(problem('wss://relay.exa\tmple.com'), /whitespace/);
    assert.match(problem('wss://relay.example.com/\n'), /whitespace/);
    assert.match(problem('wss://relay.example.com\u0000'), /control/);
    assert.match(problem('wss:\\\\relay.example.com'), /backslash/);
    assert.match(problem('wss://relay.example.com\\@evil.example'), /backslash/);
  });

  it('refuses non-strings, empty strings and URLs longer than the limit', () => {
    assert.match(problem(42), /not a string/);
    assert.match(problem(null), /not a string/);
    assert.match(problem(''), /empty/);
    const base = 'wss://relay.example.com/';
    const longest = base + 'a'.repeat(MAX_RELAY_URL_LENGTH - base.length);
    assert.equal(normalized(longest), longest);
    assert.match(problem(`${longest}a`), /longer than 2048/);
    // Percent-encoding can make a URL longer than the limit once normalized.
    const grows = base + 'é'.repeat(MAX_RELAY_URL_LENGTH - base.length);
    assert.match(problem(grows), /once normalized/);
  });
});
