/**
 * Pubkey lists from the environment (ORLY_OWNERS, ORLY_ADMINS): comma-separated 64-hex or
 * NIP-19 `npub1...` entries. npub is decoded by the small BIP-173 bech32 decoder below
 * (nostr-tools is a dev dependency only), checksum included. Unlike ORLY, which skips invalid
 * entries, a bad entry stops start-up with a message naming the variable: a silently dropped
 * owner is a misconfiguration nobody notices until it matters.
 */
import { ConfigError } from '../config/env.js';

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values: readonly number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GENERATOR[i]!;
  }
  return chk >>> 0;
}

function hrpExpand(hrp: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) >> 5);
  out.push(0);
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) & 31);
  return out;
}

/** Decodes a bech32 (BIP-173) string into its human-readable part and 8-bit payload. */
export function bech32Decode(text: string): { hrp: string; bytes: Uint8Array } {
  if (text !== text.toLowerCase() && text !== text.toUpperCase()) throw new Error('mixed case');
  const s = text.toLowerCase();
  const sep = s.lastIndexOf('1');
  if (sep < 1 || sep + 7 > s.length || s.length > 1023) throw new Error('malformed bech32 string');
  const hrp = s.slice(0, sep);
  const data: number[] = [];
  for (const c of s.slice(sep + 1)) {
    const v = CHARSET.indexOf(c);
    if (v < 0) throw new Error(`invalid character ${JSON.stringify(c)}`);
    data.push(v);
  }
  if (polymod([...hrpExpand(hrp), ...data]) !== 1) throw new Error('bad checksum');
  // 5-bit groups -> bytes, no padding allowed beyond 4 zero bits.
  let acc = 0;
  let bits = 0;
  const bytes: number[] = [];
  for (const v of data.slice(0, -6)) {
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((acc >> bits) & 0xff);
    }
  }
  if (bits >= 5 || (acc & ((1 << bits) - 1)) !== 0) throw new Error('invalid padding');
  return { hrp, bytes: Uint8Array.from(bytes) };
}

/** One pubkey as lowercase hex, from 64-hex (any case) or npub. Throws with a short reason. */
export function parsePubkey(entry: string): string {
  const s = entry.trim();
  if (/^[0-9a-fA-F]{64}$/.test(s)) return s.toLowerCase();
  if (/^npub1/i.test(s)) {
    const { hrp, bytes } = bech32Decode(s);
    if (hrp !== 'npub' || bytes.length !== 32) throw new Error('not a 32-byte npub');
    return Buffer.from(bytes).toString('hex');
  }
  throw new Error('expected 64 hex characters or an npub1... key');
}

/** A comma-separated list (empty entries ignored), de-duplicated, in order. */
export function parsePubkeyList(raw: string | undefined, variable: string): string[] {
  if (raw === undefined) return [];
  const out: string[] = [];
  for (const part of raw.split(',')) {
    if (part.trim() === '') continue;
    let hex: string;
    try {
      hex = parsePubkey(part);
    } catch (err) {
      throw new ConfigError(
        variable,
        `invalid pubkey ${JSON.stringify(part.trim())}: ${(err as Error).message}`,
      );
    }
    if (!out.includes(hex)) out.push(hex);
  }
  return out;
}
