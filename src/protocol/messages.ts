/**
 * Wire messages as tuples (NIP-01, 42, 45, 77), the parser for client frames and
 * builders for relay frames. Pure code, no I/O.
 */
import { Reasons } from '../errors.js';

export type ClientEVENT = ['EVENT', unknown];
export type ClientREQ = ['REQ', unknown, ...unknown[]];
export type ClientCLOSE = ['CLOSE', unknown];
export type ClientAUTH = ['AUTH', unknown];
export type ClientCOUNT = ['COUNT', unknown, ...unknown[]];
export type ClientNEGOPEN = ['NEG-OPEN', unknown, unknown, unknown];
export type ClientNEGMSG = ['NEG-MSG', unknown, unknown];
export type ClientNEGCLOSE = ['NEG-CLOSE', unknown];
export type ClientMessage =
  | ClientEVENT
  | ClientREQ
  | ClientCLOSE
  | ClientAUTH
  | ClientCOUNT
  | ClientNEGOPEN
  | ClientNEGMSG
  | ClientNEGCLOSE;

export const CLIENT_VERBS = new Set([
  'EVENT',
  'REQ',
  'CLOSE',
  'AUTH',
  'COUNT',
  'NEG-OPEN',
  'NEG-MSG',
  'NEG-CLOSE',
]);

export type ParsedClientMessage = { ok: true; message: ClientMessage } | { ok: false; reason: string };

export function parseClientMessage(text: string): ParsedClientMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: Reasons.notJson };
  }
  if (!Array.isArray(value) || typeof value[0] !== 'string') return { ok: false, reason: Reasons.notArray };
  const verb = value[0];
  if (!CLIENT_VERBS.has(verb)) return { ok: false, reason: Reasons.unknownVerb(verb) };
  return { ok: true, message: value as ClientMessage };
}

export function isValidSubId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 64;
}

// Relay frames. Event bodies are spliced in as stored raw JSON, never re-stringified.

export function eventFramePrefix(subId: string): string {
  return `["EVENT",${JSON.stringify(subId)},`;
}

export function eventFrame(subId: string, rawEvent: string): string {
  return `${eventFramePrefix(subId)}${rawEvent}]`;
}

export function okFrame(id: string, accepted: boolean, message: string): string {
  return JSON.stringify(['OK', id, accepted, message]);
}

export function eoseFrame(subId: string): string {
  return JSON.stringify(['EOSE', subId]);
}

export function closedFrame(subId: string, message: string): string {
  return JSON.stringify(['CLOSED', subId, message]);
}

export function noticeFrame(message: string): string {
  return JSON.stringify(['NOTICE', message]);
}

export function authFrame(challenge: string): string {
  return JSON.stringify(['AUTH', challenge]);
}

/** NIP-45 answer; `approximate` marks a count the relay stopped at its limit (a lower bound). */
export function countFrame(queryId: string, count: number, approximate = false): string {
  return JSON.stringify(['COUNT', queryId, approximate ? { count, approximate: true } : { count }]);
}

/** NIP-77 ["NEG-MSG", subId, hex]. */
export function negMsgFrame(subId: string, hex: string): string {
  return JSON.stringify(['NEG-MSG', subId, hex]);
}

/** NIP-77 ["NEG-ERR", subId, reason, ...extra] (strfry adds the record cap after "blocked: too many query results"). */
export function negErrFrame(subId: string, reason: string, ...extra: unknown[]): string {
  return JSON.stringify(['NEG-ERR', subId, reason, ...extra]);
}
