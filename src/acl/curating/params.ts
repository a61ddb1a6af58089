/**
 * Checks of NIP-86 params for the curating methods: each answers the value or throws a
 * ParamError naming the position and what it must be (answered as `{"error": ...}`).
 */
import { ParamError } from '../managed/managed-methods.js';

export { ParamError };

const HEX64 = /^[0-9a-fA-F]{64}$/;

/** params[i]: a 64-character hex string, lowercased. */
export function hex64(params: readonly unknown[], i: number, what: string): string {
  const value = params[i];
  if (typeof value !== 'string' || !HEX64.test(value))
    throw new ParamError(`params[${i}] must be a 64-character hex ${what}`);
  return value.toLowerCase();
}

/** params[i] absent or null: undefined; else as hex64. */
export function optionalHex64(params: readonly unknown[], i: number, what: string): string | undefined {
  return params[i] === undefined || params[i] === null ? undefined : hex64(params, i, what);
}

/** params[i]: an optional string of at most `max` characters ('' when absent or null). */
export function text(params: readonly unknown[], i: number, what: string, max: number): string {
  const value = params[i];
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new ParamError(`params[${i}] (${what}) must be a string`);
  if (value.length > max) throw new ParamError(`params[${i}] (${what}) is longer than ${max} characters`);
  return value;
}

/** params[i]: an optional integer from `min` to `max` (undefined when absent or null). */
export function optionalInt(
  params: readonly unknown[],
  i: number,
  what: string,
  min: number,
  max: number,
): number | undefined {
  const value = params[i];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw new ParamError(`params[${i}] (${what}) must be an integer from ${min} to ${max}`);
  return value;
}
