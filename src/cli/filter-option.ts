/** A `--filter JSON` command-line option: one NIP-01 filter, or a UsageError worded for the user. */
import { UsageError } from '../errors.js';
import { type NormalizedFilter, parseFilterText } from '../protocol/filter.js';

export function filterOption(text: string): NormalizedFilter {
  const parsed = parseFilterText(text);
  if (!parsed.ok)
    throw new UsageError(parsed.notJson ? '--filter must be a JSON object' : `--filter: ${parsed.reason}`);
  return parsed.filter;
}
