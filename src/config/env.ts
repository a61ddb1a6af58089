/**
 * The configuration core every command and service shares: the `Env` type, `ConfigError` (which
 * names the variable), and one parser per kind of value (integers, booleans, durations, choices,
 * host:port, URLs, kind lists, log levels, the data directory). Each service's config module
 * (src/relay/config.ts, src/services/<name>/config.ts, src/launcher/config.ts) builds its typed,
 * validated object from these, once, at start-up.
 */

import { homedir } from 'node:os';
import { join } from 'node:path';
import { OrlyError } from '../errors.js';

export class ConfigError extends OrlyError {
  readonly code: string = 'ORLY_CONFIG';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function choiceVar<T extends string>(
  env: Env,
  name: string,
  fallback: T,
  choices: Record<string, T>,
): T {
  const raw = read(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  const value = choices[raw];
  if (value === undefined) {
    throw new ConfigError(
      name,
      `must be one of ${Object.keys(choices).join(', ')}, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

/** An optional host:port (IPv6 hosts in brackets), port 1-65535. */
export function hostPortVar(env: Env, name: string): string | undefined {
  const raw = read(env, name);
  if (raw === undefined) return undefined;
  const m = /^(\[[0-9a-fA-F:.]+\]|[^\s:/]+):(\d{1,5})$/.exec(raw);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535)
    throw new ConfigError(name, `expected host:port, got ${JSON.stringify(raw)}`);
  return raw;
}

export type Env = Record<string, string | undefined>;

function read(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

export function intVar(
  env: Env,
  name: string,
  fallback: number,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  return numberVar(env, name, fallback, min, max, /^-?\d+$/, 'an integer');
}

/** A non-negative decimal number ("20", "0.5"), between min and max. */
export function decimalVar(
  env: Env,
  name: string,
  fallback: number,
  min = 0,
  max = Number.MAX_VALUE,
): number {
  return numberVar(env, name, fallback, min, max, /^\d+(\.\d+)?$/, 'a number');
}

/** A number whose text matches `shape`, between min and max; the errors name the variable. */
function numberVar(
  env: Env,
  name: string,
  fallback: number,
  min: number,
  max: number,
  shape: RegExp,
  expected: string,
): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!shape.test(raw)) throw new ConfigError(name, `expected ${expected}, got ${JSON.stringify(raw)}`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

export function boolVar(env: Env, name: string, fallback: boolean): boolean {
  const raw = read(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(name, `expected true or false, got ${JSON.stringify(raw)}`);
}

export function readVar(env: Env, name: string): string | undefined {
  return read(env, name);
}

export function stringVar(env: Env, name: string, fallback: string): string {
  return read(env, name) ?? fallback;
}

export function kindListVar(env: Env, name: string, fallback: readonly number[]): readonly number[] {
  const raw = env[name];
  if (raw === undefined) return fallback;
  if (raw.trim() === '') return [];
  return raw.split(',').map((part) => {
    const s = part.trim();
    if (!/^\d+$/.test(s) || Number(s) > 65535)
      throw new ConfigError(name, `invalid kind ${JSON.stringify(s)}`);
    return Number(s);
  });
}

/** A duration: "500ms", "30s", "5m", "1h", or plain seconds. Returns milliseconds. */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "500ms", "30s", "2m", "1h", "1m30s", or plain (possibly fractional) seconds. */
export function parseDuration(raw: string, variable: string): number {
  const s = raw.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    part.lastIndex = pos;
    const m = part.exec(s);
    if (!m) {
      throw new ConfigError(
        variable,
        `expected a duration like "500ms", "30s", "2m" or plain seconds, got ${JSON.stringify(raw)}`,
      );
    }
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    pos = part.lastIndex;
  }
  if (pos === 0) throw new ConfigError(variable, `expected a duration, got ${JSON.stringify(raw)}`);
  return Math.round(total);
}

export function durationVar(env: Env, name: string, fallbackMs: number, minMs = 0, maxMs = Infinity): number {
  const raw = read(env, name);
  if (raw === undefined) return fallbackMs;
  const ms = parseDuration(raw, name);
  if (ms < minMs || ms > maxMs) {
    const range = maxMs === Infinity ? `at least ${minMs} ms` : `between ${minMs} ms and ${maxMs} ms`;
    throw new ConfigError(name, `must be ${range}, got ${JSON.stringify(raw)}`);
  }
  return ms;
}

/**
 * The log level from the first of `names` that is set (a service's own variable, then the
 * shared ORLY_LOG_LEVEL), else info.
 */
export function logLevelVar(env: Env, names: string | readonly string[]): LogLevel {
  for (const name of typeof names === 'string' ? [names] : names) {
    const raw = read(env, name)?.toLowerCase();
    if (raw === undefined) continue;
    if (!LOG_LEVELS.includes(raw as LogLevel)) {
      throw new ConfigError(name, `must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(raw)}`);
    }
    return raw as LogLevel;
  }
  return 'info';
}

/** Parses "host:port" (port required); the error names `variable`. */
export function parseListen(value: string, variable: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(value.trim());
  if (!m || Number(m[2]) > 65535) {
    throw new ConfigError(variable, `expected host:port, got ${JSON.stringify(value)}`);
  }
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

/** The address to dial for a listen host: wildcard binds are reached over loopback. */
export function probeHost(host: string): string {
  const h = host.replace(/^\[|\]$/g, '');
  if (h === '' || h === '0.0.0.0') return '127.0.0.1';
  if (h === '::') return '[::1]';
  return h.includes(':') ? `[${h}]` : h;
}

/** host:port to dial for a listen address (wildcards mapped to loopback). */
export function dialAddress(listen: string): string {
  const { host, port } = parseListen(listen, 'address');
  return `${probeHost(host)}:${port}`;
}

/** A validated "host:port" address variable. */
export function listenVar(env: Env, name: string, fallback: string): string {
  const value = read(env, name) ?? fallback;
  parseListen(value, name);
  return value;
}

export function urlVar(env: Env, name: string): string | undefined {
  const raw = read(env, name);
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `not a URL: ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:')
    throw new ConfigError(name, 'must be a ws:// or wss:// URL');
  return raw;
}

export function defaultDataDir(env: Env = process.env): string {
  return join(env.HOME ?? homedir(), '.local', 'share', 'ORLY');
}

export function dataDirVar(env: Env): string {
  return read(env, 'ORLY_DATA_DIR') ?? defaultDataDir(env);
}
