/**
 * NegentropyGateway: the relay's side of NIP-77 sessions, whatever answers them. It keeps the
 * client's sessions in the one SessionTable (cap per connection, idle expiry with NEG-ERR
 * "closed: ...", replacement, disconnect) and forwards each step to the NegentropyResponder
 * (in process, or orly-sync-negentropy over gRPC), whose failures reach the client as NEG-ERR
 * "error: ...". The relay's handler only validates the message and the filter (the same checks
 * as a REQ) and routes here.
 *
 * - open(): a NEG-OPEN on an open id closes the old session first, whatever becomes of the new
 *   one. The initial message is parsed (against nothing) before the responder is asked, so
 *   garbage never costs a query; another protocol version is answered with ours and no session.
 *   Beyond ORLY_NEGENTROPY_MAX_SESSIONS -> NEG-ERR "blocked: ...".
 * - message(): NEG-MSG on an unknown id -> NEG-ERR "closed: ..."; before the NEG-OPEN was
 *   answered -> "invalid: ..."; every NEG-ERR closes its session.
 * - close() frees quietly; disconnect() frees every session of a connection.
 */
import { Reasons } from '../errors.js';
import type { NormalizedFilter } from '../protocol/filter.js';
import { negErrFrame, negMsgFrame } from '../protocol/messages.js';
import { isOpenScope, type ReadScope } from '../protocol/read-scope.js';
import { Responder } from './codec/reconcile.js';
import { SealedVector } from './codec/storage.js';
import { fromHex, PROTOCOL_VERSION, toHex } from './codec/types.js';
import { EMPTY_ITEMS } from './item-set.js';
import type { NegentropyResponder, NegReply, NegSessionKey } from './responder.js';
import { SessionTable } from './session-table.js';

/** The client connection as the gateway sees it. */
export interface NegentropyClient {
  readonly id: number;
  readonly ip: string;
  readonly authed: ReadonlySet<string>;
  readonly closed: boolean;
  send(frame: string): boolean;
}

export interface NegentropyGatewayOptions {
  readonly responder: NegentropyResponder;
  /** ORLY_NEGENTROPY_MAX_SESSIONS. */
  readonly maxSessions: number;
  /** ORLY_SYNC_NEGENTROPY_SESSION_TIMEOUT. */
  readonly sessionTimeoutMs: number;
  /** Authors the access-control mode hides from a client (banned, blacklisted): left out of its sets. */
  readonly hiddenAuthors?: (client: Pick<NegentropyClient, 'authed'>) => ReadonlySet<string> | undefined;
  /**
   * What the write policy lets a client read (its hidden kinds, kinds needing involvement);
   * undefined = no restriction. A refusal is answered NEG-ERR with its reason, no session.
   */
  readonly readScope?: (client: Pick<NegentropyClient, 'authed'>) => ReadScope | undefined;
}

export class NegentropyGateway {
  /** The requester field for the client's hidden authors, when there are any. */
  private hiddenFor(client: NegentropyClient): { hiddenAuthors?: ReadonlySet<string> } {
    const hidden = this.options.hiddenAuthors?.(client);
    return hidden === undefined || hidden.size === 0 ? {} : { hiddenAuthors: hidden };
  }

  /** The requester field for the client's read scope, when the write policy restricts it. */
  private scopeFor(client: NegentropyClient): { readScope?: ReadScope } {
    const scope = this.options.readScope?.(client);
    return scope === undefined || isOpenScope(scope) ? {} : { readScope: scope };
  }

  readonly responder: NegentropyResponder;
  private readonly sessions: SessionTable<NegentropyClient, undefined>;

  constructor(private readonly options: NegentropyGatewayOptions) {
    this.responder = options.responder;
    const seconds = Math.round(options.sessionTimeoutMs / 1000);
    this.sessions = new SessionTable({
      idleTimeoutMs: options.sessionTimeoutMs,
      maxPerConnection: options.maxSessions,
      onExpire: (client, subId) => {
        this.responder.close(keyOf(client, subId));
        client.send(negErrFrame(subId, Reasons.negTimedOut(seconds)));
      },
    });
  }

  /** Open (or opening) sessions of all connections. */
  get total(): number {
    return this.sessions.total;
  }

  start(): void {
    this.sessions.start();
  }

  async stop(): Promise<void> {
    this.sessions.stop();
    await this.responder.shutdown();
  }

  open(client: NegentropyClient, subId: string, filter: NormalizedFilter, hex: unknown): void {
    const key = keyOf(client, subId);
    const fail = (reason: string, ...extra: unknown[]) => client.send(negErrFrame(subId, reason, ...extra));
    this.close(client, subId);
    if (typeof hex !== 'string' || hex.length === 0) {
      fail(Reasons.negMissingMessage);
      return;
    }
    try {
      const initial = fromHex(hex);
      // Parse the whole message once (against nothing) so garbage never costs a query.
      const dryRun = new Responder(SealedVector.fromSorted(EMPTY_ITEMS)).reconcile(initial);
      if (initial[0] !== PROTOCOL_VERSION) {
        // Another protocol version: answer with ours (the single byte 0x61) and keep no session.
        client.send(negMsgFrame(subId, toHex(dryRun)));
        return;
      }
    } catch (err) {
      fail(Reasons.negBadMessage(errorText(err)));
      return;
    }
    const scoped = this.scopeFor(client);
    if (scoped.readScope?.refused !== undefined) {
      fail(scoped.readScope.refused);
      return;
    }
    if (this.sessions.isFull(client)) {
      fail(Reasons.negTooManySessions(this.options.maxSessions));
      return;
    }
    const entry = this.sessions.reserve(client, subId, undefined);
    this.responder
      .open(key, filter, hex, {
        authed: new Set(client.authed),
        ip: client.ip,
        ...this.hiddenFor(client),
        ...scoped,
      })
      .catch((err: unknown): NegReply => ({ error: Reasons.negFailed(errorText(err)) }))
      .then((reply) => {
        // Closed, replaced or disconnected meanwhile: whoever did that told the responder.
        if (client.closed || !this.sessions.isCurrent(client, subId, entry)) return;
        if ('error' in reply) {
          this.sessions.close(client, subId);
          if (reply.maxRecords) fail(reply.error, reply.maxRecords);
          else fail(reply.error);
          return;
        }
        entry.ready = true;
        entry.touch();
        client.send(negMsgFrame(subId, reply.message));
      });
  }

  message(client: NegentropyClient, subId: string, hex: unknown): void {
    const key = keyOf(client, subId);
    const entry = this.sessions.get(client, subId);
    if (entry === undefined) {
      client.send(negErrFrame(subId, Reasons.negUnknownSession));
      return;
    }
    const fail = (reason: string) => {
      this.close(client, subId);
      client.send(negErrFrame(subId, reason));
    };
    if (!entry.ready) {
      fail(Reasons.negNotReady);
      return;
    }
    if (typeof hex !== 'string') {
      fail(Reasons.negBadMessage('NEG-MSG needs a hex string'));
      return;
    }
    entry.touch();
    this.responder
      .message(key, hex)
      .catch((err: unknown): NegReply => ({ error: Reasons.negFailed(errorText(err)) }))
      .then((reply) => {
        if (client.closed || !this.sessions.isCurrent(client, subId, entry)) return;
        entry.touch();
        if ('error' in reply) {
          this.close(client, subId);
          client.send(negErrFrame(subId, reply.error));
          return;
        }
        client.send(negMsgFrame(subId, reply.message));
      });
  }

  /** Frees one session (NEG-CLOSE, or a NEG-OPEN replacing it), quietly. */
  close(client: NegentropyClient, subId: string): void {
    if (this.sessions.close(client, subId)) this.responder.close(keyOf(client, subId));
  }

  /** Frees every session of a connection. */
  disconnect(client: NegentropyClient): void {
    if (this.sessions.count(client) > 0) this.responder.closeConnection(String(client.id));
    this.sessions.closeConnection(client);
  }
}

function keyOf(client: NegentropyClient, subId: string): NegSessionKey {
  return { connectionId: String(client.id), subId };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
