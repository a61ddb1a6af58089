/**
 * The limits of the StateStore role (event-store.ts) and the checks of its arguments, shared by
 * every implementation and by orly-db's handlers (services/db/handlers/state.ts). Each check
 * answers the problem, naming the argument as the proto field is named ("entries[2].key is 600
 * bytes, more than 512"), or undefined. Keys and values must be well-formed Unicode: a lone
 * surrogate would silently become U+FFFD in UTF-8 (two keys could then collide).
 */

/** Largest key, in UTF-8 bytes. */
export const STATE_KEY_MAX_BYTES = 512;
/** Largest value, in UTF-8 bytes. */
export const STATE_VALUE_MAX_BYTES = 64 * 1024;
/** Largest `limit` of listState. */
export const STATE_LIST_MAX = 10_000;

type StateEntries = ReadonlyArray<readonly [key: string, value: string | undefined]>;

function textProblem(
  text: unknown,
  field: string,
  maxBytes: number,
  mayBeEmpty: boolean,
): string | undefined {
  if (typeof text !== 'string') return `${field} is not a string`;
  if (text.length === 0) return mayBeEmpty ? undefined : `${field} is empty`;
  if (!text.isWellFormed()) return `${field} is not well-formed Unicode (it has a lone surrogate)`;
  // UTF-16 length x 3 bounds the UTF-8 size: most texts need no encoding to be checked.
  if (text.length * 3 > maxBytes) {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > maxBytes) return `${field} is ${bytes} bytes, more than ${maxBytes}`;
  }
  return undefined;
}

/** A key: 1 to STATE_KEY_MAX_BYTES bytes. */
export function stateKeyProblem(key: unknown, field = 'key'): string | undefined {
  return textProblem(key, field, STATE_KEY_MAX_BYTES, false);
}

/** putState's entries: [key, value | undefined] pairs with valid keys and values. */
export function stateEntriesProblem(entries: unknown): string | undefined {
  if (!Array.isArray(entries)) return 'entries is not an array';
  for (const [i, entry] of entries.entries()) {
    if (!Array.isArray(entry)) return `entries[${i}] is not a [key, value] pair`;
    const problem =
      stateKeyProblem(entry[0], `entries[${i}].key`) ??
      (entry[1] === undefined
        ? undefined
        : textProblem(entry[1], `entries[${i}].value`, STATE_VALUE_MAX_BYTES, true));
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** listState's arguments: a prefix (may be empty), a limit of 1 to STATE_LIST_MAX, an optional `after`. */
export function stateListProblem(prefix: unknown, limit: unknown, after: unknown): string | undefined {
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > STATE_LIST_MAX)
    return `limit is ${String(limit)}, not an integer from 1 to ${STATE_LIST_MAX}`;
  return (
    textProblem(prefix, 'prefix', STATE_KEY_MAX_BYTES, true) ??
    (after === undefined ? undefined : textProblem(after, 'after', STATE_KEY_MAX_BYTES, true))
  );
}

/** Throws the Error a StateStore rejects bad input with ("putState: entries[0].key is empty"). */
export function assertStateInput(method: string, problem: string | undefined): void {
  if (problem !== undefined) throw new Error(`${method}: ${problem}`);
}

/** The entries of `entries` as [UTF-8 key, value | undefined], checked (for putState). */
export function checkedStateEntries(
  entries: StateEntries,
): Array<readonly [key: Buffer, value: string | undefined]> {
  assertStateInput('putState', stateEntriesProblem(entries));
  return entries.map(([key, value]) => [Buffer.from(key, 'utf8'), value] as const);
}

/** UTF-8 byte order of two keys (JavaScript's < on strings is UTF-16 order, which differs above U+FFFF). */
export function compareStateKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
