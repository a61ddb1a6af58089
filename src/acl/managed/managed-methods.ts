/**
 * The NIP-86 methods of ACL mode "managed": every method of the NIP, each validating its
 * params before it changes anything (a bad param is an `error`, never a partial change).
 * Mutations answer `true`; lists answer arrays of objects as ORLY does ({pubkey, reason},
 * {id, reason}, {ip, reason}, kind numbers). Banning an event also removes it from the store.
 */
import { isIP } from 'node:net';
import type { RelayInfoOverrides } from '../management.js';
import type { ManagedList, ManagedLists } from './managed-lists.js';

/** What the methods act on besides the lists. */
export interface MethodDeps {
  readonly lists: ManagedLists;
  /** Removes stored events by id (banevent). */
  readonly deleteEvents: (ids: readonly string[]) => Promise<number>;
}

type Method = (params: readonly unknown[], deps: MethodDeps) => Promise<unknown>;

/** A params problem: answered as `{"error": message}`. */
export class ParamError extends Error {}

const HEX64 = /^[0-9a-fA-F]{64}$/;
const MAX_REASON = 1000;
const MAX_NAME = 256;
const MAX_DESCRIPTION = 4096;
const MAX_URL = 2048;

function hex64(params: readonly unknown[], what: string): string {
  const value = params[0];
  if (typeof value !== 'string' || !HEX64.test(value))
    throw new ParamError(`params[0] must be a 64-character hex ${what}`);
  return value.toLowerCase();
}

function reason(params: readonly unknown[]): string {
  const value = params[1];
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new ParamError('params[1] (reason) must be a string');
  if (value.length > MAX_REASON)
    throw new ParamError(`params[1] (reason) is longer than ${MAX_REASON} characters`);
  return value;
}

function text(params: readonly unknown[], max: number): string {
  const value = params[0];
  if (typeof value !== 'string') throw new ParamError('params[0] must be a string');
  if (value.length > max) throw new ParamError(`params[0] is longer than ${max} characters`);
  return value;
}

function kind(params: readonly unknown[]): string {
  const value = params[0];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535)
    throw new ParamError('params[0] must be a kind number (0-65535)');
  return String(value);
}

function ip(params: readonly unknown[]): string {
  const value = params[0];
  if (typeof value !== 'string' || isIP(value) === 0)
    throw new ParamError('params[0] must be an IPv4 or IPv6 address');
  return value.toLowerCase();
}

function iconUrl(params: readonly unknown[]): string {
  const value = text(params, MAX_URL);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ParamError('params[0] must be an http(s) URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new ParamError('params[0] must be an http(s) URL');
  return value;
}

function listOf(lists: ManagedLists, list: ManagedList, field: string): Array<Record<string, string>> {
  return lists.entries(list).map(([key, entry]) => ({ [field]: key, reason: entry.reason }));
}

/** A mutation: runs `work`, answers `true`. */
const mutation =
  (work: (params: readonly unknown[], deps: MethodDeps) => Promise<unknown>): Method =>
  async (params, deps) => {
    await work(params, deps);
    return true;
  };

const infoSetter =
  (field: keyof RelayInfoOverrides, read: (params: readonly unknown[]) => string): Method =>
  async (params, { lists }) => {
    await lists.setRelayInfo(field, read(params));
    return true;
  };

export const MANAGED_METHODS: ReadonlyMap<string, Method> = new Map<string, Method>([
  ['supportedmethods', async () => [...MANAGED_METHODS.keys()]],
  [
    'banpubkey',
    async (params, { lists }) => {
      await lists.set('banned-pubkey', hex64(params, 'pubkey'), reason(params), 'allowed-pubkey');
      return true;
    },
  ],
  ['unbanpubkey', mutation((params, { lists }) => lists.remove('banned-pubkey', hex64(params, 'pubkey')))],
  ['listbannedpubkeys', async (_params, { lists }) => listOf(lists, 'banned-pubkey', 'pubkey')],
  [
    'allowpubkey',
    async (params, { lists }) => {
      await lists.set('allowed-pubkey', hex64(params, 'pubkey'), reason(params), 'banned-pubkey');
      return true;
    },
  ],
  ['unallowpubkey', mutation((params, { lists }) => lists.remove('allowed-pubkey', hex64(params, 'pubkey')))],
  ['listallowedpubkeys', async (_params, { lists }) => listOf(lists, 'allowed-pubkey', 'pubkey')],
  ['listeventsneedingmoderation', async (_params, { lists }) => listOf(lists, 'moderation', 'id')],
  [
    'allowevent',
    async (params, { lists }) => {
      const id = hex64(params, 'event id');
      await lists.set('allowed-event', id, reason(params), 'banned-event');
      await lists.remove('moderation', id);
      return true;
    },
  ],
  [
    'banevent',
    async (params, deps) => {
      const id = hex64(params, 'event id');
      await deps.lists.set('banned-event', id, reason(params), 'allowed-event');
      await deps.lists.remove('moderation', id);
      await deps.deleteEvents([id]);
      return true;
    },
  ],
  ['listbannedevents', async (_params, { lists }) => listOf(lists, 'banned-event', 'id')],
  ['changerelayname', infoSetter('name', (p) => text(p, MAX_NAME))],
  ['changerelaydescription', infoSetter('description', (p) => text(p, MAX_DESCRIPTION))],
  ['changerelayicon', infoSetter('icon', iconUrl)],
  ['allowkind', mutation((params, { lists }) => lists.set('allowed-kind', kind(params), ''))],
  ['disallowkind', mutation((params, { lists }) => lists.remove('allowed-kind', kind(params)))],
  [
    'listallowedkinds',
    async (_params, { lists }) => [...lists.keySet('allowed-kind')].map(Number).sort((a, b) => a - b),
  ],
  [
    'blockip',
    async (params, { lists }) => {
      await lists.set('blocked-ip', ip(params), reason(params));
      return true;
    },
  ],
  ['unblockip', mutation((params, { lists }) => lists.remove('blocked-ip', ip(params)))],
  ['listblockedips', async (_params, { lists }) => listOf(lists, 'blocked-ip', 'ip')],
]);
