/**
 * The operator's override of the cluster's member list (UpdateMembership), kept in the store's
 * state (`sync.cluster.override`, JSON `{"urls":[...],"base":"<event id>"}`) so a restart keeps it.
 * It holds until the next membership event: `base` is the id of the membership event in force
 * when it was made ("" for none), and once another one is in force (a newer admin event) the
 * override is dropped. Pure checks of the URLs here; ClusterSync applies it.
 */
import { reason } from '../../errors.js';
import type { StateStore } from '../../store/event-store.js';
import { normalizeRelayUrl } from '../relay-url.js';
import { MAX_CLUSTER_MEMBERS } from './membership.js';

const OVERRIDE_KEY = 'sync.cluster.override';

export interface MembershipOverride {
  /** The members' http(s) base URLs, normalized. */
  readonly urls: readonly string[];
  /** The id of the membership event in force when the override was made, "" when none was. */
  readonly base: string;
}

/** The member URLs of an override, normalized and deduplicated; an invalid list throws (the reason). */
export function parseOverrideUrls(urls: readonly string[]): string[] {
  if (urls.length > MAX_CLUSTER_MEMBERS)
    throw new Error(reason('invalid', `${urls.length} members, the limit is ${MAX_CLUSTER_MEMBERS}`));
  const out = new Set<string>();
  for (const [i, text] of urls.entries()) {
    const parsed = normalizeRelayUrl(text.trim(), ['http', 'https']);
    if (!parsed.ok)
      throw new Error(
        reason('invalid', `member ${i + 1}: ${JSON.stringify(text.slice(0, 200))} ${parsed.problem}`),
      );
    out.add(parsed.url);
  }
  return [...out];
}

export async function loadOverride(
  state: Pick<StateStore, 'getState'>,
): Promise<MembershipOverride | undefined> {
  const raw = await state.getState(OVERRIDE_KEY);
  if (raw === undefined) return undefined;
  try {
    const value = JSON.parse(raw) as { urls?: unknown; base?: unknown };
    if (!Array.isArray(value.urls) || typeof value.base !== 'string') return undefined;
    return { urls: parseOverrideUrls(value.urls.map(String)), base: value.base };
  } catch {
    return undefined;
  }
}

export function saveOverride(
  state: Pick<StateStore, 'putState'>,
  override: MembershipOverride | undefined,
): Promise<void> {
  return state.putState([[OVERRIDE_KEY, override === undefined ? undefined : JSON.stringify(override)]]);
}
