/**
 * Test event factory. `signedEvent` makes real BIP-340-signed events with nostr-tools;
 * `unsignedEvent` makes events with a correct id but a placeholder signature, for tests of
 * components that never verify signatures (the store) and need thousands of events fast.
 */
import { finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure';
import { computeEventId, type NostrEvent } from '../../src/protocol/event.js';

export interface EventTemplate {
  kind?: number;
  tags?: string[][];
  content?: string;
  created_at?: number;
}

export interface TestKey {
  readonly sk: Uint8Array;
  readonly pubkey: string;
}

export function newKey(): TestKey {
  const sk = generateSecretKey();
  return { sk, pubkey: getPublicKey(sk) };
}

/** Default created_at: a fixed, recent moment so tests are reproducible. */
export const BASE_TIME = 1_700_000_000;

/** A real, signed event. Accepts either a secret key or a TestKey. */
export function signedEvent(key: Uint8Array | TestKey, template: EventTemplate = {}): NostrEvent {
  const sk = key instanceof Uint8Array ? key : key.sk;
  const signed = finalizeEvent(
    {
      kind: template.kind ?? 1,
      tags: template.tags ?? [],
      content: template.content ?? '',
      created_at: template.created_at ?? BASE_TIME,
    },
    sk,
  );
  return {
    id: signed.id,
    pubkey: signed.pubkey,
    created_at: signed.created_at,
    kind: signed.kind,
    tags: signed.tags,
    content: signed.content,
    sig: signed.sig,
  };
}

const PLACEHOLDER_SIG = 'f'.repeat(128);

/** An event with a correct id and a well-formed but invalid signature. */
export function unsignedEvent(pubkey: string, template: EventTemplate = {}): NostrEvent {
  const body = {
    pubkey,
    created_at: template.created_at ?? BASE_TIME,
    kind: template.kind ?? 1,
    tags: template.tags ?? [],
    content: template.content ?? '',
  };
  return { id: computeEventId(body), ...body, sig: PLACEHOLDER_SIG };
}

/** A deterministic 64-char hex string from a small integer (for fake pubkeys and ids). */
export function hexOf(n: number, salt = 0): string {
  const head = (n >>> 0).toString(16).padStart(8, '0') + (salt >>> 0).toString(16).padStart(8, '0');
  return head.repeat(4);
}

/** Seeded PRNG (mulberry32): returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
