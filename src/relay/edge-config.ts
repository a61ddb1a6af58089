/**
 * The relay's limits at the edge (ORLY_MAX_CONNECTIONS*, ORLY_*_RATE / _BURST*), parsed once
 * with the rest of the relay's configuration (config.ts).
 */
import { decimalVar, type Env, intVar } from '../config/env.js';
import type { Rate } from './rate-limit.js';

/**
 * Limits at the edge (connection-guard.ts): connections in total and per address, upgrades per
 * address, token buckets for EVENT (and AUTH) and for REQ (and COUNT, NEG-OPEN) per connection
 * and per address. 0 turns a limit off; an undefined rate is off.
 */
export interface EdgeLimitsConfig {
  /** ORLY_MAX_CONNECTIONS: open WebSocket connections in total (beyond: HTTP 503). */
  maxConnections: number;
  /** ORLY_MAX_CONNECTIONS_PER_IP: open connections per IPv4 address or IPv6 /64 (beyond: HTTP 429). */
  maxConnectionsPerIp: number;
  /** ORLY_MAX_UPGRADES_PER_MINUTE_PER_IP: new connections per address and minute (beyond: HTTP 429). */
  maxUpgradesPerMinutePerIp: number;
  /** ORLY_EVENT_RATE / ORLY_EVENT_BURST: EVENT and AUTH messages per connection. */
  eventRate?: Rate;
  /** ORLY_EVENT_RATE_PER_IP / ORLY_EVENT_BURST_PER_IP: the same, per address. */
  eventRatePerIp?: Rate;
  /** ORLY_REQ_RATE / ORLY_REQ_BURST: REQ, COUNT and NEG-OPEN messages per connection. */
  reqRate?: Rate;
  /** ORLY_REQ_RATE_PER_IP / ORLY_REQ_BURST_PER_IP: the same, per address. */
  reqRatePerIp?: Rate;
}

/** A token-bucket rate: `rateName` per second (a decimal, 0 = off) with a bucket of `burstName`. */
function rateVars(
  env: Env,
  rateName: string,
  burstName: string,
  defaults: { perSecond: number; burst: number },
): Rate | undefined {
  const perSecond = decimalVar(env, rateName, defaults.perSecond, 0, 1_000_000);
  const burst = intVar(env, burstName, defaults.burst, 1, 100_000_000);
  return perSecond === 0 ? undefined : { perSecond, burst };
}

export function loadEdgeLimitsConfig(env: Env): EdgeLimitsConfig {
  return {
    maxConnections: intVar(env, 'ORLY_MAX_CONNECTIONS', 10_000, 0, 10_000_000),
    maxConnectionsPerIp: intVar(env, 'ORLY_MAX_CONNECTIONS_PER_IP', 20, 0, 10_000_000),
    maxUpgradesPerMinutePerIp: intVar(env, 'ORLY_MAX_UPGRADES_PER_MINUTE_PER_IP', 60, 0, 10_000_000),
    eventRate: rateVars(env, 'ORLY_EVENT_RATE', 'ORLY_EVENT_BURST', { perSecond: 20, burst: 200 }),
    eventRatePerIp: rateVars(env, 'ORLY_EVENT_RATE_PER_IP', 'ORLY_EVENT_BURST_PER_IP', {
      perSecond: 50,
      burst: 500,
    }),
    reqRate: rateVars(env, 'ORLY_REQ_RATE', 'ORLY_REQ_BURST', { perSecond: 20, burst: 100 }),
    reqRatePerIp: rateVars(env, 'ORLY_REQ_RATE_PER_IP', 'ORLY_REQ_BURST_PER_IP', {
      perSecond: 50,
      burst: 300,
    }),
  };
}

/**
 * The environment that turns the per-address and rate limits off, for load that all comes from
 * one address on purpose (the benchmark's load generators, the test suites on 127.0.0.1).
 */
export const ADDRESS_LIMITS_OFF: Readonly<Record<string, string>> = {
  ORLY_MAX_CONNECTIONS_PER_IP: '0',
  ORLY_MAX_UPGRADES_PER_MINUTE_PER_IP: '0',
  ORLY_EVENT_RATE: '0',
  ORLY_EVENT_RATE_PER_IP: '0',
  ORLY_REQ_RATE: '0',
  ORLY_REQ_RATE_PER_IP: '0',
};
