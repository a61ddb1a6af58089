/**
 * The curating NIP-86 methods that read or remove stored events, each bounded so one call
 * never reads the whole store:
 * - `deleteevent [id]`: removes that event (no tombstone: it could be published again), `true`;
 * - `geteventsforpubkey [pubkey, limit?, offset?]`: newest first, limit 1-500 (default 100),
 *   offset 0-10,000 → {events: [{id, kind, content, created_at}], total, limit, offset}, `total`
 *   counted up to 100,000;
 * - `deleteeventsforpubkey [pubkey]`: removes up to 10,000 of its newest events per call →
 *   {deleted, pubkey, remaining} (call again while `remaining` > 0);
 * - `scanpubkeys`: reads the newest 100,000 stored events and records their authors among the
 *   unclassified users (owners, admins, trusted and blacklisted pubkeys are skipped) →
 *   {total_pubkeys (distinct authors read), total_events (events read), skipped, truncated
 *   (true when the store holds more than was read)}.
 */
import type { ClientStore, StoreAdmin } from '../../store/event-store.js';
import { hex64, optionalInt } from './params.js';

export interface EventMethodDeps {
  readonly query: ClientStore['query'];
  readonly count: ClientStore['count'];
  readonly getById: ClientStore['getById'];
  readonly deleteEvents: StoreAdmin['deleteByIds'];
  /** Owners, admins, trusted and blacklisted pubkeys: not unclassified. */
  readonly classified: (pubkey: string) => boolean;
  /** Records what a scan found about an unclassified author. */
  readonly seen: (pubkey: string, events: number, last: number) => void;
}

type Method = (params: readonly unknown[], deps: EventMethodDeps) => Promise<unknown>;

export const MAX_LIMIT = 500;
export const MAX_OFFSET = 10_000;
export const DELETE_PER_CALL = 10_000;
export const SCAN_EVENTS = 100_000;
const DEFAULT_LIMIT = 100;
const TOTAL_MAX = 100_000;
const DELETE_BATCH = 1000;

async function remainingOf(deps: EventMethodDeps, pubkey: string): Promise<number> {
  return (await deps.count([{ authors: [pubkey] }], { max: TOTAL_MAX })).count;
}

const geteventsforpubkey: Method = async (params, deps) => {
  const pubkey = hex64(params, 0, 'pubkey');
  const limit = optionalInt(params, 1, 'limit', 1, MAX_LIMIT) ?? DEFAULT_LIMIT;
  const offset = optionalInt(params, 2, 'offset', 0, MAX_OFFSET) ?? 0;
  const events: Array<{ id: string; kind: number; content: string; created_at: number }> = [];
  let skipped = 0;
  for await (const stored of deps.query({ authors: [pubkey], limit: offset + limit })) {
    if (skipped < offset) {
      skipped++;
      continue;
    }
    const { id, kind, content, created_at } = stored.event;
    events.push({ id, kind, content, created_at });
  }
  return { events, total: await remainingOf(deps, pubkey), limit, offset };
};

const deleteeventsforpubkey: Method = async (params, deps) => {
  const pubkey = hex64(params, 0, 'pubkey');
  const ids: string[] = [];
  for await (const stored of deps.query({ authors: [pubkey], limit: DELETE_PER_CALL })) ids.push(stored.id);
  let deleted = 0;
  for (let i = 0; i < ids.length; i += DELETE_BATCH)
    deleted += await deps.deleteEvents(ids.slice(i, i + DELETE_BATCH));
  return { deleted, pubkey, remaining: await remainingOf(deps, pubkey) };
};

const scanpubkeys: Method = async (_params, deps) => {
  const authors = new Map<string, { events: number; last: number }>();
  let total = 0;
  for await (const stored of deps.query({ limit: SCAN_EVENTS })) {
    total++;
    const { pubkey, created_at } = stored.event;
    const seen = authors.get(pubkey);
    if (seen === undefined) authors.set(pubkey, { events: 1, last: created_at });
    else {
      seen.events++;
      if (created_at > seen.last) seen.last = created_at;
    }
  }
  let skipped = 0;
  for (const [pubkey, { events, last }] of authors) {
    if (deps.classified(pubkey)) skipped++;
    else deps.seen(pubkey, events, last);
  }
  return {
    total_pubkeys: authors.size,
    total_events: total,
    skipped,
    truncated: total === SCAN_EVENTS,
  };
};

const deleteevent: Method = async (params, deps) => {
  await deps.deleteEvents([hex64(params, 0, 'event id')]);
  return true;
};

export const EVENT_METHODS = { deleteevent, scanpubkeys, geteventsforpubkey, deleteeventsforpubkey } as const;
