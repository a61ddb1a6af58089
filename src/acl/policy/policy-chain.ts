/**
 * The write policies of one process, asked in order: ORLY's policy file (cheap, in process)
 * first, then the strfry plugin (a pipe round trip); the first verdict that is not an accept
 * wins ("first rejection wins"). A policy update (kind 12345) is a message to the policy file
 * and is decided by it alone: a plugin never sees it. The read side is the policy file's.
 */
import type { ReadScope } from '../../protocol/read-scope.js';
import type { OrlyPolicy } from './orly/orly-policy.js';
import { POLICY_UPDATE_KIND } from './orly/policy-rules.js';
import type { PluginInput, PluginVerdict, WritePolicy } from './plugin-protocol.js';

export class PolicyChain implements WritePolicy {
  constructor(
    private readonly file: OrlyPolicy | undefined,
    private readonly plugin: WritePolicy | undefined,
  ) {}

  async decide(input: PluginInput): Promise<PluginVerdict> {
    if (this.file !== undefined) {
      const verdict = await this.file.decide(input);
      if (verdict.action !== 'accept' || input.event.kind === POLICY_UPDATE_KIND) return verdict;
    }
    return this.plugin === undefined ? { action: 'accept' } : this.plugin.decide(input);
  }

  readScope(reader: { readonly authed: ReadonlySet<string> }): ReadScope | undefined {
    return this.file?.readScope(reader);
  }

  async stop(): Promise<void> {
    await Promise.all([this.file?.stop(), this.plugin?.stop()]);
  }
}
