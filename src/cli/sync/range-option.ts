/**
 * `orly sync --range START-END`, as `strfry sync` has it: since/until relative to now, each
 * side optional ("2M-" = the last two months, "1Y-3w" = from one year to three weeks ago).
 * Units: s, m (minutes), h, d, w, M (30.5 days), Y (365.2425 days); the number may have a
 * fraction. Pure: `now` comes from the caller.
 */
import { UsageError } from '../../errors.js';

const UNIT_SECONDS: Record<string, number> = {
  s: 1,
  m: 60,
  h: 3600,
  d: 86_400,
  w: 7 * 86_400,
  M: 30.5 * 86_400,
  Y: 365.2425 * 86_400,
};

/** A --range the user must correct (`orly sync` prefixes its message with "--range: "). */
export class RangeOptionError extends UsageError {}

function agoSeconds(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([smhdwMY])$/.exec(text);
  if (!m)
    throw new RangeOptionError(
      `bad time ${JSON.stringify(text)} (a number and one of s m h d w M Y, e.g. 2M)`,
    );
  return Math.floor(Number(m[1]) * UNIT_SECONDS[m[2]!]!);
}

/** The since/until of a range; throws RangeOptionError with a message for the user. */
export function parseRange(text: string, now: number): { since?: number; until?: number } {
  const dash = text.indexOf('-');
  if (dash < 0) throw new RangeOptionError('a range needs a "-" between start and end (e.g. 2M- or 1Y-3w)');
  const start = text.slice(0, dash);
  const end = text.slice(dash + 1);
  const out: { since?: number; until?: number } = {};
  if (start !== '') out.since = Math.max(0, now - agoSeconds(start));
  if (end !== '') out.until = Math.max(0, now - agoSeconds(end));
  if (out.since !== undefined && out.until !== undefined && out.since > out.until)
    throw new RangeOptionError('the range starts after it ends (the start is the older age, e.g. 1Y-3w)');
  return out;
}
