/**
 * Chooses how the LMDB store answers one filter: point lookups by id, or a set of index
 * ranges merged newest first, plus what each candidate still has to be checked against.
 * Pure code, no I/O.
 *
 * Order of preference: ids; authors x kinds (author+kind index); one tag letter (with kinds:
 * tag+kind index); authors; kinds; else the created_at index. No filter naming ids, authors,
 * kinds or a tag ever scans the created_at index. since/until are always range bounds.
 *
 * Checks, cheapest first: `kinds` against the kind stored in each index key (no event read);
 * `needles` for hashed tag values (a substring of the canonical JSON that proves the tag is
 * present; when absent the full filter decides, so a hash collision can never slip through);
 * `postFilter`: the full matchFilter on the parsed event.
 */
import { isHex64 } from '../../protocol/event.js';
import type { NormalizedFilter } from '../../protocol/filter.js';
import { hexToBytes } from './codec.js';
import {
  authorKindPrefix,
  authorPrefix,
  CREATED_PREFIX,
  type KeyRange,
  kindPrefix,
  prefixRange,
  tagPrefix,
  tagValueKey,
} from './index-keys.js';

/** Above this many (author, kind) or (tag value, kind) pairs, fall back to the wider index. */
export const MAX_PAIR_RANGES = 256;

/** What a candidate from the ranges must still pass. */
export interface CandidateCheck {
  /** Kinds to match against the kind in each index key (when the ranges do not fix the kind). */
  readonly kinds: readonly number[] | undefined;
  /** The full filter must be applied to the parsed event. */
  readonly postFilter: boolean;
  /**
   * Set when the only uncertainty is hashed tag values: a candidate whose canonical JSON
   * contains one of these is a match; any other is decided by the full filter.
   */
  readonly needles: readonly string[] | undefined;
}

export type IndexName = 'authorKind' | 'tag' | 'tagKind' | 'author' | 'kind' | 'created';

export type QueryPlan =
  | { readonly type: 'ids'; readonly ids: readonly string[] }
  | ({
      readonly type: 'index';
      /** Which index family was chosen (for tests and diagnostics). */
      readonly index: IndexName;
      readonly ranges: readonly KeyRange[];
    } & CandidateCheck);

export function planQuery(filter: NormalizedFilter): QueryPlan {
  if (filter.ids) return { type: 'ids', ids: filter.ids };
  const { kinds, tags, since, until } = filter;
  // parseFilter guarantees hex; a malformed author (which can match nothing) must not
  // become a short, over-broad key prefix when the filter came from elsewhere.
  const authors = filter.authors?.filter(isHex64);
  const tagCount = tags?.size ?? 0;

  if (authors && kinds && authors.length * kinds.length <= MAX_PAIR_RANGES) {
    const ranges: KeyRange[] = [];
    for (const author of authors) {
      const pk = hexToBytes(author);
      for (const kind of kinds) ranges.push(prefixRange(authorKindPrefix(pk, kind), since, until));
    }
    return index('authorKind', ranges, { kinds: undefined, postFilter: tagCount > 0, needles: undefined });
  }

  if (tags && tagCount > 0) {
    const [letter, values] = chooseTag(tags);
    const keys = values.map(tagValueKey);
    // Kinds are checked from the key suffix: the tag+kind index types are reserved but no
    // longer written (see index-keys.ts).
    const ranges = keys.map((key) => prefixRange(tagPrefix(letter, key), since, until));
    const hashed = keys.some((k) => !k.hex);
    return index('tag', ranges, {
      kinds,
      postFilter: authors !== undefined || tagCount > 1,
      needles: hashed ? values.map((v) => tagNeedle(letter, v)) : undefined,
    });
  }

  if (authors) {
    const ranges = authors.map((a) => prefixRange(authorPrefix(hexToBytes(a)), since, until));
    return index('author', ranges, { kinds, postFilter: false, needles: undefined });
  }

  if (kinds) {
    const ranges = kinds.map((k) => prefixRange(kindPrefix(k), since, until));
    return index('kind', ranges, { kinds: undefined, postFilter: false, needles: undefined });
  }

  const ranges = [prefixRange(CREATED_PREFIX, since, until)];
  return index('created', ranges, { kinds: undefined, postFilter: false, needles: undefined });
}

function index(name: IndexName, ranges: readonly KeyRange[], check: CandidateCheck): QueryPlan {
  return { type: 'index', index: name, ranges, ...check };
}

/**
 * `["t","value"` as it appears in canonical event JSON. In that JSON a `[` directly followed by
 * a quote can only open a tag array, so finding this text proves the event has a tag whose
 * name and first value are exactly these (whatever escaping JSON.stringify chose: if it differs
 * from the canonical one the text is simply not found and the full filter decides).
 */
export function tagNeedle(letter: string, value: string): string {
  const json = JSON.stringify([letter, value]);
  return json.slice(0, -1);
}

/**
 * The tag condition to scan: prefer letters whose values are all hex (raw keys), then the
 * one with the fewest values (fewest ranges).
 */
function chooseTag(tags: ReadonlyMap<string, readonly string[]>): [string, readonly string[]] {
  let best: [string, readonly string[]] | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const entry of tags) {
    const score = (entry[1].every(isHex64) ? 0 : 1_000_000) + entry[1].length;
    if (score < bestScore) {
      best = entry;
      bestScore = score;
    }
  }
  return best!;
}
