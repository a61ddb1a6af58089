/**
 * The write-policy plugin's configuration (ORLY_WRITE_POLICY_PLUGIN, ORLY_WRITE_POLICY_TIMEOUT),
 * parsed once, and the one way to start it: the relay, `orly import` / `orly sync` and
 * orly-sync-negentropy all call startWritePolicy. A command that cannot be run stops start-up
 * with a ConfigError naming the variable.
 */
import { ConfigError, durationVar, type Env, readVar } from '../../config/env.js';
import type { Logger } from '../../logger.js';
import { WritePolicyPlugin } from './write-plugin.js';

export interface WritePolicyConfig {
  /** ORLY_WRITE_POLICY_PLUGIN: the command (a script path, or a shell command line); unset = none. */
  plugin?: string;
  /** ORLY_WRITE_POLICY_TIMEOUT: how long one event may wait for the plugin's answer. */
  timeoutMs: number;
}

export function loadWritePolicyConfig(env: Env): WritePolicyConfig {
  return {
    plugin: readVar(env, 'ORLY_WRITE_POLICY_PLUGIN')?.trim() || undefined,
    timeoutMs: durationVar(env, 'ORLY_WRITE_POLICY_TIMEOUT', 10_000, 100, 600_000),
  };
}

/** The plugin, started; undefined when none is configured. */
export async function startWritePolicy(
  config: WritePolicyConfig,
  logger: Logger,
): Promise<WritePolicyPlugin | undefined> {
  if (config.plugin === undefined) return undefined;
  const runner = new WritePolicyPlugin({
    command: config.plugin,
    timeoutMs: config.timeoutMs,
    logger: logger.child({ component: 'write-policy' }),
  });
  try {
    await runner.start();
  } catch (err) {
    throw new ConfigError('ORLY_WRITE_POLICY_PLUGIN', (err as Error).message);
  }
  logger.info({ plugin: config.plugin }, 'write-policy plugin started');
  return runner;
}
