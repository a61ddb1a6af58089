/**
 * EVENT: structural checks, limits and policy (first rejection wins), id check, the AUTH and
 * PoW gates (gates.ts), signature verification off the main thread, access control (and the
 * delay it may impose: follows mode's throttle), then store
 * (OK only once durable) or, for ephemeral kinds, live delivery only. Every EVENT gets exactly
 * one OK.
 */
import { isIP } from 'node:net';
import { MAX_THROTTLE_DELAY_MS } from '../../acl/follows-throttle.js';
import type { PluginInput } from '../../acl/policy/plugin-protocol.js';
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
  // Accepted, maybe after a delay (follows mode's throttle): the EVENT keeps its in-flight slot
  // (MAX_EVENTS_IN_FLIGHT bounds what waits) and gets its OK only once stored.
  // Modes without a throttle have no writeDelayMs: no await (a microtask hop per EVENT) for them.
  const delay = relay.access.writeDelayMs?.(event, conn);
  const delayMs = delay === undefined ? 0 : await delay;
  if (delayMs > 0 && !(await waitDelay(relay, conn, event.id, delayMs))) return;
  let acceptedMsg = '';
  if (relay.writePolicy !== undefined) {
    // strfry's write-policy plugin: reject and errors answer OK false; shadowReject OK true, not stored.
    const verdict = await relay.writePolicy.decide(pluginInput(event, conn));
    if (verdict.action === 'reject' || verdict.action === 'error') {
      reply(relay, conn, event.id, false, verdict.msg);
      return;
    }
    if (verdict.action === 'shadowReject') {
      reply(relay, conn, event.id, true, '', 'shadow-rejected');
      return;
    }
    acceptedMsg = verdict.msg ?? '';
  }
  if (isEphemeral(event.kind)) {
    relay.broadcast(event, raw);
    // Other relays sharing the database (split mode) deliver it to their subscribers too.
    relay.store
      .broadcast?.(event)
      .catch((err: Error) => relay.logger.debug({ err: err.message }, 'broadcast failed'));
    reply(relay, conn, event.id, true, acceptedMsg, 'ephemeral');
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
  reply(relay, conn, event.id, true, acceptedMsg, 'accepted');
  relay.broadcast(event, raw);
  relay.access.eventStored?.(event);
  relay.replication.notifyStored(result.serial, event);
}

/**
 * Waits a throttle's delay. False when the event must not be stored: a delay beyond
 * MAX_THROTTLE_DELAY_MS (answered rate-limited), or the connection gone meanwhile (nobody to
 * answer; a client that disconnects does not get its queued events stored behind its back).
 */
async function waitDelay(relay: RelayContext, conn: Connection, id: string, ms: number): Promise<boolean> {
  if (ms > MAX_THROTTLE_DELAY_MS) {
    reply(relay, conn, id, false, Reasons.throttleTooLong(ms, MAX_THROTTLE_DELAY_MS));
    return false;
  }
  const gone = conn.gone;
  if (!gone.aborted && !conn.closed) {
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        gone.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      gone.addEventListener('abort', done, { once: true });
    });
  }
  return !gone.aborted && !conn.closed;
}

/** What a strfry plugin is told about an EVENT from a client. */
function pluginInput(event: NostrEvent, conn: Connection): PluginInput {
  const authed = conn.authed.values().next();
  return {
    event,
    receivedAt: nowSeconds(),
    sourceType: isIP(conn.ip) === 6 ? 'IP6' : 'IP4',
    sourceInfo: conn.ip,
    ...(authed.done ? {} : { authed: authed.value }),
  };
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
