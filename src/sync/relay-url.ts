/**
 * Relay URLs named by signed sync configuration (relay groups, kind 39105; cluster membership,
 * kind 39108): checked and brought to one canonical form, so that the same relay written two ways
 * is one peer, and so that nothing but an absolute URL of a relay reaches a poller. Pure code.
 *
 * Accepted: `ws://`, `wss://`, `http://`, `https://` (any letter case) followed by a host, an
 * optional port, path and query; at most 2048 characters before and after normalization.
 * Refused: other schemes, a missing `//` or host, userinfo (`user:pass@`), a fragment (`#`),
 * whitespace, control characters and backslashes (which WHATWG parsing would silently drop or read
 * as `/`), and anything the WHATWG URL parser refuses (bad port, forbidden host characters).
 *
 * Canonical form: the scheme and host lowercased (international hosts as punycode), a default port
 * (80 for ws/http, 443 for wss/https) dropped, the path as the WHATWG parser resolves it (dot
 * segments removed, percent-encoding applied), an empty path written without its `/`, and an
 * empty query (`?` alone) dropped: `WSS://Relay.Example.com:443/` → `wss://relay.example.com`.
 */

export type RelayUrlScheme = 'ws' | 'wss' | 'http' | 'https';

export const MAX_RELAY_URL_LENGTH = 2048;

const ALL_SCHEMES: readonly RelayUrlScheme[] = ['ws', 'wss', 'http', 'https'];

export type RelayUrlResult =
  | { readonly ok: true; readonly url: string; readonly scheme: RelayUrlScheme }
  | { readonly ok: false; readonly problem: string };

/** scheme "://" authority, then the rest (path, query). */
const FORM = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/s;
/** Whitespace, C0/C1 control characters, DEL and the backslash. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const FORBIDDEN = /[\s\u0000-\u001f\u007f-\u009f\\]/;

function fail(problem: string): RelayUrlResult {
  return { ok: false, problem };
}

/**
 * Checks `text` as a relay URL with one of `schemes` and returns its canonical form, or the
 * problem (a phrase for an error message, e.g. "has userinfo").
 */
export function normalizeRelayUrl(
  text: unknown,
  schemes: readonly RelayUrlScheme[] = ALL_SCHEMES,
): RelayUrlResult {
  if (typeof text !== 'string') return fail('is not a string');
  if (text.length === 0) return fail('is empty');
  if (text.length > MAX_RELAY_URL_LENGTH) return fail(`is longer than ${MAX_RELAY_URL_LENGTH} characters`);
  if (FORBIDDEN.test(text)) return fail('contains whitespace, a control character or a backslash');
  const parts = FORM.exec(text);
  if (parts === null) return fail('is not an absolute URL (scheme://host)');
  const scheme = parts[1]!.toLowerCase();
  if (!(schemes as readonly string[]).includes(scheme)) {
    return fail(`has scheme ${JSON.stringify(scheme.slice(0, 16))}, expected ${schemes.join(', ')}`);
  }
  const authority = parts[2]!;
  if (authority.includes('@')) return fail('has userinfo (user@ or user:password@)');
  if (authority === '' || authority.startsWith(':')) return fail('has no host');
  if (parts[3]!.includes('#')) return fail('has a fragment (#)');

  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail('is not a valid URL');
  }
  // The checks above make these impossible; kept so that a parser difference cannot slip through.
  if (url.username !== '' || url.password !== '') return fail('has userinfo (user@ or user:password@)');
  if (url.hostname === '') return fail('has no host');

  const path = url.pathname === '/' ? '' : url.pathname;
  const normalized = `${scheme}://${url.host}${path}${url.search}`;
  if (normalized.length > MAX_RELAY_URL_LENGTH) {
    return fail(`is longer than ${MAX_RELAY_URL_LENGTH} characters once normalized`);
  }
  return { ok: true, url: normalized, scheme: scheme as RelayUrlScheme };
}
