/**
 * The NIP-86 methods of ACL mode "curating" (ORLY's app/handle-nip86-curating.go, spec §7.5),
 * each validating its params before it changes anything (a bad param is an `error`, never a
 * partial change). Mutations answer `true`; lists answer arrays of objects with ORLY's field
 * names; times are unix seconds. The methods that read or delete stored events are in
 * curating-event-methods.ts.
 */
import { isIP } from 'node:net';
import { DEFAULTS, rangeText } from './curating-config.js';
import type { CuratingCounters } from './curating-counters.js';
import { EVENT_METHODS, type EventMethodDeps } from './curating-event-methods.js';
import type { Classification, CuratingState } from './curating-state.js';
import { hex64, optionalHex64, optionalInt, ParamError, text } from './params.js';

/** What the methods act on. */
export interface CuratingMethodDeps extends EventMethodDeps {
  readonly state: CuratingState;
  readonly counters: CuratingCounters;
  /** Unix seconds. */
  readonly now: () => number;
}

type Method = (params: readonly unknown[], deps: CuratingMethodDeps) => Promise<unknown>;

const MAX_TEXT = 1000;
const DEFAULT_UNCLASSIFIED = 100;
const MAX_UNCLASSIFIED_LISTED = 1000;

function ip(params: readonly unknown[]): string {
  const value = params[0];
  if (typeof value !== 'string' || isIP(value) === 0)
    throw new ParamError('params[0] must be an IPv4 or IPv6 address');
  return value.toLowerCase();
}

const classify =
  (list: Classification): Method =>
  async (params, { state, counters, now }) => {
    const pubkey = hex64(params, 0, 'pubkey');
    const note = text(params, 1, list === 'trusted' ? 'note' : 'reason', MAX_TEXT);
    await state.classify(list, pubkey, note, now());
    counters.forget(pubkey);
    return true;
  };

const unclassify =
  (list: Classification): Method =>
  async (params, { state }) => {
    await state.unclassify(list, hex64(params, 0, 'pubkey'));
    return true;
  };

const listed = (list: Classification, field: 'note' | 'reason'): Method => {
  return async (_params, { state }) =>
    state.list(list).map(([pubkey, entry]) => ({ pubkey, [field]: entry.text, added: entry.at }));
};

const markspam: Method = async (params, { state, getById, now }) => {
  const id = hex64(params, 0, 'event id');
  let pubkey = optionalHex64(params, 1, 'pubkey');
  const reason = text(params, 2, 'reason', MAX_TEXT);
  // Without a pubkey: the stored event's author, when it is stored.
  pubkey ??= (await getById(id))?.event.pubkey ?? '';
  await state.markSpam(id, { pubkey, reason, at: now() });
  return true;
};

const getcuratingconfig: Method = async (_params, { state }) => {
  const applied = state.config;
  const config = applied?.config;
  const kinds = config?.kinds ?? [];
  const ranges = (config?.ranges ?? []).map(rangeText);
  const categories = config?.categories ?? [];
  return {
    daily_limit: config?.dailyLimit ?? DEFAULTS.dailyLimit,
    ip_daily_limit: config?.ipDailyLimit ?? DEFAULTS.ipDailyLimit,
    first_ban_hours: config?.firstBanHours ?? DEFAULTS.firstBanHours,
    second_ban_hours: config?.secondBanHours ?? DEFAULTS.secondBanHours,
    // ORLY answers each list under two names (the web UI reads both); so does this.
    allowed_kinds: kinds,
    custom_kinds: kinds,
    allowed_ranges: ranges,
    kind_ranges: ranges,
    kind_categories: categories,
    categories,
    config_event_id: applied?.eventId ?? '',
    config_pubkey: applied?.pubkey ?? '',
    configured_at: applied?.configuredAt ?? 0,
    is_configured: applied !== undefined,
  };
};

export const CURATING_METHODS: ReadonlyMap<string, Method> = new Map<string, Method>([
  ['supportedmethods', async () => [...CURATING_METHODS.keys()]],
  ['trustpubkey', classify('trusted')],
  ['untrustpubkey', unclassify('trusted')],
  ['listtrustedpubkeys', listed('trusted', 'note')],
  ['blacklistpubkey', classify('blacklisted')],
  ['unblacklistpubkey', unclassify('blacklisted')],
  ['listblacklistedpubkeys', listed('blacklisted', 'reason')],
  [
    'listunclassifiedusers',
    async (params, { counters }) => {
      const limit = optionalInt(params, 0, 'limit', 1, MAX_UNCLASSIFIED_LISTED) ?? DEFAULT_UNCLASSIFIED;
      return counters
        .unclassified(limit)
        .map(([pubkey, user]) => ({ pubkey, event_count: user.events, last_event: user.last }));
    },
  ],
  ['markspam', markspam],
  [
    'unmarkspam',
    async (params, { state }) => {
      await state.unmarkSpam(hex64(params, 0, 'event id'));
      return true;
    },
  ],
  [
    'listspamevents',
    async (_params, { state }) =>
      state.spamList().map(([id, entry]) => ({
        event_id: id,
        pubkey: entry.pubkey,
        reason: entry.reason,
        added: entry.at,
      })),
  ],
  ['deleteevent', EVENT_METHODS.deleteevent],
  ['getcuratingconfig', getcuratingconfig],
  [
    'listblockedips',
    async (_params, { state, now }) =>
      state.activeBlocks(now()).map(([address, block]) => ({
        ip: address,
        reason: block.reason,
        expires_at: block.expiresAt,
        added: block.at,
      })),
  ],
  [
    'unblockip',
    async (params, { state }) => {
      await state.unblock(ip(params));
      return true;
    },
  ],
  ['isconfigured', async (_params, { state }) => state.config !== undefined],
  ['scanpubkeys', EVENT_METHODS.scanpubkeys],
  ['geteventsforpubkey', EVENT_METHODS.geteventsforpubkey],
  ['deleteeventsforpubkey', EVENT_METHODS.deleteeventsforpubkey],
]);
