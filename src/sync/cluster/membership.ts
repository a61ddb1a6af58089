/**
 * Cluster membership (orly-sync-cluster): kind 39108 addressable events, `["d","membership"]`,
 * one `["relay", <http url>, <ws url>]` tag per member and `["version","1"]`, published by a
 * cluster admin (ORLY_CLUSTER_ADMINS). Pure code: the caller has already checked ids and
 * signatures and gives the admins as lowercase hex.
 *
 * Decisions (ORLY's own code differs, ../shared/docs/orly-ipc-spec.md §5.2):
 * - The author must be an admin (ORLY only tests that the admin list is non-empty, so anyone
 *   could rewrite its membership); the error names the author.
 * - The `d` tag (the first one, as NIP-01 addresses the event) must be exactly "membership".
 * - 1 to 100 `relay` tags. A tag's first value is the member's HTTP base URL (http/https), its
 *   second its WebSocket URL (ws/wss); values after the second are ignored. A tag with one value
 *   names the other URL by swapping the scheme (http↔ws, https↔wss; same host, port and path),
 *   whichever of the two it is (ORLY used the one value for both). Both URLs are normalized as in
 *   src/sync/relay-url.ts; members with an HTTP URL already listed are dropped (first kept).
 *   One bad tag makes the whole event invalid: an admin's typo is refused, never half applied.
 * - `version` tags are optional (absent = "1"); any present must say "1".
 * - The content (`{"name":…,"description":…}` by the draft) is informational and not read.
 * - Authoritative: the valid admin event with the newest created_at; equal created_at: the lowest
 *   id (NIP-01's replaceable rule); invalid events are skipped.
 */
import { reason } from '../../errors.js';
import { dTag, type NostrEvent } from '../../protocol/event.js';
import { compareNewestFirst } from '../../protocol/filter.js';
import { normalizeRelayUrl, type RelayUrlScheme } from '../relay-url.js';

export const MEMBERSHIP_KIND = 39108;
export const MEMBERSHIP_D_TAG = 'membership';
export const MEMBERSHIP_VERSION = '1';
/** Most `relay` tags in one membership event (before duplicates are removed). */
export const MAX_CLUSTER_MEMBERS = 100;

export interface ClusterMember {
  /** The member's HTTP base URL (where /cluster/latest and /cluster/events are served), normalized. */
  readonly httpUrl: string;
  /** The member's WebSocket URL (where its events are fetched), normalized. */
  readonly wsUrl: string;
}

export type MembershipParse =
  | { readonly ok: true; readonly members: ClusterMember[]; readonly version: string }
  | { readonly ok: false; readonly error: string };

export interface Membership {
  readonly members: ClusterMember[];
  /** Lowercase hex id of the membership event in force. */
  readonly eventId: string;
  /** Its created_at (unix seconds). */
  readonly createdAt: number;
}

const HTTP_SCHEMES: readonly RelayUrlScheme[] = ['http', 'https'];
const WS_SCHEMES: readonly RelayUrlScheme[] = ['ws', 'wss'];
const COMPANION: Readonly<Record<RelayUrlScheme, RelayUrlScheme>> = {
  http: 'ws',
  https: 'wss',
  ws: 'http',
  wss: 'https',
};

function invalid(problem: string): MembershipParse {
  return { ok: false, error: reason('invalid', `cluster membership: ${problem}`) };
}

/**
 * Is `event` a membership event a cluster admin may publish? On success: its members and version.
 * On failure: a NIP-01 reason ("invalid: …", "restricted: …").
 */
export function parseMembershipEvent(event: NostrEvent, admins: ReadonlySet<string>): MembershipParse {
  if (event.kind !== MEMBERSHIP_KIND) {
    return invalid(`kind ${event.kind} is not a membership event (kind ${MEMBERSHIP_KIND})`);
  }
  if (!admins.has(event.pubkey)) {
    const why =
      admins.size === 0
        ? 'no cluster admins are configured (ORLY_CLUSTER_ADMINS)'
        : `${event.pubkey} is not a cluster admin (ORLY_CLUSTER_ADMINS)`;
    return { ok: false, error: reason('restricted', `cluster membership: ${why}`) };
  }
  const d = dTag(event);
  if (d !== MEMBERSHIP_D_TAG) {
    return invalid(`the d tag must be "${MEMBERSHIP_D_TAG}", not ${JSON.stringify(d.slice(0, 64))}`);
  }
  for (const tag of event.tags) {
    if (tag[0] !== 'version' || tag[1] === MEMBERSHIP_VERSION) continue;
    const got =
      tag[1] === undefined
        ? 'a version tag without a value'
        : `version ${JSON.stringify(tag[1].slice(0, 16))}`;
    return invalid(`${got} is not supported (only "${MEMBERSHIP_VERSION}")`);
  }

  const relayTags = event.tags.filter((tag) => tag[0] === 'relay');
  if (relayTags.length === 0) return invalid('no relay tags: name at least one member');
  if (relayTags.length > MAX_CLUSTER_MEMBERS) {
    return invalid(`${relayTags.length} relay tags, the limit is ${MAX_CLUSTER_MEMBERS}`);
  }
  const members = new Map<string, ClusterMember>();
  for (let i = 0; i < relayTags.length; i++) {
    const member = memberOf(relayTags[i]!);
    if (typeof member === 'string') return invalid(`relay tag ${i + 1}: ${member}`);
    if (!members.has(member.httpUrl)) members.set(member.httpUrl, member);
  }
  return { ok: true, members: [...members.values()], version: MEMBERSHIP_VERSION };
}

/** The member one relay tag names, or the problem. */
function memberOf(tag: readonly string[]): ClusterMember | string {
  if (tag.length < 2) return 'has no URL';
  if (tag.length === 2) {
    const only = normalizeRelayUrl(tag[1]);
    if (!only.ok) return `the URL ${only.problem}`;
    const other = withScheme(only.url, only.scheme, COMPANION[only.scheme]);
    return HTTP_SCHEMES.includes(only.scheme)
      ? { httpUrl: only.url, wsUrl: other }
      : { httpUrl: other, wsUrl: only.url };
  }
  const http = normalizeRelayUrl(tag[1], HTTP_SCHEMES);
  if (!http.ok) return `the HTTP URL ${http.problem}`;
  const ws = normalizeRelayUrl(tag[2], WS_SCHEMES);
  if (!ws.ok) return `the WebSocket URL ${ws.problem}`;
  return { httpUrl: http.url, wsUrl: ws.url };
}

/** A normalized URL with its scheme replaced (the default ports of the pairs agree: 80, 443). */
function withScheme(url: string, from: RelayUrlScheme, to: RelayUrlScheme): string {
  return to + url.slice(from.length);
}

/**
 * The membership in force: the newest valid admin event (equal created_at: lowest id), or
 * undefined when there is none. An event is validated only when it would beat the best valid one
 * so far.
 */
export function newestMembership(
  events: Iterable<NostrEvent>,
  admins: ReadonlySet<string>,
): Membership | undefined {
  let best: NostrEvent | undefined;
  let members: ClusterMember[] = [];
  for (const event of events) {
    if (event.kind !== MEMBERSHIP_KIND || !admins.has(event.pubkey)) continue;
    if (best !== undefined && compareNewestFirst(event, best) >= 0) continue;
    const parsed = parseMembershipEvent(event, admins);
    if (!parsed.ok) continue;
    best = event;
    members = parsed.members;
  }
  if (best === undefined) return undefined;
  return { members, eventId: best.id, createdAt: best.created_at };
}
