/**
 * strfry's write-policy plugin protocol (docs/plugins.md in hoytech/strfry): the JSON line sent to
 * the plugin for each event, the parsing of its answer lines, and the verdicts handed back to the
 * caller. The process handling is in plugin-process.ts, the runner in write-plugin.ts.
 */
import { type Prefix, reason } from '../../errors.js';
import type { NostrEvent } from '../../protocol/event.js';
import type { ReadScope } from '../../protocol/read-scope.js';

/** strfry's `sourceType` values. */
export type PluginSource = 'IP4' | 'IP6' | 'Import' | 'Stream' | 'Sync' | 'Stored';

export interface PluginInput {
  readonly event: NostrEvent;
  /** Unix seconds when the relay received the event. */
  readonly receivedAt: number;
  readonly sourceType: PluginSource;
  /** The client's IP address for IP4/IP6, the peer relay's URL for Stream/Sync, '' otherwise. */
  readonly sourceInfo: string;
  /** The pubkey (hex) the connection authenticated as with NIP-42; absent when it did not. */
  readonly authed?: string;
}

/**
 * The plugin's decision. `reject`'s msg is a complete NIP-01 OK message ('blocked: ' put in front
 * when the plugin gave none of the known prefixes). `error`: no decision could be had (the plugin
 * is down, restarting, hung, timed out, answered garbage, or too many events are in flight); its
 * msg is the complete OK message ('error: …', or 'rate-limited: …' when too many events are in
 * flight) and the caller answers OK false with it, never accepting the event.
 */
export type PluginVerdict =
  | { readonly action: 'accept'; readonly msg?: string }
  | { readonly action: 'reject'; readonly msg: string }
  | { readonly action: 'shadowReject' }
  | { readonly action: 'error'; readonly msg: string };

/** Whether a write path (import, sync) stores an event: a policy's verdict without the protocol. */
export type Admission = { readonly store: true } | { readonly store: false; readonly reason?: string };

/** A verdict as an Admission: no reason = dropped silently (shadowReject). */
export function admissionOf(verdict: PluginVerdict): Admission {
  if (verdict.action === 'accept') return { store: true };
  if (verdict.action === 'shadowReject') return { store: false };
  return { store: false, reason: verdict.msg };
}

/**
 * A write policy as the relay holds it: the strfry plugin runner (write-plugin.ts), ORLY's policy
 * file (orly/), their chain and the orly-acl client all speak it.
 */
export interface WritePolicy {
  /**
   * The verdict on one event; never rejects, never accepts without the policy's answer. An
   * accept may carry the OK message (e.g. "policy configuration updated").
   */
  decide(input: PluginInput): Promise<PluginVerdict>;
  /**
   * What this reader may see (ORLY's read_allow / read_deny / privileged); undefined = no
   * restriction. Synchronous: the query paths ask it per REQ, COUNT, NEG-OPEN and live event.
   */
  readScope?(reader: { readonly authed: ReadonlySet<string> }): ReadScope | undefined;
  stop(): Promise<void>;
}

export const PluginErrors = {
  notRunning: reason('error', 'write-policy plugin is not running'),
  stopped: reason('error', 'write-policy plugin stopped'),
  timedOut: reason('error', 'write-policy plugin timed out'),
  restarted: reason('error', 'write-policy plugin was restarted'),
  exited: reason('error', 'write-policy plugin exited'),
  badAnswer: reason('error', 'write-policy plugin gave an invalid answer'),
  busy: reason('rate-limited', 'write-policy plugin is busy, try again later'),
} as const;

/**
 * The input line's shape: strfry's (`{type, event, receivedAt, sourceType, sourceInfo, authed}`)
 * or ORLY's policy scripts' (the event's own fields plus `logged_in_pubkey`, `ip_address`,
 * `access_type`). The answer line is the same for both.
 */
export type InputFormat = 'strfry' | 'orly';

/** The line written to the plugin's stdin (JSON.stringify escapes every newline inside). */
export function encodeInput(input: PluginInput, format: InputFormat = 'strfry'): string {
  if (format === 'orly') {
    const line: Record<string, unknown> = { ...input.event, access_type: 'write' };
    if (input.authed !== undefined) line.logged_in_pubkey = input.authed;
    if (input.sourceType === 'IP4' || input.sourceType === 'IP6') line.ip_address = input.sourceInfo;
    return `${JSON.stringify(line)}\n`;
  }
  const line: Record<string, unknown> = {
    type: 'new',
    event: input.event,
    receivedAt: input.receivedAt,
    sourceType: input.sourceType,
    sourceInfo: input.sourceInfo,
  };
  if (input.authed !== undefined) line.authed = input.authed;
  return `${JSON.stringify(line)}\n`;
}

const KNOWN_PREFIXES: ReadonlySet<string> = new Set<Prefix>([
  'duplicate',
  'pow',
  'blocked',
  'rate-limited',
  'invalid',
  'restricted',
  'auth-required',
  'mute',
  'error',
  'unsupported',
]);

/** The longest reject message passed on to the client (characters). */
export const MAX_MSG_CHARS = 1024;

/** A plugin's reject msg as an OK message: 'blocked: ' in front unless it has a known prefix. */
export function rejectMessage(msg: string): string {
  const text = msg.length > MAX_MSG_CHARS ? msg.slice(0, MAX_MSG_CHARS) : msg;
  if (text.trim() === '') return reason('blocked', 'rejected by write policy');
  const colon = text.indexOf(':');
  if (colon > 0 && KNOWN_PREFIXES.has(text.slice(0, colon))) return text;
  return reason('blocked', text);
}

export type ParsedLine =
  | { readonly kind: 'notJson' }
  | { readonly kind: 'invalid'; readonly id?: string; readonly detail: string }
  | { readonly kind: 'answer'; readonly id: string; readonly verdict: PluginVerdict };

/** One line of the plugin's stdout. */
export function parseAnswer(line: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { kind: 'notJson' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { kind: 'invalid', detail: 'not a JSON object' };
  }
  const answer = value as Record<string, unknown>;
  if (typeof answer.id !== 'string') return { kind: 'invalid', detail: 'no string "id"' };
  const id = answer.id;
  const msg = answer.msg;
  if (msg !== undefined && msg !== null && typeof msg !== 'string') {
    return { kind: 'invalid', id, detail: '"msg" is not a string' };
  }
  switch (answer.action) {
    case 'accept':
      return { kind: 'answer', id, verdict: { action: 'accept' } };
    case 'reject':
      return { kind: 'answer', id, verdict: { action: 'reject', msg: rejectMessage(msg ?? '') } };
    case 'shadowReject':
      return { kind: 'answer', id, verdict: { action: 'shadowReject' } };
    default:
      return {
        kind: 'invalid',
        id,
        detail:
          answer.action === undefined
            ? 'no "action"'
            : `unknown action ${JSON.stringify(answer.action).slice(0, 64)}`,
      };
  }
}
