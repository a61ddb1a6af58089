/**
 * Every machine-readable answer the relay gives, defined once.
 * NIP-01 prefixes for OK / CLOSED / NEG-ERR, plus NIP-42's auth-required and NIP-77's closed.
 */

export type Prefix =
  | 'duplicate'
  | 'pow'
  | 'blocked'
  | 'rate-limited'
  | 'invalid'
  | 'restricted'
  | 'auth-required'
  | 'mute'
  | 'error'
  | 'unsupported'
  | 'closed';

export function reason(prefix: Prefix, message: string): string {
  return `${prefix}: ${message}`;
}

/** The prefix of a reason string ("invalid: x" -> "invalid"), for metrics. */
export function prefixOf(message: string): string {
  const i = message.indexOf(':');
  return i > 0 ? message.slice(0, i) : 'none';
}

export const Reasons = {
  notJson: reason('invalid', 'message is not valid JSON'),
  notArray: reason('invalid', 'message must be a JSON array with a string verb first'),
  unknownVerb: (verb: string) =>
    reason('invalid', `unknown message type ${JSON.stringify(verb.slice(0, 32))}`),
  messageTooLarge: (size: number, max: number) =>
    reason('invalid', `message is ${size} bytes, the limit is ${max}`),
  malformed: (verb: string, detail: string) => reason('invalid', `malformed ${verb}: ${detail}`),

  // EVENT
  badShape: (detail: string) => reason('invalid', detail),
  badId: reason('invalid', 'event id does not match the sha256 of its NIP-01 serialization'),
  badSignature: reason('invalid', 'signature verification failed'),
  eventTooLarge: (size: number, max: number) =>
    reason('invalid', `event is ${size} bytes, the limit is ${max}`),
  tooManyTags: (count: number, max: number) =>
    reason('invalid', `event has ${count} tags, the limit is ${max}`),
  contentTooLong: (count: number, max: number) =>
    reason('invalid', `content has ${count} characters, the limit is ${max}`),
  tooFarInFuture: (max: number) => reason('invalid', `created_at is more than ${max} seconds in the future`),
  tooOld: (max: number) => reason('invalid', `created_at is more than ${max} seconds in the past`),
  expired: reason('invalid', 'event has expired (NIP-40)'),
  authEventViaEvent: reason('invalid', 'kind 22242 events are only accepted in AUTH messages'),
  duplicate: reason('duplicate', 'already have this event'),
  deleted: reason('blocked', 'this event was deleted by its author (NIP-09)'),
  olderReplaceable: reason('blocked', 'event is older than existing replaceable event'),
  olderAddressable: reason('blocked', 'event is older than existing addressable event'),
  protectedNeedsAuth: reason('auth-required', 'this event is protected (NIP-70): authenticate as its author'),
  protectedWrongAuthor: reason(
    'restricted',
    'this event is protected (NIP-70): only its author may publish it',
  ),
  repostOfProtected: reason('blocked', 'reposts must not embed protected events (NIP-70)'),
  storeFailed: (detail: string) => reason('error', `could not store event: ${detail}`),
  tooManyEventsInFlight: reason('rate-limited', 'too many events awaiting OK on this connection'),
  badRequest: (detail: string) => reason('invalid', detail),
  eventNotJson: reason('invalid', 'event is not valid JSON'),
  lineNotJson: reason('invalid', 'line is not valid JSON'),
  ephemeralNotStored: (kind: number) => reason('invalid', `ephemeral events (kind ${kind}) are never stored`),
  ephemeralNotImported: (kind: number) =>
    reason('blocked', `ephemeral events (kind ${kind}) are never stored`),
  tooManyIndexedTags: (count: number, max: number) =>
    reason('invalid', `event has ${count} distinct single-letter tag values to index, the limit is ${max}`),
  verifyFailed: (detail: string) => reason('error', `signature verification failed: ${detail}`),
  databaseUnavailable: (detail: string) => reason('error', `database unavailable (${detail})`),
  internal: (detail: string) => reason('error', detail),

  // Access control
  aclUnavailable: reason('error', 'access control unavailable'),
  aclDenied: reason('blocked', 'denied by access control'),
  followsOnly: reason(
    'blocked',
    "only the relay's owners, admins and the accounts they follow may publish here",
  ),
  throttleTooLong: (ms: number, max: number) =>
    reason(
      'rate-limited',
      `writes from you are throttled by ${ms} ms, more than this relay waits (${max} ms)`,
    ),
  managedOnly: reason('blocked', 'only pubkeys allowed by the relay operator may publish here'),
  pubkeyBanned: reason('blocked', 'this pubkey is banned from this relay'),
  eventBanned: reason('blocked', 'this event is banned from this relay'),
  ipBlocked: reason('blocked', 'your IP address is blocked'),
  kindNotAllowed: (kind: number) => reason('blocked', `kind ${kind} is not allowed on this relay`),

  // ACL mode curating (src/acl/curating/)
  curatingNotConfigured: reason(
    'blocked',
    'curating mode not configured: an owner or admin must publish a kind 30078 "curating-config" event',
  ),
  curatingConfigInvalid: (problem: string) => reason('invalid', `curating config: ${problem}`),
  curatingSpam: reason('blocked', 'event is flagged as spam'),
  curatingBlacklisted: reason('blocked', 'pubkey is blacklisted'),
  curatingIpBlocked: (until: string) => reason('blocked', `your IP address is blocked until ${until}`),
  curatingKindNotAllowed: (kind: number, noneAllowed: boolean) =>
    reason(
      'blocked',
      `kind ${kind} is not in the allow list${noneAllowed ? ' (the curating config allows no kinds)' : ''}`,
    ),
  curatingDailyLimit: (max: number) =>
    reason('rate-limited', `at most ${max} events per day for unclassified users`),
  curatingIpDailyLimit: (max: number) =>
    reason('rate-limited', `at most ${max} events per day from one IP address`),
  curatingTooManyUsers: reason(
    'rate-limited',
    'the relay counts no more new unclassified users today, try again tomorrow (UTC)',
  ),

  // Gates (relay/gates.ts): ORLY_AUTH_REQUIRED, ORLY_AUTH_TO_WRITE, ORLY_MIN_POW_DIFFICULTY (NIP-13)
  authRequired: reason('auth-required', 'this relay serves only authenticated clients: send AUTH first'),
  authToWrite: reason(
    'auth-required',
    'this relay accepts events only from authenticated clients: send AUTH first',
  ),
  powTooLow: (difficulty: number, min: number) =>
    reason('pow', `difficulty ${difficulty} is less than ${min}`),
  powCommitmentTooLow: (target: number, min: number) =>
    reason('pow', `the nonce tag commits to target difficulty ${target}, which is less than ${min}`),
  powCommitmentInvalid: (target: string) =>
    reason('pow', `the nonce tag's target difficulty ${JSON.stringify(target.slice(0, 32))} is not a number`),
  shuttingDown: reason('error', 'relay is shutting down'),

  // REQ / COUNT / CLOSE
  badSubId: reason('invalid', 'subscription id must be a non-empty string of at most 64 characters'),
  noFilters: reason('invalid', 'at least one filter is required'),
  tooManyFilters: (max: number) => reason('invalid', `too many filters, the limit is ${max}`),
  tooManyFilterValues: (key: string, count: number, max: number) =>
    reason('invalid', `${key} has ${count} values, the limit is ${max}`),
  tooManyReqValues: (count: number, max: number) =>
    reason('invalid', `the filters hold ${count} values in all, the limit is ${max}`),
  subscriptionsTooLarge: (max: number) =>
    reason('blocked', `the live subscriptions of this connection would hold more than ${max} bytes`),
  lowOnMemory: reason('rate-limited', 'the relay is low on memory, try again later'),
  tooManyQueries: (max: number) =>
    reason('rate-limited', `too many queries in progress on this connection, the limit is ${max}`),
  tooManySubscriptions: (max: number) =>
    reason('blocked', `too many open subscriptions, the limit is ${max}`),
  restrictedKindsNeedAuth: (kinds: readonly number[]) =>
    reason('auth-required', `kinds ${kinds.join(', ')} are only served to authenticated parties`),
  queryFailed: (detail: string) => reason('error', `query failed: ${detail}`),
  filterInvalid: (detail: string) => reason('invalid', detail),
  searchUnsupported: reason('unsupported', 'search (NIP-50) is not supported by this relay'),
  unknownFilterField: (key: string) => reason('unsupported', `unknown filter field ${JSON.stringify(key)}`),

  // NIP-77 negentropy (NEG-ERR); the texts of `negTooManyRecords` and `negUnknownSession` are strfry's
  negDisabled: reason('unsupported', 'negentropy (NIP-77) is not enabled on this relay'),
  negBadFilter: reason('invalid', 'NEG-OPEN needs one filter object (or an array holding exactly one)'),
  negMissingMessage: reason('invalid', 'NEG-OPEN needs an initial message as a hex string'),
  negBadMessage: (detail: string) => reason('invalid', `negentropy message: ${detail}`),
  negTooManyRecords: reason('blocked', 'too many query results'),
  negTooManySessions: (max: number) =>
    reason('blocked', `too many open negentropy sessions, the limit is ${max}`),
  negUnknownSession: reason('closed', 'unknown subscription handle'),
  negNotReady: reason('invalid', 'NEG-MSG sent before the NEG-OPEN was answered'),
  negTimedOut: (seconds: number) => reason('closed', `negentropy session idle for more than ${seconds}s`),
  negFailed: (detail: string) => reason('error', `negentropy failed: ${detail}`),
  negBudgetExhausted: reason('blocked', 'too many negentropy items held by open sessions, try again later'),
  negServiceUnavailable: (detail: string) => reason('error', `negentropy service unavailable (${detail})`),

  // AUTH
  authBadKind: reason('invalid', 'AUTH event must be kind 22242'),
  authBadChallenge: reason('invalid', 'AUTH challenge does not match'),
  authBadRelay: reason('invalid', 'AUTH relay tag does not name this relay'),
  authNoPublicUrl: reason(
    'restricted',
    'this relay has no public URL configured (ORLY_RELAY_URL); AUTH is accepted only from clients on its own machine',
  ),
  authStale: reason('invalid', 'AUTH event created_at is more than 10 minutes from now'),

  // Limits at the edge (connection-guard.ts): HTTP bodies of refused upgrades, then per-message answers
  relayFull: 'the relay is at its connection limit, try again later',
  tooManyConnections: (max: number) => `too many open connections from your address (the limit is ${max})`,
  tooManyUpgrades: (max: number) =>
    `too many new connections from your address (the limit is ${max} a minute)`,
  rateLimited: (what: 'event' | 'req', scope: 'connection' | 'address', perSecond: number) =>
    reason(
      'rate-limited',
      `more than ${perSecond} ${what === 'event' ? 'EVENT/AUTH' : 'REQ/COUNT/NEG-OPEN'} messages a second from this ${scope}, slow down`,
    ),

  // Connection
  slowReader: 'connection closed: outbound buffer limit exceeded (reading too slowly)',
  shutdownNotice: 'relay is shutting down',
} as const;

/**
 * The base of every error class of this project: `code` is stable and machine-readable (logs,
 * tests and callers branch on it, never on the message).
 */
export abstract class OrlyError extends Error {
  abstract readonly code: string;
}

/** A command line that cannot be run as given: the command prints its usage and exits 2. */
export class UsageError extends OrlyError {
  readonly code: string = 'ORLY_USAGE';
}
