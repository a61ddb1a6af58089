/**
 * NIP-77 NEG-OPEN / NEG-MSG / NEG-CLOSE. With ORLY_NEGENTROPY_ENABLED unset the relay answers
 * NEG-OPEN/NEG-MSG with a NOTICE (`unsupported: ...`) and ignores NEG-CLOSE, as before.
 *
 * NEG-OPEN [id, filter, hex]: the filter (an object, or an array holding exactly one) goes
 * through the same checks as a REQ (invalid:/unsupported:/auth-required: reasons, as NEG-ERR).
 * The initial message is parsed before the store is asked. The item set is every stored,
 * unexpired event matching the filter (an explicit `limit` keeps the newest `limit`, as a REQ
 * would); more than ORLY_NEGENTROPY_MAX_RECORDS matches -> ["NEG-ERR", id, "blocked: too many
 * query results", max] (strfry's frame).
 *
 * Visibility: a NEG-OPEN never reveals an id a REQ would not serve. Filters naming restricted
 * kinds are refused before AUTH, as REQ does; the responder removes every restricted-kind id the
 * connection's authed pubkeys may not read (see ../local-negentropy-responder.ts).
 *
 * The item sets and reconciliation live behind the relay's NegentropyResponder: in this process,
 * or orly-sync-negentropy over gRPC (ORLY_SYNC_TYPE=grpc + ORLY_GRPC_SYNC_NEGENTROPY), whose
 * failures (service down) reach the client as NEG-ERR "error: ...". This handler and
 * ../negentropy-sessions.ts keep the relay's own bookkeeping either way.
 *
 * Sessions: a NEG-OPEN on an open id replaces it; at most ORLY_NEGENTROPY_MAX_SESSIONS per
 * connection (NEG-ERR blocked:); NEG-MSG on an unknown id -> NEG-ERR "closed: ..."; malformed
 * hex or messages -> NEG-ERR "invalid: ..."; every NEG-ERR closes its session. NEG-CLOSE frees
 * quietly. Idle sessions expire (NEG-ERR closed:), all close on disconnect.
 */
import { Reasons } from '../../errors.js';
import { Responder } from '../../negentropy/codec/reconcile.js';
import { SealedVector } from '../../negentropy/codec/storage.js';
import { fromHex, PROTOCOL_VERSION, toHex } from '../../negentropy/codec/types.js';
import { EMPTY_ITEMS } from '../../negentropy/local-responder.js';
import type { NegReply, NegSessionKey } from '../../negentropy/responder.js';
import type { NegentropySessions } from '../../negentropy/session-table.js';
import { type ClientMessage, isValidSubId, noticeFrame } from '../../protocol/messages.js';
import type { Connection } from '../connection.js';
import type { Relay } from '../relay.js';
import { parseFilters } from './req.js';

export { newest, subtractSorted } from '../../negentropy/local-responder.js';

export function negMsgFrame(subId: string, hex: string): string {
  return JSON.stringify(['NEG-MSG', subId, hex]);
}

export function negErrFrame(subId: string, reason: string, ...extra: unknown[]): string {
  return JSON.stringify(['NEG-ERR', subId, reason, ...extra]);
}

export function handleNegentropy(relay: Relay, conn: Connection, message: ClientMessage): void {
  const sessions = relay.negentropy;
  if (sessions === undefined) {
    if (message[0] !== 'NEG-CLOSE') conn.send(noticeFrame(Reasons.negDisabled));
    return;
  }
  const subId = message[1];
  if (!isValidSubId(subId)) {
    if (message[0] === 'NEG-CLOSE') return;
    if (typeof subId === 'string') conn.send(negErrFrame(subId.slice(0, 64), Reasons.badSubId));
    else conn.send(noticeFrame(Reasons.badSubId));
    return;
  }
  switch (message[0]) {
    case 'NEG-OPEN':
      open(relay, conn, sessions, subId, message[2], message[3]);
      return;
    case 'NEG-MSG':
      next(relay, conn, sessions, subId, message[2]);
      return;
    case 'NEG-CLOSE':
      if (sessions.close(conn, subId)) relay.negentropyResponder?.close(keyOf(conn, subId));
      return;
  }
}

function keyOf(conn: Connection, subId: string): NegSessionKey {
  return { connectionId: String(conn.id), subId };
}

function open(
  relay: Relay,
  conn: Connection,
  sessions: NegentropySessions,
  subId: string,
  rawFilter: unknown,
  hex: unknown,
): void {
  const responder = relay.negentropyResponder!;
  const key = keyOf(conn, subId);
  const fail = (reason: string, ...extra: unknown[]) => conn.send(negErrFrame(subId, reason, ...extra));
  // A NEG-OPEN on an open id closes the old session first, whatever becomes of this one.
  if (sessions.close(conn, subId)) responder.close(key);

  // One filter object; NDK sends it wrapped in an array, which is accepted when it holds exactly one.
  let filterValue = rawFilter;
  if (Array.isArray(rawFilter)) filterValue = rawFilter.length === 1 ? rawFilter[0] : undefined;
  if (filterValue === null || typeof filterValue !== 'object' || Array.isArray(filterValue)) {
    fail(Reasons.negBadFilter);
    return;
  }
  const parsed = parseFilters(relay, conn, [filterValue]);
  if ('reason' in parsed) {
    fail(parsed.reason);
    return;
  }
  const filter = parsed.filters[0]!;
  if (typeof hex !== 'string' || hex.length === 0) {
    fail(Reasons.negMissingMessage);
    return;
  }
  try {
    const initial = fromHex(hex);
    // Parse the whole message once (against nothing) so garbage never costs a query.
    const dryRun = new Responder(SealedVector.fromSorted(EMPTY_ITEMS)).reconcile(initial);
    if (initial[0] !== PROTOCOL_VERSION) {
      // Another protocol version: answer with ours (the single byte 0x61) and keep no session.
      conn.send(negMsgFrame(subId, toHex(dryRun)));
      return;
    }
  } catch (err) {
    fail(Reasons.negBadMessage(errorText(err)));
    return;
  }
  const { maxSessions } = relay.config.negentropy;
  if (sessions.count(conn) >= maxSessions) {
    fail(Reasons.negTooManySessions(maxSessions));
    return;
  }

  const slot = sessions.reserve(conn, subId);
  responder
    .open(key, filter, hex, { authed: new Set(conn.authed), ip: conn.ip })
    .catch((err: unknown): NegReply => ({ error: `error: negentropy failed: ${errorText(err)}` }))
    .then((reply) => {
      // Closed, replaced or disconnected meanwhile: whoever did that told the responder.
      if (conn.closed || !sessions.isCurrent(conn, subId, slot)) return;
      if ('error' in reply) {
        sessions.close(conn, subId);
        if (reply.maxRecords) fail(reply.error, reply.maxRecords);
        else fail(reply.error);
        return;
      }
      slot.ready = true;
      slot.lastActive = Date.now();
      conn.send(negMsgFrame(subId, reply.message));
    });
}

function next(
  relay: Relay,
  conn: Connection,
  sessions: NegentropySessions,
  subId: string,
  hex: unknown,
): void {
  const responder = relay.negentropyResponder!;
  const key = keyOf(conn, subId);
  const slot = sessions.get(conn, subId);
  if (slot === undefined) {
    conn.send(negErrFrame(subId, Reasons.negUnknownSession));
    return;
  }
  const fail = (reason: string) => {
    if (sessions.close(conn, subId)) responder.close(key);
    conn.send(negErrFrame(subId, reason));
  };
  if (!slot.ready) {
    fail(Reasons.negNotReady);
    return;
  }
  if (typeof hex !== 'string') {
    fail(Reasons.negBadMessage('NEG-MSG needs a hex string'));
    return;
  }
  slot.lastActive = Date.now();
  responder
    .message(key, hex)
    .catch((err: unknown): NegReply => ({ error: `error: negentropy failed: ${errorText(err)}` }))
    .then((reply) => {
      if (conn.closed || !sessions.isCurrent(conn, subId, slot)) return;
      slot.lastActive = Date.now();
      if ('error' in reply) {
        sessions.close(conn, subId);
        responder.close(key);
        conn.send(negErrFrame(subId, reply.error));
        return;
      }
      conn.send(negMsgFrame(subId, reply.message));
    });
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
