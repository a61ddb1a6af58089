/**
 * orly-acl's write-policy RPCs, over the policy started beside it (ORLY's policy file and/or the
 * strfry plugin: src/acl/policy/write-policy-config.ts):
 * - CheckPolicy "write": the policy's verdict on the event (the relay asks after CheckAccess
 *   allowed it), as action + msg; "read": may the requester be served this stored event (its
 *   read scope, src/protocol/read-scope.ts). No policy: accept.
 * - GetReadPolicy: the policy file's read side, versioned, for the relays' copies: the policy
 *   JSON, the service's extra owners and the policy admins' follows. A new version whenever the
 *   policy (a hot reload) or the follows change.
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { Requester } from '../../acl/access-control.js';
import { serializePolicyDocument } from '../../acl/policy/orly/policy-document.js';
import type { CompiledPolicy } from '../../acl/policy/orly/policy-rules.js';
import { POLICY_UPDATE_KIND } from '../../acl/policy/orly/policy-rules.js';
import type { PluginInput, PluginSource } from '../../acl/policy/plugin-protocol.js';
import type { StartedPolicy } from '../../acl/policy/write-policy-config.js';
import { verifySchnorr } from '../../crypto/schnorr.js';
import { Reasons, reason } from '../../errors.js';
import type {
  CheckPolicyRequest,
  CheckPolicyResponse,
  ReadPolicyResponse,
} from '../../gen/orlyacl/v1/acl.js';
import type { NostrEvent } from '../../protocol/event.js';
import { isVisibleTo } from '../../protocol/visibility.js';
import { BadRequest } from './unary.js';

const SOURCES: ReadonlySet<string> = new Set<PluginSource>([
  'IP4',
  'IP6',
  'Import',
  'Stream',
  'Sync',
  'Stored',
]);
/** Follows sent to a relay, at most (the rest are not whitelisted there; logged). */
export const MAX_SENT_FOLLOWS = 100_000;

export const PolicyReasons = {
  notReadable: reason('restricted', 'this event is not readable under the relay policy'),
} as const;

/** CheckPolicy for an event already parsed and id-checked. */
export async function checkPolicy(
  started: StartedPolicy | undefined,
  req: CheckPolicyRequest,
  event: NostrEvent,
  requester: Requester,
): Promise<CheckPolicyResponse> {
  if (req.action === 'read') {
    const scope = started?.policy.readScope?.(requester);
    if (scope === undefined) return { action: 'accept', msg: '' };
    if (scope.refused !== undefined) return { action: 'reject', msg: scope.refused };
    if (scope.hiddenKinds.has(event.kind)) return { action: 'reject', msg: PolicyReasons.notReadable };
    if ((scope.allInvolved || scope.involvedKinds.has(event.kind)) && !isVisibleTo(event, requester.authed))
      return { action: 'reject', msg: PolicyReasons.notReadable };
    return { action: 'accept', msg: '' };
  }
  if (req.action !== 'write')
    throw new BadRequest(`unknown action ${JSON.stringify(req.action)} (expected "write" or "read")`);
  if (started === undefined) return { action: 'accept', msg: '' };
  // A policy update changes who may do what: its signature is checked here too, not only by the relay.
  if (event.kind === POLICY_UPDATE_KIND && !verifySchnorr(event.id, event.pubkey, event.sig))
    return { action: 'reject', msg: Reasons.badSignature };
  if (req.sourceType !== '' && !SOURCES.has(req.sourceType))
    throw new BadRequest(`unknown source_type ${JSON.stringify(req.sourceType).slice(0, 40)}`);
  const authed = requester.authed.values().next();
  const sourceType =
    req.sourceType !== '' ? (req.sourceType as PluginSource) : isIP(requester.ip) === 6 ? 'IP6' : 'IP4';
  const input: PluginInput = {
    event,
    receivedAt: req.receivedAt > 0 ? Math.min(req.receivedAt, 2 ** 32) : Math.floor(Date.now() / 1000),
    sourceType,
    sourceInfo: req.sourceType === '' ? requester.ip : req.sourceInfo.slice(0, 2048),
    ...(authed.done ? {} : { authed: authed.value }),
  };
  const verdict = await started.policy.decide(input);
  return { action: verdict.action, msg: 'msg' in verdict ? (verdict.msg ?? '') : '' };
}

interface Snapshot {
  readonly compiled: CompiledPolicy;
  readonly follows: ReadonlySet<string>;
  readonly version: string;
  readonly answer: ReadPolicyResponse;
}

/** GetReadPolicy, versioned (see the file comment). */
export class ReadPolicySource {
  private readonly epoch = randomBytes(6).toString('hex');
  private counter = 0;
  private last: Snapshot | undefined;

  constructor(private readonly started: StartedPolicy | undefined) {}

  answer(knownVersion: string): ReadPolicyResponse {
    const file = this.started?.file;
    if (file === undefined) {
      const version = `${this.epoch}-none`;
      return knownVersion === version
        ? { version, unchanged: true, enabled: false, policyJson: '', extraOwners: [], follows: [] }
        : { version, unchanged: false, enabled: false, policyJson: '', extraOwners: [], follows: [] };
    }
    const side = file.readSide();
    let last = this.last;
    if (last === undefined || last.compiled !== side.compiled || last.follows !== side.follows) {
      const follows: string[] = [];
      for (const pubkey of side.follows) {
        if (follows.length === MAX_SENT_FOLLOWS) break;
        follows.push(pubkey);
      }
      const version = `${this.epoch}-${++this.counter}`;
      last = {
        compiled: side.compiled,
        follows: side.follows,
        version,
        answer: {
          version,
          unchanged: false,
          enabled: true,
          policyJson: serializePolicyDocument(side.compiled.document),
          extraOwners: [...side.extraOwners],
          follows,
        },
      };
      this.last = last;
    }
    if (knownVersion === last.version)
      return {
        version: last.version,
        unchanged: true,
        enabled: true,
        policyJson: '',
        extraOwners: [],
        follows: [],
      };
    return last.answer;
  }
}
