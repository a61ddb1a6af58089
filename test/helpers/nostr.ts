/**
 * Signing and client helpers for the relay tests: keys, signed events (nostr-tools for the
 * ordinary case, a NIP-01-canonical signer for content with raw control characters), NIP-42
 * AUTH events, and a nostr-tools Relay client wired to the `ws` package.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { schnorr } from '@noble/curves/secp256k1.js';
import { finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure';
import { Relay, useWebSocketImplementation } from 'nostr-tools/relay';
import WebSocket from 'ws';
import { computeEventId, type NostrEvent } from '../../src/protocol/event.js';
import { type Frame, RawClient } from './relay-harness.js';

useWebSocketImplementation(WebSocket);

export interface Keys {
  readonly sk: Uint8Array;
  readonly pk: string;
}

export interface Template {
  kind?: number;
  created_at?: number;
  tags?: string[][];
  content?: string;
}

export function newKeys(): Keys {
  const sk = generateSecretKey();
  return { sk, pk: getPublicKey(sk) };
}

export function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function fill(t: Template): Required<Template> {
  return {
    kind: t.kind ?? 1,
    created_at: t.created_at ?? nowSec(),
    tags: t.tags ?? [],
    content: t.content ?? '',
  };
}

/** A plain NostrEvent (own enumerable fields only, NIP-01 field order) signed by nostr-tools. */
export function sign(keys: Keys, template: Template = {}): NostrEvent {
  return plain(finalizeEvent(fill(template), keys.sk));
}

/** Signs an arbitrary 32-byte id (hex) with BIP-340 Schnorr. */
export function signId(keys: Keys, id: string): string {
  return Buffer.from(schnorr.sign(Buffer.from(id, 'hex'), keys.sk)).toString('hex');
}

/** An event whose id is computed with the relay's NIP-01 canonical serializer (raw control characters). */
export function signCanonical(keys: Keys, template: Template = {}): NostrEvent {
  const t = fill(template);
  const id = computeEventId({ pubkey: keys.pk, ...t });
  return plain({ id, pubkey: keys.pk, ...t, sig: signId(keys, id) });
}

/** The id a JSON.stringify-based serializer computes (differs from NIP-01 for other C0 control characters). */
export function jsonStringifyId(
  ev: Pick<NostrEvent, 'pubkey' | 'created_at' | 'kind' | 'tags' | 'content'>,
): string {
  return createHash('sha256')
    .update(JSON.stringify([0, ev.pubkey, ev.created_at, ev.kind, ev.tags, ev.content]), 'utf8')
    .digest('hex');
}

/** An event with a correct signature over the JSON.stringify-style id. */
export function signJsonStringifyStyle(keys: Keys, template: Template = {}): NostrEvent {
  const t = fill(template);
  const id = jsonStringifyId({ pubkey: keys.pk, ...t });
  return plain({ id, pubkey: keys.pk, ...t, sig: signId(keys, id) });
}

/** A NIP-42 kind 22242 AUTH event; `overrides` replace fields of the template before signing. */
export function authEvent(
  keys: Keys,
  challenge: string,
  relayUrl: string,
  overrides: Template = {},
): NostrEvent {
  return sign(keys, {
    kind: 22242,
    created_at: nowSec(),
    tags: [
      ['relay', relayUrl],
      ['challenge', challenge],
    ],
    content: '',
    ...overrides,
  });
}

const challenges = new WeakMap<RawClient, string>();

/** The AUTH challenge the relay sent this raw client on connect. */
export async function challengeOf(client: RawClient): Promise<string> {
  const known = challenges.get(client);
  if (known !== undefined) return known;
  const frame = await client.nextOfType('AUTH');
  challenges.set(client, frame[1] as string);
  return frame[1] as string;
}

/** Authenticates a raw client as `keys` and returns the OK frame. */
export async function rawAuth(client: RawClient, keys: Keys, relayUrl: string): Promise<Frame> {
  const ev = authEvent(keys, await challengeOf(client), relayUrl);
  client.send(['AUTH', ev]);
  return client.next((f) => f[0] === 'OK' && f[1] === ev.id);
}

/** Records the raw text of every frame a raw client receives (for byte-exact assertions). */
export function recordRaw(client: RawClient): string[] {
  const raw: string[] = [];
  client.ws.on('message', (data) => raw.push(data.toString()));
  return raw;
}

/** Matches an OK / CLOSED reason with a standard machine-readable prefix. */
export function hasPrefix(prefix: string): RegExp {
  return new RegExp(`^${prefix}: .+`);
}

/** A nostr-tools client connected to the relay. */
export function connectNostrTools(url: string): Promise<Relay> {
  return Relay.connect(url);
}

/** A nostr-tools signer for relay.auth(). */
export function signerFor(keys: Keys) {
  return async (template: Template) => finalizeEvent(fill(template), keys.sk);
}

/** The seven NIP-01 fields of an event, without extras (nostr-tools marks verified events with a symbol). */
export function plain(ev: NostrEvent): NostrEvent {
  return {
    id: ev.id,
    pubkey: ev.pubkey,
    created_at: ev.created_at,
    kind: ev.kind,
    tags: ev.tags,
    content: ev.content,
    sig: ev.sig,
  };
}

/**
 * Sends a REQ with nostr-tools and collects the stored events until EOSE.
 * Rejects when the relay answers with CLOSED.
 */
export function fetchEvents(relay: Relay, filters: Record<string, unknown>[]): Promise<NostrEvent[]> {
  return new Promise((resolve, reject) => {
    const events: NostrEvent[] = [];
    let done = false;
    const sub = relay.subscribe(filters as never, {
      onevent: (ev) => events.push(plain(ev as NostrEvent)),
      oneose: () => {
        if (done) return;
        done = true;
        sub.close();
        resolve(events);
      },
      onclose: (reason) => {
        if (done) return;
        done = true;
        reject(new Error(reason));
        // A CLOSED before EOSE leaves nostr-tools' EOSE timer running; end it so the process can exit.
        sub.receivedEose();
      },
    });
  });
}

/** Sort comparator: ascending id. */
export function byId(a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** NIP-01 (+ NIP-42) machine-readable prefixes, plus the `unsupported` of the NIP-01 CLOSED example. */
export const STANDARD_REASON =
  /^(duplicate|pow|blocked|rate-limited|invalid|restricted|auth-required|mute|error|unsupported): \S/;

/** Why a frame breaks the OK / CLOSED reason rules (nips.md §2.2), or undefined when it is fine. */
export function reasonViolation(frame: Frame): string | undefined {
  if (frame[0] === 'OK') {
    if (frame.length !== 4 || typeof frame[1] !== 'string' || typeof frame[2] !== 'boolean')
      return 'malformed OK';
    if (typeof frame[3] !== 'string') return 'OK without a message';
    if (frame[2] === false && !STANDARD_REASON.test(frame[3])) return 'OK false without a standard prefix';
    if (frame[2] === true && frame[3] !== '' && !STANDARD_REASON.test(frame[3]))
      return 'OK true with a free-form message';
  }
  if (frame[0] === 'CLOSED' && (frame.length !== 3 || !STANDARD_REASON.test(frame[2]))) {
    return 'CLOSED without a standard prefix';
  }
  return undefined;
}

/**
 * Tracks every client a test file opens so that `closeAll()` leaves no socket behind. Every OK and
 * CLOSED frame a raw client receives is checked against the reason rules; `closeAll()` fails on a violation.
 */
export class Clients {
  private readonly raws: RawClient[] = [];
  private readonly tools: Relay[] = [];
  readonly violations: string[] = [];

  /** A raw client; `headers` are sent with the upgrade request (e.g. a forged Host). */
  async raw(url: string, headers?: Record<string, string>): Promise<RawClient> {
    const client = await RawClient.connect(url, headers);
    client.ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      const problem = reasonViolation(frame);
      if (problem !== undefined) this.violations.push(`${problem}: ${JSON.stringify(frame).slice(0, 300)}`);
    });
    this.raws.push(client);
    return client;
  }

  async nostrTools(url: string): Promise<Relay> {
    const relay = await connectNostrTools(url);
    this.tools.push(relay);
    return relay;
  }

  async closeAll(): Promise<void> {
    for (const relay of this.tools.splice(0)) relay.close();
    await Promise.all(this.raws.splice(0).map((c) => c.close()));
    assert.deepEqual(this.violations, [], 'OK / CLOSED frames must carry a standard machine-readable prefix');
  }
}
