/**
 * EVENT: structural checks, limits and policy (first rejection wins), id check, the AUTH and
 * PoW gates (gates.ts), signature verification off the main thread, access control, then store
 * (OK only once durable) or, for ephemeral kinds, live delivery only. Every EVENT gets exactly
 * one OK.
 */
import { prefixOf, Reasons } from '../../errors.js';
import {
  checkEventShape,
  computeEventId,
  type NostrEvent,
  nowSeconds,
  serializeEvent,
} from '../../protocol/event.js';
import { isEphemeral } from '../../protocol/kinds.js';
import { type ClientEVENT, okFrame } from '../../protocol/messages.js';
import type { Connection } from '../connection.js';
import { firstRejection } from '../event-checks.js';
import { writeGate } from '../gates.js';
import type { RelayContext } from '../relay-context.js';

/** EVENTs one connection may have awaiting their OK before further ones are refused. */
const MAX_EVENTS_IN_FLIGHT = 1000;

export function handleEvent(relay: RelayContext, conn: Connection, message: ClientEVENT): void {
  const value = message[1];
  const shapeProblem = checkEventShape(value);
  if (shapeProblem !== undefined) {
    const sentId = (value as { id?: unknown } | null)?.id;
    reply(
      relay,
      conn,
      typeof sentId === 'string' ? sentId.slice(0, 64) : '',
      false,
      Reasons.badShape(shapeProblem),
    );
    return;
  }
  const sent = value as NostrEvent;
  const event: NostrEvent = {
    id: sent.id,
    pubkey: sent.pubkey,
    created_at: sent.created_at,
    kind: sent.kind,
    tags: sent.tags,
    content: sent.content,
    sig: sent.sig,
  };
  const raw = serializeEvent(event);
  const rejection = firstRejection(event, {
    limits: relay.config.limits,
    now: nowSeconds(),
    size: Buffer.byteLength(raw),
    authed: conn.authed,
  });
  if (rejection !== undefined) {
    reply(relay, conn, event.id, false, rejection);
    return;
  }
  if (computeEventId(event) !== event.id) {
    reply(relay, conn, event.id, false, Reasons.badId);
    return;
  }
  // AUTH and PoW gates: cheap, so a flood that fails them never costs a signature check.
  const gated = writeGate(relay.config.gates, conn.authed, event);
  if (gated !== undefined) {
    reply(relay, conn, event.id, false, gated);
    return;
  }
  if (conn.eventsInFlight >= MAX_EVENTS_IN_FLIGHT) {
    reply(relay, conn, event.id, false, Reasons.tooManyEventsInFlight);
    return;
  }
  conn.eventsInFlight++;
  relay
    .track(accept(relay, conn, event, raw))
    .catch((err: Error) => {
      relay.logger.error({ err: err.message, id: event.id }, 'event processing failed');
      reply(relay, conn, event.id, false, Reasons.storeFailed(err.message));
    })
    .finally(() => {
      conn.eventsInFlight--;
    });
}

async function accept(relay: RelayContext, conn: Connection, event: NostrEvent, raw: string): Promise<void> {
  if (!(await relay.verifier.verify(event.id, event.pubkey, event.sig))) {
    reply(relay, conn, event.id, false, Reasons.badSignature);
    return;
  }
  const denied = await relay.access.checkEvent(event, conn);
  if (denied !== undefined) {
    reply(relay, conn, event.id, false, denied);
    return;
  }
  if (isEphemeral(event.kind)) {
    relay.broadcast(event, raw);
    // Other relays sharing the database (split mode) deliver it to their subscribers too.
    relay.store
      .broadcast?.(event)
      .catch((err: Error) => relay.logger.debug({ err: err.message }, 'broadcast failed'));
    reply(relay, conn, event.id, true, '', 'ephemeral');
    return;
  }
  if (relay.isStopping) {
    reply(relay, conn, event.id, false, Reasons.shuttingDown);
    return;
  }
  const result = await relay.store.save(event, raw);
  if (!result.stored) {
    reply(relay, conn, event.id, false, result.reason);
    return;
  }
  if (result.duplicate) {
    reply(relay, conn, event.id, true, Reasons.duplicate, 'duplicate');
    return;
  }
  reply(relay, conn, event.id, true, '', 'accepted');
  relay.broadcast(event, raw);
  relay.access.eventStored?.(event);
}

function reply(
  relay: RelayContext,
  conn: Connection,
  id: string,
  ok: boolean,
  message: string,
  result?: string,
): void {
  relay.metrics.events.labels(result ?? prefixOf(message)).inc();
  conn.send(okFrame(id, ok, message));
}
