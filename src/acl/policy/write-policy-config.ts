/**
 * The write policies' configuration, parsed once, and the one way to start them:
 *
 *   ORLY_WRITE_POLICY_PLUGIN   (none)   a strfry write-policy plugin: a script path, or a shell command line
 *   ORLY_WRITE_POLICY_TIMEOUT  10s      how long one event may wait for a plugin's (or policy script's) answer
 *   ORLY_POLICY_ENABLED        false    ORLY's policy file
 *   ORLY_POLICY_PATH           ~/.config/ORLY/policy.json   (absolute)
 *
 * The relay (local mode) and orly-acl (split mode) start both (startEventPolicy); `orly import`,
 * `orly sync` and orly-sync-negentropy run only the plugin (startWritePolicy): ORLY's policy
 * file decides about submitters (NIP-42 identities), which those paths do not have. A command
 * that cannot be run, or a policy file that is missing or invalid, stops start-up with a
 * ConfigError naming the variable.
 */
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { boolVar, ConfigError, durationVar, type Env, readVar } from '../../config/env.js';
import type { Logger } from '../../logger.js';
import type { ClientStore, StateStore } from '../../store/event-store.js';
import { OrlyPolicy } from './orly/orly-policy.js';
import type { WritePolicy } from './plugin-protocol.js';
import { PolicyChain } from './policy-chain.js';
import { WritePolicyPlugin } from './write-plugin.js';

export interface WritePolicyConfig {
  /** ORLY_WRITE_POLICY_PLUGIN: the command (a script path, or a shell command line); unset = none. */
  plugin?: string;
  /** ORLY_WRITE_POLICY_TIMEOUT: how long one event may wait for the plugin's answer. */
  timeoutMs: number;
  /** ORLY_POLICY_PATH when ORLY_POLICY_ENABLED; unset = no policy file. */
  policyFile?: string;
}

export function loadWritePolicyConfig(env: Env): WritePolicyConfig {
  const config: WritePolicyConfig = {
    plugin: readVar(env, 'ORLY_WRITE_POLICY_PLUGIN')?.trim() || undefined,
    timeoutMs: durationVar(env, 'ORLY_WRITE_POLICY_TIMEOUT', 10_000, 100, 600_000),
  };
  if (boolVar(env, 'ORLY_POLICY_ENABLED', false)) {
    const path =
      readVar(env, 'ORLY_POLICY_PATH') ?? join(env.HOME ?? homedir(), '.config', 'ORLY', 'policy.json');
    if (!isAbsolute(path))
      throw new ConfigError('ORLY_POLICY_PATH', `must be an absolute path, got ${JSON.stringify(path)}`);
    config.policyFile = path;
  }
  return config;
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

export interface EventPolicyDeps {
  /** Where the policy file reads the admins' follow lists and keeps its update state (required with one). */
  readonly store: (Pick<ClientStore, 'query'> & Pick<StateStore, 'getState' | 'putState'>) | undefined;
  /** ORLY_OWNERS: they may update the policy besides the file's owners. */
  readonly owners: readonly string[];
}

/** What startEventPolicy started: the policy to ask, and the policy file (its read side) when enabled. */
export interface StartedPolicy {
  readonly policy: WritePolicy;
  readonly file: OrlyPolicy | undefined;
}

/** The policy file (when enabled) and the plugin (when configured), chained; undefined when neither. */
export async function startEventPolicy(
  config: WritePolicyConfig,
  logger: Logger,
  deps: EventPolicyDeps,
): Promise<StartedPolicy | undefined> {
  let file: OrlyPolicy | undefined;
  if (config.policyFile !== undefined) {
    if (deps.store === undefined)
      throw new ConfigError('ORLY_POLICY_ENABLED', 'the policy file needs a store');
    try {
      file = await OrlyPolicy.open({
        path: config.policyFile,
        extraOwners: deps.owners,
        store: deps.store,
        logger,
        scriptTimeoutMs: config.timeoutMs,
      });
    } catch (err) {
      throw new ConfigError('ORLY_POLICY_PATH', (err as Error).message);
    }
  }
  let plugin: WritePolicyPlugin | undefined;
  try {
    plugin = await startWritePolicy(config, logger);
  } catch (err) {
    await file?.stop();
    throw err;
  }
  if (file !== undefined) return { policy: new PolicyChain(file, plugin), file };
  return plugin === undefined ? undefined : { policy: plugin, file: undefined };
}
