/**
 * What the sync services' gRPC adapters share (services/sync-distributed/, sync-cluster/,
 * sync-relaygroup/):
 *
 * - syncUnary: a unary handler from an async function: its result, or its error as a gRPC status.
 *   The caller's mistake (the service's own error class) is INVALID_ARGUMENT and not logged; a
 *   failure of orly-db (GrpcEventStore's DatabaseCallError carries the gRPC status UNAVAILABLE or
 *   DEADLINE_EXCEEDED) is UNAVAILABLE, so the caller retries later; anything else is INTERNAL.
 *   Both are logged ("RPC failed").
 * - answerHttp: the HTTP envelope of the forwarded endpoints (common.v1 HTTPRequest →
 *   SyncHttpRequest → HTTPResponse). The RPC names the endpoint: an empty `path` is that
 *   endpoint's, another path is a 404; header names are lowercased, the method uppercased.
 */
import { type ServerUnaryCall, type ServiceError, type sendUnaryData, status } from '@grpc/grpc-js';
import type { HTTPRequest, HTTPResponse } from '../../gen/orlysync/common/v1/common.js';
import type { Logger } from '../../logger.js';
import { errorResponse, type Replication } from '../../sync/replication.js';

type UnaryHandler<Req, Res> = (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void;

/** The unary wrapper of one service; `isCallerError` picks its INVALID_ARGUMENT errors. */
export function syncUnary(
  logger: Logger,
  isCallerError: (err: unknown) => boolean,
): <Req, Res>(name: string, handle: (request: Req) => Promise<Res>) => UnaryHandler<Req, Res> {
  const grpcError = (err: unknown): Partial<ServiceError> => {
    const details = err instanceof Error ? err.message : String(err);
    if (isCallerError(err)) return { code: status.INVALID_ARGUMENT, details };
    const cause = (err as { status?: unknown }).status;
    const unavailable = cause === status.UNAVAILABLE || cause === status.DEADLINE_EXCEEDED;
    return { code: unavailable ? status.UNAVAILABLE : status.INTERNAL, details };
  };
  return (name, handle) => (call, callback) => {
    handle(call.request).then(
      (response) => callback(null, response),
      (err: unknown) => {
        if (!isCallerError(err))
          logger.warn({ rpc: name, err: (err as Error).message ?? String(err) }, 'RPC failed');
        callback(grpcError(err));
      },
    );
  };
}

/** The relay's forwarded request to the endpoint at `path`, answered by `sync`. */
export async function answerHttp(
  sync: Pick<Replication, 'handleHttp'>,
  path: string,
  req: HTTPRequest,
): Promise<HTTPResponse> {
  const answer =
    req.path !== '' && req.path !== path
      ? errorResponse(404, 'Not found')
      : await sync.handleHttp({
          method: req.method.toUpperCase(),
          path,
          query: req.queryString,
          headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v])),
          body: req.body,
          remoteAddr: req.remoteAddr,
          requestUrls: req.requestUrls,
        });
  return {
    statusCode: answer.status,
    headers: { ...answer.headers },
    body: Buffer.from(answer.body, 'utf8'),
  };
}
