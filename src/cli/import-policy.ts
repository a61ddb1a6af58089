/**
 * `orly import` under the relay's write policy: with ORLY_WRITE_POLICY_PLUGIN set, every valid
 * line is put to the strfry plugin as sourceType `Import` before it is saved (as strfry's own
 * import does with its plugin), so an import cannot bring in what the relay would refuse.
 */
import { WritePolicyPlugin } from '../acl/policy/write-plugin.js';
import { ConfigError, type Env } from '../config/env.js';
import { createLogger } from '../logger.js';
import { nowSeconds } from '../protocol/event.js';
import { loadWritePolicyConfig } from '../relay/config.js';
import type { ImportVerdict } from '../store/import-events.js';

export interface ImportPolicy {
  admit(event: Parameters<WritePolicyPlugin['decide']>[0]['event']): Promise<ImportVerdict>;
  stop(): Promise<void>;
}

/** The plugin as an import's `admit`, started; undefined without ORLY_WRITE_POLICY_PLUGIN. */
export async function importWritePolicy(
  env: Env,
  log: (line: string) => void,
): Promise<ImportPolicy | undefined> {
  const { plugin: command, timeoutMs } = loadWritePolicyConfig(env);
  if (command === undefined) return undefined;
  const plugin = new WritePolicyPlugin({ command, timeoutMs, logger: createLogger('warn', 'orly-import') });
  try {
    await plugin.start();
  } catch (err) {
    throw new ConfigError('ORLY_WRITE_POLICY_PLUGIN', (err as Error).message);
  }
  log(`write policy: ${command}`);
  return {
    async admit(event) {
      const verdict = await plugin.decide({
        event,
        receivedAt: nowSeconds(),
        sourceType: 'Import',
        sourceInfo: '',
      });
      if (verdict.action === 'accept') return { store: true };
      if (verdict.action === 'shadowReject') return { store: false };
      return { store: false, reason: verdict.msg };
    },
    stop: () => plugin.stop(),
  };
}
