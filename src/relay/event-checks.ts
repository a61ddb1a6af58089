/**
 * The synchronous checks an incoming EVENT passes before its signature is verified,
 * as a list where the first rejection wins. Each check returns a NIP-01 reason or undefined.
 */

import { Reasons } from '../errors.js';
import { isExpired, isProtected, type NostrEvent } from '../protocol/event.js';
import { KIND_CLIENT_AUTH, KIND_GENERIC_REPOST, KIND_REPOST } from '../protocol/kinds.js';
import type { LimitsConfig } from './config.js';

export interface CheckContext {
  readonly limits: LimitsConfig;
  readonly now: number;
  /** Byte length of the serialized event. */
  readonly size: number;
  readonly authed: ReadonlySet<string>;
}

export type EventCheck = (event: NostrEvent, ctx: CheckContext) => string | undefined;

const sizeLimits: EventCheck = (event, { limits, size }) => {
  if (size > limits.maxEventSize) return Reasons.eventTooLarge(size, limits.maxEventSize);
  if (event.tags.length > limits.maxEventTags)
    return Reasons.tooManyTags(event.tags.length, limits.maxEventTags);
  if (event.content.length > limits.maxContentLength) {
    // .length counts UTF-16 units; count code points only when it could matter.
    const chars = [...event.content].length;
    if (chars > limits.maxContentLength) return Reasons.contentTooLong(chars, limits.maxContentLength);
  }
  return undefined;
};

const createdAtWindow: EventCheck = (event, { limits, now }) => {
  if (limits.createdAtUpperLimit > 0 && event.created_at > now + limits.createdAtUpperLimit) {
    return Reasons.tooFarInFuture(limits.createdAtUpperLimit);
  }
  if (limits.createdAtLowerLimit > 0 && event.created_at < now - limits.createdAtLowerLimit) {
    return Reasons.tooOld(limits.createdAtLowerLimit);
  }
  return undefined;
};

const notExpired: EventCheck = (event, { now }) => (isExpired(event, now) ? Reasons.expired : undefined);

const noAuthEvents: EventCheck = (event) =>
  event.kind === KIND_CLIENT_AUTH ? Reasons.authEventViaEvent : undefined;

/** NIP-70: a protected event is accepted only from a connection authenticated as its author. */
const protectedEvents: EventCheck = (event, { authed }) => {
  if (!isProtected(event)) return undefined;
  if (authed.size === 0) return Reasons.protectedNeedsAuth;
  return authed.has(event.pubkey) ? undefined : Reasons.protectedWrongAuthor;
};

/** NIP-70 (2026-05): reposts must not embed protected events. */
const noProtectedReposts: EventCheck = (event) =>
  (event.kind === KIND_REPOST || event.kind === KIND_GENERIC_REPOST) && event.content.includes('["-"]')
    ? Reasons.repostOfProtected
    : undefined;

export const EVENT_CHECKS: readonly EventCheck[] = [
  sizeLimits,
  createdAtWindow,
  notExpired,
  noAuthEvents,
  protectedEvents,
  noProtectedReposts,
];

export function firstRejection(event: NostrEvent, ctx: CheckContext): string | undefined {
  for (const check of EVENT_CHECKS) {
    const rejection = check(event, ctx);
    if (rejection !== undefined) return rejection;
  }
  return undefined;
}
