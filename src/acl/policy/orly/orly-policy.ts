/**
 * ORLY's policy file at run time (ORLY_POLICY_ENABLED, ORLY_POLICY_PATH): the WritePolicy that
 * decides EVENTs by the file's rules (policy-rules.ts), runs the rules' scripts (ORLY's script
 * protocol, through the same runner as strfry plugins), applies `rate_limit`, keeps the policy
 * admins' follows, tells the query paths each reader's ReadScope, and takes owners' hot reloads.
 *
 * Hot reload (kind 12345, content = the whole new policy): signed by an owner (the signature
 * was verified before the policy is asked; ORLY compared only the pubkey), validated
 * (policy-update.ts), scripts of the new policy started, the file rewritten atomically, then the
 * new policy swapped in at once (one reference: an EVENT is decided wholly by the old or wholly by
 * the new). Updates are applied one at a time. Replays are refused: an update must be newer than
 * the last one applied (kept in the store's state, so a restart keeps the rule) and no more than
 * UPDATE_WINDOW_S from now. The update event is then stored like any event (it is hidden from
 * readers who are not owners or policy admins: readScope).
 */

import { reason } from '../../../errors.js';
import type { Logger } from '../../../logger.js';
import type { NostrEvent } from '../../../protocol/event.js';
import { serializeEvent } from '../../../protocol/event.js';
import type { ReadScope } from '../../../protocol/read-scope.js';
import type { ClientStore, StateStore } from '../../../store/event-store.js';
import type { PluginInput, PluginVerdict, WritePolicy } from '../plugin-protocol.js';
import { WritePolicyPlugin } from '../write-plugin.js';
import type { PolicyDocument } from './policy-document.js';
import { readPolicyFile, writePolicyFile } from './policy-file.js';
import { PolicyFollows } from './policy-follows.js';
import { PolicyRateLimiter } from './policy-rate-limit.js';
import {
  type CompiledPolicy,
  checkWrite,
  compilePolicy,
  followsAdmins,
  POLICY_UPDATE_KIND,
  policyScripts,
} from './policy-rules.js';
import { validatePolicyUpdate } from './policy-update.js';
import { ReadScopeCache } from './read-scope-cache.js';

/** How far from now an update's created_at may be (seconds). */
export const UPDATE_WINDOW_S = 600;
/** The state key of the last update applied: `<created_at>:<id>`. */
export const APPLIED_STATE_KEY = 'policy.applied';

export const PolicyMessages = {
  updated: 'policy configuration updated',
  stale: reason('invalid', 'policy: this update is not newer than the policy in force'),
  outOfWindow: reason('invalid', `policy: an update's created_at must be within ${UPDATE_WINDOW_S} s of now`),
  writeFailed: (detail: string) => reason('error', `policy: the policy file could not be written: ${detail}`),
  scriptFailed: (detail: string) => reason('invalid', `policy: ${detail}`),
  rateLimited: (rule: string, bytesPerSecond: number) =>
    reason('rate-limited', `policy: ${rule} allows ${bytesPerSecond} bytes per second`),
} as const;

export interface OrlyPolicyOptions {
  /** ORLY_POLICY_PATH (absolute). */
  readonly path: string;
  /** ORLY_OWNERS: owners besides the file's own. */
  readonly extraOwners: readonly string[];
  /** Where the admins' kind 3 are read and the last applied update is kept. */
  readonly store: Pick<ClientStore, 'query'> & Pick<StateStore, 'getState' | 'putState'>;
  readonly logger: Logger;
  /** Per event, for the rules' scripts (ORLY_WRITE_POLICY_TIMEOUT). */
  readonly scriptTimeoutMs: number;
}

export class OrlyPolicy implements WritePolicy {
  private compiled!: CompiledPolicy;
  private readonly scripts = new Map<string, WritePolicyPlugin>();
  private readonly follows: PolicyFollows;
  private readonly rates = new PolicyRateLimiter();
  private readonly logger: Logger;
  private readonly scopes = new ReadScopeCache();
  /** Updates apply one at a time. */
  private updating: Promise<unknown> = Promise.resolve();

  private constructor(private readonly options: OrlyPolicyOptions) {
    this.logger = options.logger.child({ component: 'policy' });
    this.follows = new PolicyFollows(options.store, this.logger);
  }

  /** Reads the file and starts its scripts; rejects (naming the problem) when either fails. */
  static async open(options: OrlyPolicyOptions): Promise<OrlyPolicy> {
    const policy = new OrlyPolicy(options);
    const doc = await readPolicyFile(options.path);
    const compiled = compilePolicy(doc, options.extraOwners);
    await policy.startScripts(compiled);
    policy.compiled = compiled;
    await policy.follows.load(followsAdmins(compiled));
    policy.logger.info(
      { path: options.path, rules: doc.rules?.size ?? 0, scripts: policy.scripts.size },
      'policy loaded',
    );
    return policy;
  }

  /** The policy in force. */
  get document(): PolicyDocument {
    return this.compiled.document;
  }

  decide(input: PluginInput): Promise<PluginVerdict> {
    if (input.event.kind === POLICY_UPDATE_KIND) {
      const next = this.updating.then(() => this.update(input.event));
      this.updating = next.catch(() => undefined);
      return next;
    }
    return this.decideEvent(input);
  }

  readScope(reader: { readonly authed: ReadonlySet<string> }): ReadScope {
    return this.scopes.scope(this.compiled, this.follows.set, reader.authed);
  }

  /** What orly-acl's GetReadPolicy sends: the policy in force, its extra owners, the follows (by identity: a change is a new object). */
  readSide(): {
    readonly compiled: CompiledPolicy;
    readonly extraOwners: readonly string[];
    readonly follows: ReadonlySet<string>;
  } {
    return { compiled: this.compiled, extraOwners: this.options.extraOwners, follows: this.follows.set };
  }

  async stop(): Promise<void> {
    const all = [...this.scripts.values()];
    this.scripts.clear();
    await Promise.all(all.map((s) => s.stop()));
  }

  private async decideEvent(input: PluginInput): Promise<PluginVerdict> {
    const compiled = this.compiled;
    const { event } = input;
    const size = Buffer.byteLength(serializeEvent(event));
    const decision = checkWrite(compiled, {
      event,
      submitters: input.authed === undefined ? new Set() : new Set([input.authed]),
      now: Math.floor(Date.now() / 1000),
      size,
      follows: this.follows.set,
    });
    if (!decision.allow) return { action: 'reject', msg: decision.reason };
    const nowMs = Date.now();
    for (const limit of decision.rateLimits) {
      if (!this.rates.take(limit.key, event.pubkey, limit.bytesPerSecond, size, nowMs))
        return { action: 'reject', msg: PolicyMessages.rateLimited(limit.key, limit.bytesPerSecond) };
    }
    for (const path of decision.scripts) {
      const script = this.scripts.get(path);
      if (script === undefined)
        return { action: 'error', msg: reason('error', 'policy script is not running') };
      const verdict = await script.decide(input);
      if (verdict.action !== 'accept') return verdict;
    }
    this.follows.offer(event);
    return { action: 'accept' };
  }

  private async update(event: NostrEvent): Promise<PluginVerdict> {
    const checked = validatePolicyUpdate(this.compiled, event, this.options.extraOwners);
    if (!checked.ok) return { action: 'reject', msg: checked.reason };
    const now = Math.floor(Date.now() / 1000);
    if (Math.abs(event.created_at - now) > UPDATE_WINDOW_S)
      return { action: 'reject', msg: PolicyMessages.outOfWindow };
    const applied = await this.options.store.getState(APPLIED_STATE_KEY);
    if (applied !== undefined && !isNewer(event, applied))
      return { action: 'reject', msg: PolicyMessages.stale };
    const compiled = compilePolicy(checked.document, this.options.extraOwners);
    try {
      await this.startScripts(compiled);
    } catch (err) {
      return { action: 'reject', msg: PolicyMessages.scriptFailed((err as Error).message) };
    }
    try {
      await writePolicyFile(this.options.path, checked.document);
      await this.options.store.putState([[APPLIED_STATE_KEY, `${event.created_at}:${event.id}`]]);
    } catch (err) {
      await this.stopScriptsNotIn(this.compiled);
      this.logger.error({ err: (err as Error).message }, 'policy update not applied');
      return { action: 'error', msg: PolicyMessages.writeFailed((err as Error).message) };
    }
    this.compiled = compiled;
    this.rates.clear();
    await this.stopScriptsNotIn(compiled);
    await this.follows.load(followsAdmins(compiled)).catch((err: Error) => {
      this.logger.warn({ err: err.message }, 'policy follows not reloaded');
    });
    this.logger.warn({ by: event.pubkey, id: event.id }, 'policy updated by kind 12345');
    return { action: 'accept', msg: PolicyMessages.updated };
  }

  /** Starts the scripts of `compiled` that are not running yet; on a failure, stops those it started. */
  private async startScripts(compiled: CompiledPolicy): Promise<void> {
    const started: WritePolicyPlugin[] = [];
    for (const path of policyScripts(compiled)) {
      if (this.scripts.has(path)) continue;
      const runner = new WritePolicyPlugin({
        command: path,
        format: 'orly',
        timeoutMs: this.options.scriptTimeoutMs,
        logger: this.logger.child({ script: path }),
      });
      try {
        await runner.start();
      } catch (err) {
        await Promise.all(started.map((s) => s.stop()));
        for (const s of started) for (const [p, r] of this.scripts) if (r === s) this.scripts.delete(p);
        throw new Error(`script ${path} cannot be started: ${(err as Error).message}`);
      }
      started.push(runner);
      this.scripts.set(path, runner);
    }
  }

  private async stopScriptsNotIn(compiled: CompiledPolicy): Promise<void> {
    const keep = new Set(policyScripts(compiled));
    const gone = [...this.scripts].filter(([path]) => !keep.has(path));
    for (const [path] of gone) this.scripts.delete(path);
    await Promise.all(gone.map(([, runner]) => runner.stop()));
  }
}

/** Is `event` newer than the applied `<created_at>:<id>` (same second: the higher id wins)? */
function isNewer(event: NostrEvent, applied: string): boolean {
  const colon = applied.indexOf(':');
  const at = Number(applied.slice(0, colon));
  if (!Number.isFinite(at)) return true;
  if (event.created_at !== at) return event.created_at > at;
  return event.id > applied.slice(colon + 1);
}
