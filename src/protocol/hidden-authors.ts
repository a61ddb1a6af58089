/**
 * Authors an access-control mode hides from a reader (managed mode's banned pubkeys, curating's
 * blacklist), applied to its queries: a filter naming authors loses the hidden ones (and may
 * then match nothing); a filter without authors has each result checked. For COUNT, the events
 * of hidden authors are counted apart and subtracted (authorsHidden), so nothing is read twice.
 */
import type { NormalizedFilter } from './filter.js';

/** The filter without hidden authors, and whether its results must still be checked one by one. */
export function withoutHiddenAuthors(
  filter: NormalizedFilter,
  hidden: ReadonlySet<string> | undefined,
): { readonly filter: NormalizedFilter; readonly checkEach: boolean } {
  if (hidden === undefined || hidden.size === 0) return { filter, checkEach: false };
  if (filter.authors === undefined) return { filter, checkEach: true };
  if (!filter.authors.some((a) => hidden.has(a))) return { filter, checkEach: false };
  return { filter: { ...filter, authors: filter.authors.filter((a) => !hidden.has(a)) }, checkEach: false };
}

/**
 * For a COUNT: the filters with hidden authors pruned where they name authors, and the filters
 * that count the hidden authors' events among those that do not (to subtract: they are disjoint
 * from what the pruned filters match).
 */
export function countSplit(
  filters: readonly NormalizedFilter[],
  hidden: ReadonlySet<string> | undefined,
): { readonly counted: NormalizedFilter[]; readonly subtract: NormalizedFilter[] } {
  if (hidden === undefined || hidden.size === 0) return { counted: [...filters], subtract: [] };
  const counted: NormalizedFilter[] = [];
  const subtract: NormalizedFilter[] = [];
  const authors = [...hidden];
  for (const f of filters) {
    counted.push(withoutHiddenAuthors(f, hidden).filter);
    if (f.authors === undefined) subtract.push({ ...f, authors });
  }
  return { counted, subtract };
}
