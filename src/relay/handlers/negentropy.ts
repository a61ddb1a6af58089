/**
 * NIP-77 NEG-OPEN / NEG-MSG / NEG-CLOSE. With ORLY_NEGENTROPY_ENABLED unset the relay answers
 * NEG-OPEN/NEG-MSG with a NOTICE (`unsupported: ...`) and ignores NEG-CLOSE, as before.
 *
 * With ORLY_AUTH_REQUIRED, a NEG-OPEN before AUTH gets NEG-ERR "auth-required: ..." (gates.ts).
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
 * connection's authed pubkeys may not read (see src/negentropy/local-responder.ts), and applies
 * the write policy's read scope like a REQ (a reader it refuses gets NEG-ERR with its reason).
 *
 * The item sets and reconciliation live behind the relay's NegentropyResponder: in this process,
 * or orly-sync-negentropy over gRPC (ORLY_SYNC_TYPE=grpc + ORLY_GRPC_SYNC_NEGENTROPY), whose
 * failures (service down) reach the client as NEG-ERR "error: ...". This handler validates the
 * message and its filter and routes it to the relay's NegentropyGateway (src/negentropy/gateway.ts),
 * which keeps the sessions either way.
 *
 * Sessions: a NEG-OPEN on an open id replaces it; at most ORLY_NEGENTROPY_MAX_SESSIONS per
 * connection (NEG-ERR blocked:); NEG-MSG on an unknown id -> NEG-ERR "closed: ..."; malformed
 * hex or messages -> NEG-ERR "invalid: ..."; every NEG-ERR closes its session. NEG-CLOSE frees
 * quietly. Idle sessions expire (NEG-ERR closed:), all close on disconnect.
 */
import { Reasons } from '../../errors.js';
import { type ClientMessage, isValidSubId, negErrFrame, noticeFrame } from '../../protocol/messages.js';
import type { Connection } from '../connection.js';
import { readGate } from '../gates.js';
import type { RelayContext } from '../relay-context.js';
import { parseFilters } from './req.js';

export function handleNegentropy(relay: RelayContext, conn: Connection, message: ClientMessage): void {
  const gateway = relay.negentropy;
  if (gateway === undefined) {
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
    case 'NEG-OPEN': {
      // A NEG-OPEN on an open id closes the old session first, whatever becomes of this one.
      gateway.close(conn, subId);
      const gated = readGate(relay.config.gates, conn.authed);
      if (gated !== undefined) {
        conn.send(negErrFrame(subId, gated));
        return;
      }
      if (relay.memory.overloaded) {
        conn.send(negErrFrame(subId, Reasons.lowOnMemory));
        return;
      }
      const filter = openFilter(relay, conn, message[2]);
      if (typeof filter === 'string') conn.send(negErrFrame(subId, filter));
      else gateway.open(conn, subId, filter, message[3]);
      return;
    }
    case 'NEG-MSG':
      gateway.message(conn, subId, message[2]);
      return;
    case 'NEG-CLOSE':
      gateway.close(conn, subId);
      return;
  }
}

/** The NEG-OPEN filter, checked as a REQ filter would be; else the NEG-ERR reason. */
function openFilter(relay: RelayContext, conn: Connection, raw: unknown) {
  // One filter object; NDK sends it wrapped in an array, which is accepted when it holds exactly one.
  let value = raw;
  if (Array.isArray(raw)) value = raw.length === 1 ? raw[0] : undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return Reasons.negBadFilter;
  const parsed = parseFilters(relay, conn, [value]);
  return 'reason' in parsed ? parsed.reason : parsed.filters[0]!;
}
