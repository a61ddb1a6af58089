/**
 * NIP-11 relay information document, built from the configuration the relay enforces; name,
 * description and icon set over NIP-86 (RelayInfoOverrides) replace the configured ones.
 */

import type { RelayInfoOverrides } from '../acl/management.js';
import { VERSION } from '../version.js';
import type { RelayConfig } from './config.js';

/** Always listed; 13 is added when ORLY_MIN_POW_DIFFICULTY > 0, 77 when ORLY_NEGENTROPY_ENABLED. */
export const SUPPORTED_NIPS: readonly number[] = [1, 9, 11, 40, 42, 45, 70];

/**
 * `limitation` carries NIP-11's own fields plus the filter caps a client needs to build REQs
 * that are not refused (NIP-11 has no fields for them; clients ignore fields they do not
 * know): `max_filter_values` (ORLY_MAX_FILTER_VALUES, per filter field), `max_req_values`
 * (ORLY_MAX_REQ_VALUES, per REQ/COUNT/NEG-OPEN) and `max_subscription_bytes`
 * (ORLY_MAX_SUBSCRIPTION_BYTES, one connection's live filters). The edge limits (connections,
 * upgrade and message rates) are not listed; clients learn of them from `rate-limited:`
 * answers and HTTP 429/503. `auth_required`, `restricted_writes` and `min_pow_difficulty` are
 * the gates (gates.ts): ORLY_AUTH_REQUIRED, ORLY_AUTH_TO_WRITE (or ORLY_AUTH_REQUIRED) and
 * ORLY_MIN_POW_DIFFICULTY.
 */
export function relayInformation(
  config: RelayConfig,
  overrides: RelayInfoOverrides = {},
  self?: string,
): Record<string, unknown> {
  const { limits, gates } = config;
  const info = { ...config.info, ...overrides };
  const optionalNips = [
    ...(gates.minPowDifficulty > 0 ? [13] : []),
    ...(config.negentropy.enabled ? [77] : []),
  ];
  const doc: Record<string, unknown> = {
    name: info.name,
    description: info.description,
    supported_nips: [...SUPPORTED_NIPS, ...optionalNips].sort((a, b) => a - b),
    software: 'https://github.com/orly-ts/orly',
    version: VERSION,
    limitation: {
      max_message_length: limits.maxMessageSize,
      max_subscriptions: limits.maxSubscriptionsPerConnection,
      max_filters: limits.maxFiltersPerReq,
      max_limit: limits.maxLimit,
      default_limit: limits.defaultLimit,
      max_subid_length: 64,
      max_event_tags: limits.maxEventTags,
      max_content_length: limits.maxContentLength,
      min_pow_difficulty: gates.minPowDifficulty,
      auth_required: gates.authRequired,
      payment_required: false,
      restricted_writes: gates.authRequired || gates.authToWrite,
      ...(limits.createdAtLowerLimit > 0 ? { created_at_lower_limit: limits.createdAtLowerLimit } : {}),
      ...(limits.createdAtUpperLimit > 0 ? { created_at_upper_limit: limits.createdAtUpperLimit } : {}),
      max_filter_values: config.queries.maxFilterValues,
      max_req_values: config.queries.maxReqValues,
      max_subscription_bytes: config.queries.maxSubscriptionBytes,
    },
  };
  if (info.pubkey) doc.pubkey = info.pubkey;
  // The relay's own identity key (NIP-11 `self`): what it signs with when it talks to peers.
  if (self !== undefined) doc.self = self;
  if (info.contact) doc.contact = info.contact;
  if (info.icon) doc.icon = info.icon;
  return doc;
}
