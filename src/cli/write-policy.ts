/**
 * `orly import` and `orly sync` under the relay's write policy: with ORLY_WRITE_POLICY_PLUGIN
 * set, every valid event is put to the strfry plugin (sourceType `Import`, or `Sync` with the
 * peer's URL) before it is saved, so neither can bring in what the relay would refuse.
 */
import { type Admission, admissionOf, type PluginSource } from '../acl/policy/plugin-protocol.js';
import { loadWritePolicyConfig, startWritePolicy } from '../acl/policy/write-policy-config.js';
import type { Env } from '../config/env.js';
import { createLogger } from '../logger.js';
import { type NostrEvent, nowSeconds } from '../protocol/event.js';

export interface CliWritePolicy {
  admit(event: NostrEvent): Promise<Admission>;
  stop(): Promise<void>;
}

/** The plugin as a command's `admit`, started; undefined without ORLY_WRITE_POLICY_PLUGIN. */
export async function cliWritePolicy(
  env: Env,
  log: (line: string) => void,
  sourceType: PluginSource,
  sourceInfo = '',
): Promise<CliWritePolicy | undefined> {
  const config = loadWritePolicyConfig(env);
  const plugin = await startWritePolicy(config, createLogger('warn', 'orly'));
  if (plugin === undefined) return undefined;
  log(`write policy: ${config.plugin}`);
  return {
    admit: async (event) =>
      admissionOf(await plugin.decide({ event, receivedAt: nowSeconds(), sourceType, sourceInfo })),
    stop: () => plugin.stop(),
  };
}
