/**
 * ISO-8601 durations of ORLY's policy file (`max_expiry_duration`: "P7D", "PT1H30M", "P1DT12H"),
 * as whole seconds. Only fixed-length units are accepted: weeks, days, hours, minutes, seconds.
 * Years and months are refused (ORLY converts them to approximate lengths, 365.25 and 30.44 days;
 * a limit in a security file should not be approximate), and so are fractions. Pure code.
 */

export type DurationParse =
  | { readonly ok: true; readonly seconds: number }
  | { readonly ok: false; readonly problem: string };

const FORM = /^P(?:(\d{1,9})W)?(?:(\d{1,9})D)?(?:T(?:(\d{1,9})H)?(?:(\d{1,9})M)?(?:(\d{1,12})S)?)?$/;
/** A Y or M before the T: years or months ("PT30M" is thirty minutes). */
const YEARS_OR_MONTHS = /^P[^T]*[YM]/;

export function parseIsoDuration(text: string): DurationParse {
  if (YEARS_OR_MONTHS.test(text)) {
    return {
      ok: false,
      problem: 'years and months are not fixed lengths: give the duration in weeks or days (e.g. P30D)',
    };
  }
  const m = FORM.exec(text);
  if (m === null || text === 'P' || text.endsWith('T')) {
    return {
      ok: false,
      problem:
        'must be an ISO-8601 duration in whole weeks, days, hours, minutes or seconds (e.g. P7D, PT1H30M)',
    };
  }
  const [w, d, h, min, s] = m.slice(1).map((v) => (v === undefined ? 0 : Number(v)));
  const seconds = w! * 604_800 + d! * 86_400 + h! * 3_600 + min! * 60 + s!;
  return { ok: true, seconds };
}
