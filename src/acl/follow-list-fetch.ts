/**
 * One fetch of the owners' and admins' follow lists (kind 3) and relay lists (kind 10002) from
 * one relay, over an outbound WebSocket (the `ws` package): one REQ with both filters, read until
 * EOSE, CLOSED, the socket closing or `timeoutMs`, whichever comes first.
 *
 * Bounded: at most `maxBytes` of frames and `maxEvents` events are read (then the fetch stops
 * with what it has), and every filter has a limit. Only events of the asked kinds by the asked
 * authors, well-formed and with the right id, are kept; per author and kind the newest whose
 * BIP-340 signature verifies (src/crypto) is returned, so a forged "newer" list cannot shadow
 * the real one. Nothing here stores anything.
 */
import WebSocket from 'ws';
import { verifySchnorr } from '../crypto/schnorr.js';
import { checkEventShape, computeEventId, type NostrEvent, nip01Event } from '../protocol/event.js';
import { VERSION } from '../version.js';

export const FETCHED_KINDS: readonly number[] = [3, 10002];

export interface FetchLimits {
  /** The whole fetch (handshake included), ms. Default 30 s. */
  readonly timeoutMs?: number;
  /** Bytes of frames read, at most. Default 10 MB. */
  readonly maxBytes?: number;
  /** Events read, at most. Default 10,000. */
  readonly maxEvents?: number;
}

export interface FetchResult {
  /** The newest valid event per author and kind. */
  readonly events: NostrEvent[];
  /** EVENT frames received. */
  readonly received: number;
  /** Events dropped: wrong kind or author, malformed, wrong id or bad signature. */
  readonly rejected: number;
  /** Why the read stopped: "eose", "timeout", "closed", "limit", "aborted", or an error. */
  readonly end: string;
}

/** Newest first; equal created_at: lowest id first (NIP-01's replaceable rule). */
function newestFirst(a: NostrEvent, b: NostrEvent): number {
  if (a.created_at !== b.created_at) return b.created_at - a.created_at;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function fetchLists(
  url: string,
  authors: readonly string[],
  limits: FetchLimits = {},
  signal?: AbortSignal,
): Promise<FetchResult> {
  const timeoutMs = limits.timeoutMs ?? 30_000;
  const maxBytes = limits.maxBytes ?? 10_000_000;
  const maxEvents = limits.maxEvents ?? 10_000;
  const wanted = new Set(authors);
  const subId = 'orly-follow-lists';
  const candidates = new Map<string, NostrEvent[]>();
  let received = 0;
  let rejected = 0;
  let bytes = 0;

  return new Promise<FetchResult>((resolve) => {
    const ws = new WebSocket(url, {
      handshakeTimeout: Math.min(10_000, timeoutMs),
      maxPayload: maxBytes,
      headers: { 'User-Agent': `orly-ts/${VERSION}` },
    });
    let done = false;
    const finish = (end: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (ws.readyState === WebSocket.OPEN) {
        try {
          ws.send(JSON.stringify(['CLOSE', subId]));
        } catch {
          // closing anyway
        }
        ws.close(1000);
        setTimeout(() => ws.terminate(), 1000).unref();
      } else ws.terminate();
      resolve({ events: pick(), received, rejected, end });
    };
    const pick = (): NostrEvent[] => {
      const out: NostrEvent[] = [];
      for (const list of candidates.values()) {
        list.sort(newestFirst);
        const valid = list.find((ev) => verifySchnorr(ev.id, ev.pubkey, ev.sig));
        rejected += valid === undefined ? list.length : list.indexOf(valid);
        if (valid !== undefined) out.push(valid);
      }
      return out;
    };
    const onAbort = (): void => finish('aborted');
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    timer.unref();
    if (signal?.aborted) {
      finish('aborted');
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });

    ws.on('open', () => {
      const limit = Math.max(1, authors.length) * 2;
      ws.send(
        JSON.stringify(['REQ', subId, ...FETCHED_KINDS.map((kind) => ({ kinds: [kind], authors, limit }))]),
      );
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (done) return;
      bytes += data.length;
      if (isBinary) return;
      if (bytes > maxBytes) return finish('limit');
      let frame: unknown;
      try {
        frame = JSON.parse(data.toString('utf8'));
      } catch {
        return;
      }
      if (!Array.isArray(frame) || frame[1] !== subId) return;
      if (frame[0] === 'EOSE') return finish('eose');
      if (frame[0] === 'CLOSED') return finish(`closed by the relay: ${String(frame[2] ?? '')}`);
      if (frame[0] !== 'EVENT') return;
      received++;
      const ev = frame[2] as NostrEvent;
      if (
        checkEventShape(ev) !== undefined ||
        !FETCHED_KINDS.includes(ev.kind) ||
        !wanted.has(ev.pubkey) ||
        computeEventId(ev) !== ev.id
      ) {
        rejected++;
      } else {
        const event = nip01Event(ev);
        const key = `${ev.pubkey}:${ev.kind}`;
        const list = candidates.get(key);
        if (list === undefined) candidates.set(key, [event]);
        else list.push(event);
      }
      if (received >= maxEvents) finish('limit');
    });
    ws.on('error', (err: Error) => finish(`error: ${err.message}`));
    ws.on('close', () => finish('closed'));
  });
}
