/**
 * `orly import` and `orly sync` under the relay's write policy: with ORLY_WRITE_POLICY_PLUGIN
 * set, every valid event is put to the strfry plugin (sourceType `Import`, or `Sync` with the
 * peer's URL) before it is saved, so neither can bring in what the relay would refuse.
 */
import { type Admission, admissionOf, type PluginSource } from '../acl/policy/plugin-protocol.js';
import { WritePolicyPlugin } from '../acl/policy/write-plugin.js';
import { ConfigError, type Env } from '../config/env.js';
import { createLogger } from '../logger.js';
import { type NostrEvent, nowSeconds } from '../protocol/event.js';
import { loadWritePolicyConfig } from '../relay/config.js';

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
  const { plugin: command, timeoutMs } = loadWritePolicyConfig(env);
  if (command === undefined) return undefined;
  const plugin = new WritePolicyPlugin({ command, timeoutMs, logger: createLogger('warn', 'orly') });
  try {
    await plugin.start();
  } catch (err) {
    throw new ConfigError('ORLY_WRITE_POLICY_PLUGIN', (err as Error).message);
  }
  log(`write policy: ${command}`);
  return {
    admit: async (event) =>
      admissionOf(await plugin.decide({ event, receivedAt: nowSeconds(), sourceType, sourceInfo })),
    stop: () => plugin.stop(),
  };
}
