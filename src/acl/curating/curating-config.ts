/**
 * The configuration of ACL mode "curating": a kind 30078 event with `d` = `curating-config`
 * published by an owner or admin, read from its TAGS (its content is ignored, as in ORLY's code
 * and NIP-CURATION; ORLY's CURATION_MODE_GUIDE shows JSON content, which ORLY does not read).
 *
 * Tags (each value in tag[1]):
 * - `daily_limit` (events a day per unclassified pubkey, default 50, 1 to 1,000,000),
 *   `ip_daily_limit` (events a day per IP address, default 500, 1 to 10,000,000),
 *   `first_ban_hours` (default 1), `second_ban_hours` (default 168), both 1 to 8760: at most
 *   once each, a positive integer in decimal digits;
 * - repeatable `kind_category` (a name of KIND_CATEGORIES), `kind_range` ("start-end",
 *   0-65535, start <= end; at most MAX_RANGES) and `kind` (0-65535; at most MAX_KINDS): together
 *   the allow list. An empty allow list is valid and allows nothing (but owners, admins and the
 *   config itself): the refusal says so.
 * Any other tag (`d`, `alt`, ...) is ignored. Pure: no I/O, no clock.
 */

export const CONFIG_KIND = 30078;
export const CONFIG_D_TAG = 'curating-config';

/** ORLY's kind categories (app/specialkinds.go). */
export const KIND_CATEGORIES: ReadonlyMap<string, readonly number[]> = new Map<string, readonly number[]>([
  ['social', [0, 1, 3, 6, 7, 10002]],
  ['dm', [4, 14, 1059]],
  ['longform', [30023, 30024]],
  ['media', [1063, 20, 21, 22]],
  ['marketplace', [30017, 30018, 30019, 30020, 1021, 1022]],
  ['marketplace_nip15', [30017, 30018, 30019, 30020, 1021, 1022]],
  ['marketplace_nip99', [30402, 30403, 30405, 30406, 31555]],
  ['order_communication', [16, 17]],
  ['groups_nip29', [9, 10, 11, 12, 9000, 9001, 9002, 39000, 39001, 39002]],
  ['groups_nip72', [34550, 1111, 4550]],
  ['lists', [10000, 10001, 10003, 30000, 30001, 30003]],
]);

export const DEFAULTS = {
  dailyLimit: 50,
  ipDailyLimit: 500,
  firstBanHours: 1,
  secondBanHours: 168,
} as const;

/** The bounds of the numeric tags (inclusive). */
const BOUNDS = {
  daily_limit: 1_000_000,
  ip_daily_limit: 10_000_000,
  first_ban_hours: 8760,
  second_ban_hours: 8760,
} as const;

/** Distinct `kind` tags one config may hold (it is kept in one state value of at most 64 KiB). */
export const MAX_KINDS = 1000;
/** `kind_range` tags one config may hold. */
export const MAX_RANGES = 100;
const MAX_KIND = 65535;

export interface KindRange {
  readonly start: number;
  readonly end: number;
}

export interface CuratingConfig {
  readonly dailyLimit: number;
  readonly ipDailyLimit: number;
  readonly firstBanHours: number;
  readonly secondBanHours: number;
  /** Explicit `kind` tags, ascending, distinct. */
  readonly kinds: readonly number[];
  /** `kind_range` tags, in the order given. */
  readonly ranges: readonly KindRange[];
  /** `kind_category` names, in the order given, distinct. */
  readonly categories: readonly string[];
}

export type ConfigParse =
  | { readonly ok: true; readonly config: CuratingConfig }
  | { readonly ok: false; readonly problem: string };

/** Is this event a curating configuration (kind 30078, `d` = curating-config)? Its author is not checked. */
export function isConfigEvent(event: { readonly kind: number; readonly tags: readonly string[][] }): boolean {
  if (event.kind !== CONFIG_KIND) return false;
  const d = event.tags.find((tag) => tag[0] === 'd');
  return d?.[1] === CONFIG_D_TAG;
}

const DIGITS = /^[0-9]{1,9}$/;
const RANGE = /^([0-9]{1,5})-([0-9]{1,5})$/;

type NumericTag = keyof typeof BOUNDS;

function isNumericTag(name: string): name is NumericTag {
  return Object.hasOwn(BOUNDS, name);
}

function quoted(value: string | undefined): string {
  return value === undefined ? 'nothing' : JSON.stringify(value.slice(0, 40));
}

/** Parses the tags of a config event; `problem` says what is wrong (for `invalid: ...`). */
export function parseCuratingConfig(tags: readonly (readonly string[])[]): ConfigParse {
  const numbers = new Map<NumericTag, number>();
  const kinds = new Set<number>();
  const ranges: KindRange[] = [];
  const categories: string[] = [];
  const fail = (problem: string): ConfigParse => ({ ok: false, problem });
  for (const tag of tags) {
    const name = tag[0];
    const value = tag[1];
    if (name === undefined) continue;
    if (isNumericTag(name)) {
      if (numbers.has(name)) return fail(`${name} is given more than once`);
      const max = BOUNDS[name];
      if (value === undefined || !DIGITS.test(value) || Number(value) < 1 || Number(value) > max)
        return fail(`${name} must be an integer from 1 to ${max}, not ${quoted(value)}`);
      numbers.set(name, Number(value));
    } else if (name === 'kind') {
      if (value === undefined || !DIGITS.test(value) || Number(value) > MAX_KIND)
        return fail(`kind must be an integer from 0 to ${MAX_KIND}, not ${quoted(value)}`);
      kinds.add(Number(value));
      if (kinds.size > MAX_KINDS) return fail(`more than ${MAX_KINDS} kind tags`);
    } else if (name === 'kind_range') {
      const match = value === undefined ? null : RANGE.exec(value);
      const start = Number(match?.[1]);
      const end = Number(match?.[2]);
      if (match === null || start > MAX_KIND || end > MAX_KIND || start > end)
        return fail(
          `kind_range must be "start-end" with 0 <= start <= end <= ${MAX_KIND}, not ${quoted(value)}`,
        );
      ranges.push({ start, end });
      if (ranges.length > MAX_RANGES) return fail(`more than ${MAX_RANGES} kind_range tags`);
    } else if (name === 'kind_category') {
      const category = value?.trim().toLowerCase();
      if (category === undefined || !KIND_CATEGORIES.has(category))
        return fail(`kind_category ${quoted(value)} is not one of ${[...KIND_CATEGORIES.keys()].join(', ')}`);
      if (!categories.includes(category)) categories.push(category);
    }
  }
  const config: CuratingConfig = {
    dailyLimit: numbers.get('daily_limit') ?? DEFAULTS.dailyLimit,
    ipDailyLimit: numbers.get('ip_daily_limit') ?? DEFAULTS.ipDailyLimit,
    firstBanHours: numbers.get('first_ban_hours') ?? DEFAULTS.firstBanHours,
    secondBanHours: numbers.get('second_ban_hours') ?? DEFAULTS.secondBanHours,
    kinds: [...kinds].sort((a, b) => a - b),
    ranges,
    categories,
  };
  return { ok: true, config };
}

/** The allow list of a config, compiled for a lookup per event. */
export class KindAllowList {
  private readonly kinds: ReadonlySet<number>;
  private readonly ranges: readonly KindRange[];

  constructor(config: Pick<CuratingConfig, 'kinds' | 'ranges' | 'categories'>) {
    const kinds = new Set(config.kinds);
    for (const category of config.categories)
      for (const kind of KIND_CATEGORIES.get(category) ?? []) kinds.add(kind);
    this.kinds = kinds;
    this.ranges = config.ranges;
  }

  /** True when no kind at all is allowed. */
  get empty(): boolean {
    return this.kinds.size === 0 && this.ranges.length === 0;
  }

  allows(kind: number): boolean {
    if (this.kinds.has(kind)) return true;
    for (const range of this.ranges) if (range.start <= kind && kind <= range.end) return true;
    return false;
  }
}

/** A config read back from the state (JSON written by this module's owner), or undefined when it is not one. */
export function configFromJson(value: unknown): CuratingConfig | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const int = (x: unknown) => (typeof x === 'number' && Number.isInteger(x) && x >= 0 ? x : undefined);
  const dailyLimit = int(v.dailyLimit);
  const ipDailyLimit = int(v.ipDailyLimit);
  const firstBanHours = int(v.firstBanHours);
  const secondBanHours = int(v.secondBanHours);
  if (
    dailyLimit === undefined ||
    ipDailyLimit === undefined ||
    firstBanHours === undefined ||
    secondBanHours === undefined
  )
    return undefined;
  const kinds = Array.isArray(v.kinds) ? v.kinds.filter((k) => int(k) !== undefined && k <= MAX_KIND) : [];
  const ranges = Array.isArray(v.ranges)
    ? (v.ranges as unknown[]).flatMap((r) => {
        const { start, end } = (r ?? {}) as Record<string, unknown>;
        const s = int(start);
        const e = int(end);
        return s !== undefined && e !== undefined && s <= e ? [{ start: s, end: e }] : [];
      })
    : [];
  const categories = Array.isArray(v.categories)
    ? v.categories.filter((c): c is string => typeof c === 'string' && KIND_CATEGORIES.has(c))
    : [];
  return { dailyLimit, ipDailyLimit, firstBanHours, secondBanHours, kinds, ranges, categories };
}

/** "start-end" of a range, as in the config tag. */
export function rangeText(range: KindRange): string {
  return `${range.start}-${range.end}`;
}
