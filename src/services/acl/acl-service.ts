/**
 * The orlyacl.v1.ACLService server: an AccessControl (any mode) exposed over gRPC.
 *
 * Decisions travel as fields (`allowed`, `reason`, `level`, `ok`/`message`), never as error
 * text: a gRPC error status means "could not decide" (bad request, internal failure), and the
 * client treats it as a denial (fail closed).
 *
 * - CheckAccess: the event JSON is parsed and its shape and id checked (a malformed event is
 *   answered `allowed=false, reason="invalid: ..."`), then `checkEvent(event, requester)`;
 *   when allowed, `writeDelayMs` (follows mode's throttle) gives `delay_ms`.
 *   The signature is not re-verified: the relay verified it before asking, and a decision
 *   grants nothing by itself (orly-acl stores nothing); callers are authenticated by the
 *   transport (ORLY_GRPC_TOKEN / mutual TLS).
 * - CheckPolicy, GetReadPolicy: the write policy running beside the service (policy-calls.ts);
 *   unknown actions = INVALID_ARGUMENT.
 * - GetAccessLevel: empty pubkey = unauthenticated.
 * - Configure: non-empty owners/admins lists replace the current ones (hex or npub), then the
 *   derived state is reloaded; `reload` alone just reloads. Changing owners is a privilege
 *   change, so it is logged at warn level; protect the port like orly-db's (token / mTLS).
 * - GetType: the mode and whether it has a management API. Ready: `isReady()` (by default true:
 *   the server is only started after the ACL finished its initial load).
 * - Manage, GetRelayInfo, GetReadRestrictions: management-calls.ts.
 */

import type { AccessControl, Requester } from '../../acl/access-control.js';
import type { StartedPolicy } from '../../acl/policy/write-policy-config.js';
import { parsePubkey } from '../../acl/pubkeys.js';
import { Reasons } from '../../errors.js';
import type {
  ACLServiceServer,
  CheckAccessResponse,
  ConfigureResponse,
  Requester as WireRequester,
} from '../../gen/orlyacl/v1/acl.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../../grpc/security.js';
import type { Logger } from '../../logger.js';
import { checkEventShape, computeEventId, isHex64, type NostrEvent } from '../../protocol/event.js';
import { manage, ReadRestrictionsSource, relayInfo } from './management-calls.js';
import { checkPolicy, ReadPolicySource } from './policy-calls.js';
import { BadRequest, unary } from './unary.js';

export interface AclServiceOptions {
  readonly isReady?: () => boolean;
  readonly logger?: Logger;
  /** The largest message to send (ORLY_GRPC_MAX_MESSAGE_SIZE); default DEFAULT_MAX_MESSAGE_BYTES. */
  readonly maxMessageBytes?: number;
  /** ORLY's policy file and/or the strfry plugin (ORLY_POLICY_*, ORLY_WRITE_POLICY_*), started. */
  readonly policy?: StartedPolicy;
}

function parseEvent(json: string): { event: NostrEvent } | { reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return { reason: Reasons.eventNotJson };
  }
  const problem = checkEventShape(value);
  if (problem) return { reason: Reasons.badShape(problem) };
  const event = value as NostrEvent;
  if (computeEventId(event) !== event.id) {
    return { reason: Reasons.badId };
  }
  return { event };
}

function toRequester(wire: WireRequester | undefined): Requester {
  const authed = new Set<string>();
  for (const pk of wire?.authedPubkeys ?? []) {
    if (!isHex64(pk)) throw new BadRequest('requester.authed_pubkeys must be 64 lowercase hex');
    authed.add(pk);
  }
  return { authed, ip: wire?.ip ?? '' };
}

function parseList(values: readonly string[], field: string): string[] {
  return values.map((v) => {
    try {
      return parsePubkey(v);
    } catch (err) {
      throw new BadRequest(`${field}: invalid pubkey ${JSON.stringify(v)}: ${(err as Error).message}`);
    }
  });
}

export function aclService(acl: AccessControl, options: AclServiceOptions = {}): ACLServiceServer {
  const { logger } = options;
  const isReady = options.isReady ?? (() => true);
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const restrictions = new ReadRestrictionsSource(acl, maxMessageBytes, logger);
  const readPolicy = new ReadPolicySource(options.policy);

  const check = async (eventJson: string, wire: WireRequester | undefined): Promise<CheckAccessResponse> => {
    const requester = toRequester(wire);
    const parsed = parseEvent(eventJson);
    if ('reason' in parsed) return { allowed: false, reason: parsed.reason, delayMs: 0 };
    const reason = await acl.checkEvent(parsed.event, requester);
    if (reason !== undefined) return { allowed: false, reason, delayMs: 0 };
    const delay = (await acl.writeDelayMs?.(parsed.event, requester)) ?? 0;
    return { allowed: true, reason: '', delayMs: Math.max(0, Math.min(0xffffffff, Math.round(delay))) };
  };

  return {
    ready: unary(logger, 'Ready', () => ({ ready: isReady() })),
    checkAccess: unary(logger, 'CheckAccess', (req) => check(req.eventJson, req.requester)),
    checkPolicy: unary(logger, 'CheckPolicy', (req) => {
      const requester = toRequester(req.requester);
      const parsed = parseEvent(req.eventJson);
      if ('reason' in parsed) return { action: 'reject', msg: parsed.reason };
      return checkPolicy(options.policy, req, parsed.event, requester);
    }),
    getReadPolicy: unary(logger, 'GetReadPolicy', (req) => readPolicy.answer(req.knownVersion)),
    getAccessLevel: unary(logger, 'GetAccessLevel', async (req) => {
      if (req.pubkey !== '' && !isHex64(req.pubkey)) throw new BadRequest('pubkey must be 64 lowercase hex');
      const level = await acl.accessLevel(req.pubkey === '' ? undefined : req.pubkey, req.ip);
      return { level };
    }),
    configure: unary(logger, 'Configure', async (req): Promise<ConfigureResponse> => {
      if (!acl.configure) return { ok: false, message: `ACL mode ${acl.mode} cannot be configured` };
      const owners = req.owners.length > 0 ? parseList(req.owners, 'owners') : undefined;
      const admins = req.admins.length > 0 ? parseList(req.admins, 'admins') : undefined;
      if (owners || admins) logger?.warn({ owners, admins }, 'owners/admins replaced over gRPC Configure');
      try {
        await acl.configure({
          ...(owners ? { owners } : {}),
          ...(admins ? { admins } : {}),
          reload: req.reload,
        });
      } catch (err) {
        return { ok: false, message: `reload failed: ${(err as Error).message}` };
      }
      return { ok: true, message: '' };
    }),
    getType: unary(logger, 'GetType', () => ({
      mode: acl.mode,
      hasManagement: acl.management !== undefined,
      hasWritePolicy: options.policy !== undefined,
    })),
    manage: unary(logger, 'Manage', (req) => manage(acl, req, maxMessageBytes, logger)),
    getRelayInfo: unary(logger, 'GetRelayInfo', () => relayInfo(acl)),
    getReadRestrictions: unary(logger, 'GetReadRestrictions', (req) => restrictions.answer(req.knownVersion)),
  };
}
