/**
 * GrpcNegentropyResponder: the relay's NegentropyResponder as a client of orly-sync-negentropy
 * (HandleNegOpen / HandleNegMsg / HandleNegClose). Chosen by create-relay when ORLY_SYNC_TYPE=grpc
 * and ORLY_GRPC_SYNC_NEGENTROPY is set.
 *
 * Each call has a deadline (ORLY_GRPC_SYNC_TIMEOUT) and does not wait for the channel
 * (waitForReady off): while the service is down a NEG-OPEN fails fast with "error: negentropy
 * service unavailable (...)", which the relay sends as NEG-ERR. The relay's policy travels in
 * every open (its authed pubkeys, restricted kinds, max records, frame size, the connection's
 * hidden authors and write-policy read scope), so the service
 * needs no copy of it; `relayId` (random per instance) keeps relays sharing the service apart.
 * close/closeConnection do not wait for the service's answer (it also expires idle sessions), but
 * the next open() of the same connection waits for them, so a NEG-CLOSE followed at once by a
 * NEG-OPEN never meets the service's per-connection session cap with the closed session.
 */

import { randomBytes } from 'node:crypto';
import type { Metadata, ServiceError } from '@grpc/grpc-js';
import { Reasons } from '../errors.js';
import { NegentropyServiceClient } from '../gen/orlysync/negentropy/v1/negentropy.js';
import { callMetadata, channelCredentials, channelOptions, type GrpcSecurity } from '../grpc/security.js';
import type { Logger } from '../logger.js';
import type { NormalizedFilter } from '../protocol/filter.js';
import { filterJson } from '../store/grpc/codec.js';
import type { NegentropyResponder, NegPolicy, NegReply, NegRequester, NegSessionKey } from './responder.js';

export interface GrpcNegentropyResponderOptions {
  readonly address: string;
  /** The relay's policy, sent with every NEG-OPEN. */
  readonly policy: NegPolicy;
  readonly security?: GrpcSecurity;
  readonly logger?: Logger;
  /** Deadline of one call (default 10 s). */
  readonly deadlineMs?: number;
  /** This relay's id at the service (default: random). */
  readonly relayId?: string;
}

export class GrpcNegentropyResponder implements NegentropyResponder {
  readonly relayId: string;
  private readonly client: NegentropyServiceClient;
  private readonly metadata: Metadata;
  private readonly deadlineMs: number;
  private closed = false;
  /** Per connection: the HandleNegClose calls not answered yet (one chained promise). */
  private readonly pendingCloses = new Map<string, Promise<void>>();

  constructor(private readonly options: GrpcNegentropyResponderOptions) {
    const security = options.security ?? {};
    this.relayId = options.relayId ?? randomBytes(12).toString('hex');
    this.deadlineMs = options.deadlineMs ?? 10_000;
    this.metadata = callMetadata(security);
    this.metadata.setOptions({ waitForReady: false });
    this.client = new NegentropyServiceClient(options.address, channelCredentials(security), {
      ...channelOptions(security),
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 2000,
    });
  }

  async open(
    key: NegSessionKey,
    filter: NormalizedFilter,
    initialHex: string,
    requester: NegRequester,
  ): Promise<NegReply> {
    const policy = requester.policy ?? this.options.policy;
    const scope = requester.readScope;
    // The relay answers a refusal itself: the service never opens a session for it.
    if (scope?.refused !== undefined) return { error: scope.refused };
    await this.pendingCloses.get(key.connectionId);
    return new Promise((resolve) => {
      if (this.closed) return resolve(unavailable('client closed'));
      this.client.handleNegOpen(
        {
          relayId: this.relayId,
          connectionId: key.connectionId,
          subscriptionId: key.subId,
          filterJson: filterJson(filter),
          message: initialHex,
          authedPubkeys: [...requester.authed],
          ip: requester.ip,
          restrictedKinds: [...policy.restrictedKinds],
          maxRecords: policy.maxRecords,
          frameSizeLimit: policy.frameSizeLimit,
          hiddenAuthors: [...(requester.hiddenAuthors ?? [])],
          hiddenKinds: [...(scope?.hiddenKinds ?? [])],
          involvedKinds: [...(scope?.involvedKinds ?? [])],
          allInvolved: scope?.allInvolved ?? false,
        },
        this.metadata,
        { deadline: Date.now() + this.deadlineMs },
        (err, response) => {
          if (err) return resolve(this.failed('HandleNegOpen', err));
          if (response.error !== '')
            return resolve(
              response.maxRecords > 0
                ? { error: response.error, maxRecords: response.maxRecords }
                : { error: response.error },
            );
          resolve({ message: response.message });
        },
      );
    });
  }

  message(key: NegSessionKey, hex: string): Promise<NegReply> {
    return new Promise((resolve) => {
      if (this.closed) return resolve(unavailable('client closed'));
      this.client.handleNegMsg(
        { relayId: this.relayId, connectionId: key.connectionId, subscriptionId: key.subId, message: hex },
        this.metadata,
        { deadline: Date.now() + this.deadlineMs },
        (err, response) => {
          if (err) return resolve(this.failed('HandleNegMsg', err));
          resolve(response.error !== '' ? { error: response.error } : { message: response.message });
        },
      );
    });
  }

  close(key: NegSessionKey): void {
    this.sendClose(key.connectionId, key.subId);
  }

  closeConnection(connectionId: string): void {
    this.sendClose(connectionId, '');
  }

  async shutdown(): Promise<void> {
    this.closed = true;
    this.client.close();
  }

  private sendClose(connectionId: string, subscriptionId: string): void {
    if (this.closed) return;
    const answered = new Promise<void>((resolve) => {
      this.client.handleNegClose(
        { relayId: this.relayId, connectionId, subscriptionId },
        this.metadata,
        { deadline: Date.now() + this.deadlineMs },
        (err) => {
          if (err) this.options.logger?.debug({ err: err.details || err.message }, 'HandleNegClose failed');
          resolve();
        },
      );
    });
    const previous = this.pendingCloses.get(connectionId);
    const pending = previous ? Promise.all([previous, answered]).then(() => undefined) : answered;
    this.pendingCloses.set(connectionId, pending);
    void pending.then(() => {
      if (this.pendingCloses.get(connectionId) === pending) this.pendingCloses.delete(connectionId);
    });
  }

  private failed(method: string, err: ServiceError): NegReply {
    const detail = err.details || err.message;
    this.options.logger?.warn({ method, code: err.code, err: detail }, 'orly-sync-negentropy call failed');
    return unavailable(detail);
  }
}

function unavailable(detail: string): NegReply {
  return { error: Reasons.negServiceUnavailable(detail) };
}
