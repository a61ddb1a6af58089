/**
 * The handler wrapper of orly-acl's unary calls: a BadRequest becomes INVALID_ARGUMENT, a
 * Forbidden PERMISSION_DENIED (both with the message as details), anything else INTERNAL (logged).
 */
import { type ServerUnaryCall, type sendUnaryData, status } from '@grpc/grpc-js';
import type { Logger } from '../../logger.js';

/** The request is malformed; the message names the field. */
export class BadRequest extends Error {}

/** The request is well-formed but this caller may not make it. */
export class Forbidden extends Error {}

export function unary<Req, Res>(
  logger: Logger | undefined,
  method: string,
  run: (request: Req) => Promise<Res> | Res,
) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    Promise.resolve()
      .then(() => run(call.request))
      .then(
        (response) => callback(null, response),
        (err: unknown) => {
          const message = err instanceof Error ? err.message : String(err);
          if (err instanceof BadRequest) {
            callback({ code: status.INVALID_ARGUMENT, details: message });
            return;
          }
          if (err instanceof Forbidden) {
            callback({ code: status.PERMISSION_DENIED, details: message });
            return;
          }
          logger?.error({ method, err: message }, 'acl call failed');
          callback({ code: status.INTERNAL, details: `${method} failed: ${message}` });
        },
      );
  };
}
