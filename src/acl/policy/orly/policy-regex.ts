/**
 * The regular expressions of ORLY's policy file (`identifier_regex`, `tag_validation`), compiled
 * once when the file is read, so that matching them can never stall the relay.
 *
 * ORLY writes them in Go's RE2 syntax and matches with `MatchString` (an unanchored search) in
 * linear time. Here they run on V8's backtracking engine, so a pattern is compiled (always with
 * the `u` flag: Go matches UTF-8 code points, and `u` makes JavaScript refuse Go-only escapes such
 * as `\z` loudly instead of reading them as letters) and then refused when:
 *  - it is longer than 1,024 characters;
 *  - it uses what RE2 lacks and backtracking makes exponential: backreferences (`\1`, `\k<n>`),
 *    lookahead and lookbehind;
 *  - safe-regex2 (fastify's star-height check) flags it: a quantifier inside a quantified group,
 *    or more than 25 quantifiers;
 *  - an alternation inside a repeated group has branches that may start with the same character
 *    (`(a|a)*`, `(a|ab)*`, `(\d|x)*`): the exponential case safe-regex2 does not see;
 *  - its worst-case backtracking, bounded by the product of every quantifier's number of choices
 *    (an unbounded one counted as the 1,024-character input limit), times 1,024 start positions
 *    unless it starts with `^`, exceeds 2^22 steps (a few milliseconds): this refuses the
 *    polynomial cases such as `.*.*x` (seconds on a 1 KiB value) while `^[a-z0-9-]{1,64}$`,
 *    `^https?://[^/]+/.*$` and an unanchored `foo.*bar` pass.
 * These checks are conservative: a refused pattern can always be rewritten (anchor it, bound its
 * repetitions). A leading Go flag group `(?i)`, `(?s)`, `(?m)` (or a combination) becomes the
 * JavaScript flag; other Go-only syntax fails with JavaScript's own error text.
 *
 * Matching (`matchPolicyRegex`) is an unanchored `test`, run only on values of at most 1,024
 * characters: a longer value fails validation without being matched.
 */
import safeRegex from 'safe-regex2';

/** The longest pattern accepted, in characters. */
export const MAX_PATTERN_LENGTH = 1024;
/** The longest value a pattern is ever run on, in characters; a longer value fails validation. */
export const MAX_MATCH_LENGTH = 1024;
/** The most quantifiers safe-regex2 accepts (its default). */
const MAX_QUANTIFIERS = 25;
/** Worst-case backtracking steps accepted for one match (see the header). */
const STEP_BUDGET = 2 ** 22;

export type RegexCheck =
  | { readonly ok: true; readonly regex: RegExp }
  | { readonly ok: false; readonly problem: string };

export type MatchResult = 'match' | 'no-match' | 'too-long';

/** Compiles one policy pattern, or says why it is refused (no JSON path: the caller adds it). */
export function compilePolicyRegex(pattern: string): RegexCheck {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    return { ok: false, problem: `regular expression is longer than ${MAX_PATTERN_LENGTH} characters` };
  }
  const { source, flags } = goFlags(pattern);
  const unsupported = unsupportedConstruct(source);
  if (unsupported !== undefined)
    return { ok: false, problem: `unsupported regular expression: ${unsupported}` };
  let regex: RegExp;
  try {
    regex = new RegExp(source, `${flags}u`);
  } catch (err) {
    return { ok: false, problem: `invalid regular expression: ${(err as Error).message}` };
  }
  const tree = parseTree(source);
  if (!safeRegex(source, { limit: MAX_QUANTIFIERS })) {
    const why =
      tree.quantifiers > MAX_QUANTIFIERS ? `more than ${MAX_QUANTIFIERS} quantifiers` : 'nested quantifier';
    return { ok: false, problem: `unsafe regular expression (${why})` };
  }
  if (ambiguousAlternation(tree.alts, false, flags.includes('i'))) {
    return {
      ok: false,
      problem:
        'unsafe regular expression (alternatives inside a repeated group may start with the same character)',
    };
  }
  const anchored = !flags.includes('m') && isAnchored(tree.alts);
  const steps = costOfAlts(tree.alts) * (anchored ? 1 : MAX_MATCH_LENGTH + 1);
  if (steps > STEP_BUDGET) {
    return {
      ok: false,
      problem:
        'unsafe regular expression (too much backtracking: anchor it with ^ or bound its repetitions, ' +
        'e.g. {1,64} instead of + or *)',
    };
  }
  return { ok: true, regex };
}

/** Go's unanchored MatchString, on values of at most MAX_MATCH_LENGTH characters. */
export function matchPolicyRegex(regex: RegExp, value: string): MatchResult {
  if (value.length > MAX_MATCH_LENGTH) return 'too-long';
  return regex.test(value) ? 'match' : 'no-match';
}

/** A leading Go flag group, `(?i)`, `(?s)`, `(?m)` or a combination, as JavaScript flags. */
function goFlags(pattern: string): { source: string; flags: string } {
  const m = /^\(\?([ims]{1,3})\)/.exec(pattern);
  if (m === null) return { source: pattern, flags: '' };
  return { source: pattern.slice(m[0].length), flags: [...new Set(m[1]!)].join('') };
}

/** Backreferences and lookaround (RE2 has neither), found before compiling so that the message says so. */
function unsupportedConstruct(src: string): string | undefined {
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') {
      const e = src[i + 1] ?? '';
      if (!inClass && ((e >= '1' && e <= '9') || e === 'k')) {
        return 'backreferences (\\1, \\k<name>) are not allowed';
      }
      i++;
    } else if (inClass) {
      if (c === ']') inClass = false;
    } else if (c === '[') {
      inClass = true;
    } else if (c === '(' && /^\(\?(=|!|<=|<!)/.test(src.slice(i, i + 4))) {
      return 'lookahead and lookbehind are not allowed';
    }
  }
  return undefined;
}

// ---- A small parser of JavaScript (u-mode) pattern syntax, for the structural checks ----------
// It runs only on patterns `new RegExp(_, 'u')` accepted, so it need not report syntax errors.

interface Item {
  readonly atom: Atom;
  readonly min: number;
  readonly max: number;
}
type Atom =
  /** One character: `ch` when it is a known literal, undefined for classes, `.`, `\d` and such. */
  | { readonly t: 'char'; readonly ch: string | undefined }
  /** Zero-width: `^` (start), `$`, `\b`, `\B`. */
  | { readonly t: 'assert'; readonly start: boolean }
  | { readonly t: 'group'; readonly alts: Item[][] };
interface Tree {
  readonly alts: Item[][];
  readonly quantifiers: number;
}

const CONTROL_ESCAPES: Readonly<Record<string, string>> = { n: '\n', r: '\r', t: '\t', v: '\v', f: '\f' };

function parseTree(src: string): Tree {
  let i = 0;
  let quantifiers = 0;

  const parseAlts = (): Item[][] => {
    const alts: Item[][] = [[]];
    while (i < src.length && src[i] !== ')') {
      if (src[i] === '|') {
        alts.push([]);
        i++;
        continue;
      }
      const atom = parseAtom();
      const [min, max] = parseQuantifier();
      alts[alts.length - 1]!.push({ atom, min, max });
    }
    return alts;
  };

  const parseAtom = (): Atom => {
    const c = src[i]!;
    if (c === '(') {
      i++;
      // (?: or (?<name> (lookaround was refused before)
      if (src[i] === '?') i = src[i + 1] === ':' ? i + 2 : src.indexOf('>', i) + 1;
      const alts = parseAlts();
      i++; // ')'
      return { t: 'group', alts };
    }
    if (c === '[') {
      i++;
      if (src[i] === '^') i++;
      while (i < src.length && src[i] !== ']') i += src[i] === '\\' ? 2 : 1;
      i++; // ']'
      return { t: 'char', ch: undefined };
    }
    if (c === '^' || c === '$') {
      i++;
      return { t: 'assert', start: c === '^' };
    }
    if (c === '.') {
      i++;
      return { t: 'char', ch: undefined };
    }
    if (c === '\\') return parseEscape();
    const literal = String.fromCodePoint(src.codePointAt(i)!);
    i += literal.length;
    return { t: 'char', ch: literal };
  };

  const parseEscape = (): Atom => {
    const e = src[i + 1]!;
    i += 2;
    if (e === 'b' || e === 'B') return { t: 'assert', start: false };
    if ('dDwWsS'.includes(e)) return { t: 'char', ch: undefined };
    if (e === 'p' || e === 'P') {
      i = src.indexOf('}', i) + 1;
      return { t: 'char', ch: undefined };
    }
    if (e === 'u' || e === 'x') {
      const braced = src[i] === '{';
      const end = braced ? src.indexOf('}', i) : i + (e === 'u' ? 4 : 2);
      const hex = src.slice(braced ? i + 1 : i, end);
      i = braced ? end + 1 : end;
      return { t: 'char', ch: String.fromCodePoint(Number.parseInt(hex, 16)) };
    }
    if (e === 'c') {
      i++;
      return { t: 'char', ch: undefined };
    }
    if (e === '0') return { t: 'char', ch: '\0' };
    return { t: 'char', ch: CONTROL_ESCAPES[e] ?? e };
  };

  const parseQuantifier = (): [number, number] => {
    const c = src[i];
    let range: [number, number] | undefined;
    if (c === '*') range = [0, Infinity];
    else if (c === '+') range = [1, Infinity];
    else if (c === '?') range = [0, 1];
    if (range !== undefined) i++;
    else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(i));
      if (m !== null) {
        const min = Number(m[1]);
        range = [min, m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3])];
        i += m[0].length;
      }
    }
    if (range === undefined) return [1, 1];
    quantifiers++;
    if (src[i] === '?') i++; // lazy
    return range;
  };

  const alts = parseAlts();
  return { alts, quantifiers };
}

/** An alternation inside a repeated group whose branches are not told apart by their first character. */
function ambiguousAlternation(alts: readonly Item[][], repeated: boolean, ignoreCase: boolean): boolean {
  if (repeated && alts.length > 1) {
    const seen = new Set<string>();
    for (const seq of alts) {
      let first = firstLiteral(seq);
      if (first === undefined) return true;
      if (ignoreCase) first = first.toLowerCase();
      if (seen.has(first)) return true;
      seen.add(first);
    }
  }
  for (const seq of alts) {
    for (const item of seq) {
      if (item.atom.t !== 'group') continue;
      if (ambiguousAlternation(item.atom.alts, repeated || item.max > 1, ignoreCase)) return true;
    }
  }
  return false;
}

/** The literal character every match of this sequence starts with, when it is certain. */
function firstLiteral(seq: readonly Item[]): string | undefined {
  const first = seq[0];
  if (first === undefined || first.min === 0 || first.atom.t !== 'char') return undefined;
  return first.atom.ch;
}

/** Every match starts at position 0: one alternative, beginning with `^` (not quantified). */
function isAnchored(alts: readonly Item[][]): boolean {
  const first = alts.length === 1 ? alts[0]![0] : undefined;
  return first !== undefined && first.atom.t === 'assert' && first.atom.start && first.min === 1;
}

/** Upper bound on the ways a backtracking matcher can try these alternatives at one position. */
function costOfAlts(alts: readonly Item[][]): number {
  let sum = 0;
  for (const seq of alts) {
    let product = 1;
    for (const item of seq) product *= costOfItem(item);
    sum += product;
  }
  return Math.max(1, sum);
}

function costOfItem(item: Item): number {
  const inner = item.atom.t === 'group' ? costOfAlts(item.atom.alts) : 1;
  const choices = Math.min(item.max, MAX_MATCH_LENGTH) - Math.min(item.min, MAX_MATCH_LENGTH) + 1;
  return choices * inner;
}
