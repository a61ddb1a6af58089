/**
 * NIP-01 events: the type, the canonical serialization that commits to the id,
 * and the structural checks a relay applies before anything else. Pure code, no I/O.
 */
import { createHash } from 'node:crypto';

export interface NostrEvent {
  id: string;
  pubkey: string;
  created_at: number;
  kind: number;
  tags: string[][];
  content: string;
  sig: string;
}

const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;

export function isHex64(value: unknown): value is string {
  return typeof value === 'string' && value.length === 64 && HEX64.test(value);
}

export function isHex128(value: unknown): value is string {
  return typeof value === 'string' && value.length === 128 && HEX128.test(value);
}

/**
 * JSON.stringify escapes every C0 control character; NIP-01 requires only
 * \n \" \\ \r \t \b \f to be escaped and every other character written verbatim.
 * This pattern finds the `\u00XX` escapes JSON.stringify produced for the other
 * control characters, while consuming escaped backslashes (`\\`) so that a
 * literal backslash followed by "u0001" in the text is never touched.
 */
const EXTRA_CONTROL_ESCAPE = /\\\\|\\u00([01][0-9a-f])/g;

function unescapeControls(json: string): string {
  if (!json.includes('\\u00')) return json;
  return json.replace(EXTRA_CONTROL_ESCAPE, (match, hex: string | undefined) =>
    hex === undefined ? match : String.fromCharCode(Number.parseInt(hex, 16)),
  );
}

/** The exact string whose SHA-256 is the event id (NIP-01). */
export function serializeForId(
  event: Pick<NostrEvent, 'pubkey' | 'created_at' | 'kind' | 'tags' | 'content'>,
): string {
  return unescapeControls(
    JSON.stringify([0, event.pubkey, event.created_at, event.kind, event.tags, event.content]),
  );
}

export function computeEventId(
  event: Pick<NostrEvent, 'pubkey' | 'created_at' | 'kind' | 'tags' | 'content'>,
): string {
  return createHash('sha256').update(serializeForId(event), 'utf8').digest('hex');
}

/**
 * The stored and transmitted form: fields in NIP-01 order and nothing else (unknown fields a
 * client sent are dropped). This is ordinary JSON: control characters stay escaped here, since
 * raw ones are not valid JSON; only the id commitment (serializeForId) writes them verbatim.
 */
export function serializeEvent(event: NostrEvent): string {
  return JSON.stringify({
    id: event.id,
    pubkey: event.pubkey,
    created_at: event.created_at,
    kind: event.kind,
    tags: event.tags,
    content: event.content,
    sig: event.sig,
  });
}

/** Only the NIP-01 fields of an event that passed checkEventShape (anything else a sender added is dropped). */
export function nip01Event(value: NostrEvent): NostrEvent {
  const { id, pubkey, created_at, kind, tags, content, sig } = value;
  return { id, pubkey, created_at, kind, tags, content, sig };
}

/** The id of an event given as JSON, without parsing it when it is in canonical field order. */
export function idOfEventJson(json: string): string {
  if (json.startsWith('{"id":"') && json.charCodeAt(71) === 34) return json.slice(7, 71);
  return (JSON.parse(json) as { id: string }).id;
}

/**
 * Structural validation of an untrusted value. Returns a human-readable problem
 * (without prefix) or undefined when the value is a well-formed event.
 */
export function checkEventShape(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return 'event must be a JSON object';
  const ev = value as Record<string, unknown>;
  if (!isHex64(ev.id)) return 'id must be 64 lowercase hex characters';
  if (!isHex64(ev.pubkey)) return 'pubkey must be 64 lowercase hex characters';
  if (!isHex128(ev.sig)) return 'sig must be 128 lowercase hex characters';
  const createdAt = ev.created_at;
  if (typeof createdAt !== 'number' || !Number.isSafeInteger(createdAt) || createdAt < 0) {
    return 'created_at must be a non-negative integer';
  }
  const kind = ev.kind;
  if (typeof kind !== 'number' || !Number.isInteger(kind) || kind < 0 || kind > 65535) {
    return 'kind must be an integer between 0 and 65535';
  }
  if (typeof ev.content !== 'string') return 'content must be a string';
  if (!ev.content.isWellFormed()) return 'content is not valid unicode';
  const tags = ev.tags;
  if (!Array.isArray(tags)) return 'tags must be an array';
  for (const tag of tags) {
    if (!Array.isArray(tag) || tag.length === 0) return 'each tag must be a non-empty array of strings';
    for (const item of tag) {
      if (typeof item !== 'string') return 'each tag must be a non-empty array of strings';
      if (!item.isWellFormed()) return 'tag value is not valid unicode';
    }
  }
  return undefined;
}

/** First value of the first tag with this name, if any. */
export function firstTagValue(event: Pick<NostrEvent, 'tags'>, name: string): string | undefined {
  for (const tag of event.tags) if (tag[0] === name) return tag[1];
  return undefined;
}

/** NIP-01 `d` identifier of an addressable event: missing tag or `["d"]` count as "". */
export function dTag(event: Pick<NostrEvent, 'tags'>): string {
  for (const tag of event.tags) if (tag[0] === 'd') return tag[1] ?? '';
  return '';
}

/** NIP-40 expiration timestamp, or undefined when absent or malformed. */
export function expirationOf(event: Pick<NostrEvent, 'tags'>): number | undefined {
  const value = firstTagValue(event, 'expiration');
  if (value === undefined || !/^\d{1,15}$/.test(value)) return undefined;
  return Number(value);
}

export function isExpired(event: Pick<NostrEvent, 'tags'>, nowSeconds: number): boolean {
  const exp = expirationOf(event);
  return exp !== undefined && exp <= nowSeconds;
}

/** NIP-70: the event carries a single-element `["-"]` tag. */
export function isProtected(event: Pick<NostrEvent, 'tags'>): boolean {
  for (const tag of event.tags) if (tag.length === 1 && tag[0] === '-') return true;
  return false;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
