/**
 * orly-acl's management side: Manage (one NIP-86 call), GetRelayInfo and GetReadRestrictions,
 * over the AccessControl the service holds. Outcomes are fields (`result_json` | `error`); a
 * gRPC status means the call was not run.
 *
 * - Manage: `method` 1-64 characters, `params_json` a JSON array of at most 64 KiB, `caller` 64
 *   lowercase hex (else INVALID_ARGUMENT naming the field). A mode without management answers
 *   `error: "ACL mode X has no management API"`. The relay checked that the caller is an owner
 *   or admin; this service checks it again against its own lists (PERMISSION_DENIED), so a
 *   client holding the token cannot act for someone else's pubkey. A result too large for one
 *   message (ORLY_GRPC_MAX_MESSAGE_SIZE) is answered as an error, not sent.
 * - GetReadRestrictions: the mode's readRestrictions() (none: empty lists). Each change (the
 *   mode returns other sets) gets a new version `<random epoch>-<n>`; a caller naming the current
 *   one is answered `unchanged` without the lists, so relays polling every few seconds move the
 *   lists only after a change. At most MAX_HIDDEN authors, and no more than fit in one message;
 *   beyond that the first ones are sent and a warning logged (once per version).
 */
import { randomBytes } from 'node:crypto';
import type { AccessControl, ReadRestrictions } from '../../acl/access-control.js';
import type {
  ManageRequest,
  ManageResponse,
  ReadRestrictionsResponse,
  RelayInfoResponse,
} from '../../gen/orlyacl/v1/acl.js';
import type { Logger } from '../../logger.js';
import { isHex64 } from '../../protocol/event.js';
import { BadRequest, Forbidden } from './unary.js';

export const MAX_METHOD_CHARS = 64;
export const MAX_PARAMS_BYTES = 64 * 1024;
/** The most hidden authors one GetReadRestrictions answer carries. */
export const MAX_HIDDEN = 100_000;
/** Bytes one hex pubkey takes in a repeated string field (tag, length, 64 characters). */
const ENTRY_BYTES = 66;
/** Room left in a message for everything but the entries. */
const MESSAGE_MARGIN = 4096;

const errorOutcome = (value: string): ManageResponse => ({ outcome: { $case: 'error', value } });

export async function manage(
  acl: AccessControl,
  req: ManageRequest,
  maxMessageBytes: number,
  logger?: Logger,
): Promise<ManageResponse> {
  if (req.method === '' || req.method.length > MAX_METHOD_CHARS)
    throw new BadRequest(`method must be 1-${MAX_METHOD_CHARS} characters`);
  if (Buffer.byteLength(req.paramsJson) > MAX_PARAMS_BYTES)
    throw new BadRequest(`params_json is over ${MAX_PARAMS_BYTES} bytes`);
  let params: unknown;
  try {
    params = JSON.parse(req.paramsJson);
  } catch {
    throw new BadRequest('params_json is not valid JSON');
  }
  if (!Array.isArray(params)) throw new BadRequest('params_json must be a JSON array');
  if (!isHex64(req.caller)) throw new BadRequest('caller must be 64 lowercase hex');
  const management = acl.management;
  if (management === undefined) return errorOutcome(`ACL mode ${acl.mode} has no management API`);
  const level = await acl.accessLevel(req.caller, '');
  if (level !== 'owner' && level !== 'admin')
    throw new Forbidden('caller is not an owner or admin of this ACL (ORLY_OWNERS, ORLY_ADMINS of orly-acl)');
  const outcome = await management.manage(req.method, params, req.caller);
  if ('error' in outcome) return errorOutcome(outcome.error);
  const json = JSON.stringify(outcome.result ?? null);
  const bytes = Buffer.byteLength(json);
  if (bytes > maxMessageBytes - MESSAGE_MARGIN) {
    logger?.warn({ method: req.method, bytes }, 'management result too large for one gRPC message');
    return errorOutcome(
      `${req.method}: the result (${bytes} bytes) is larger than one gRPC message (ORLY_GRPC_MAX_MESSAGE_SIZE)`,
    );
  }
  logger?.info({ method: req.method, by: req.caller }, 'management call');
  return { outcome: { $case: 'resultJson', value: json } };
}

export async function relayInfo(acl: AccessControl): Promise<RelayInfoResponse> {
  const info = (await acl.management?.relayInfo()) ?? {};
  return {
    ...(info.name === undefined ? {} : { name: info.name }),
    ...(info.description === undefined ? {} : { description: info.description }),
    ...(info.icon === undefined ? {} : { icon: info.icon }),
  };
}

const NONE: ReadRestrictions = { hidden: new Set(), exempt: new Set() };

interface Version {
  readonly of: ReadRestrictions;
  readonly version: string;
  readonly hiddenAuthors: string[];
  readonly exemptPubkeys: string[];
}

/** GetReadRestrictions: the mode's restrictions, versioned (see the file comment). */
export class ReadRestrictionsSource {
  private readonly epoch = randomBytes(6).toString('hex');
  private counter = 0;
  private last: Version | undefined;

  constructor(
    private readonly acl: AccessControl,
    private readonly maxMessageBytes: number,
    private readonly logger?: Logger,
  ) {}

  answer(knownVersion: string): ReadRestrictionsResponse {
    const current = this.current();
    if (knownVersion === current.version)
      return { version: current.version, unchanged: true, hiddenAuthors: [], exemptPubkeys: [] };
    return {
      version: current.version,
      unchanged: false,
      hiddenAuthors: current.hiddenAuthors,
      exemptPubkeys: current.exemptPubkeys,
    };
  }

  private current(): Version {
    const now = this.acl.readRestrictions?.() ?? NONE;
    const last = this.last;
    if (last !== undefined && last.of.hidden === now.hidden && last.of.exempt === now.exempt) return last;
    const exemptPubkeys = [...now.exempt];
    const room = Math.floor((this.maxMessageBytes - MESSAGE_MARGIN) / ENTRY_BYTES) - exemptPubkeys.length;
    const cap = Math.max(0, Math.min(MAX_HIDDEN, room));
    const hiddenAuthors: string[] = [];
    for (const pubkey of now.hidden) {
      if (hiddenAuthors.length === cap) break;
      hiddenAuthors.push(pubkey);
    }
    if (hiddenAuthors.length < now.hidden.size)
      this.logger?.warn(
        { hidden: now.hidden.size, sent: cap, max: MAX_HIDDEN },
        'too many hidden authors for the relays: only the first ones are hidden there',
      );
    this.last = { of: now, version: `${this.epoch}-${++this.counter}`, hiddenAuthors, exemptPubkeys };
    return this.last;
  }
}
