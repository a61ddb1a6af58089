/**
 * Calls of a generated gRPC client by method name, for the RPC tests of the services: promisified,
 * with a bearer token in the metadata (a suite's own by default, none with null), and an
 * assert.rejects check of the gRPC status code (and details).
 */
import assert from 'node:assert/strict';
import { Metadata, type ServiceError } from '@grpc/grpc-js';

type Callback<Res> = (err: ServiceError | null, res: Res) => void;

/** One unary call, promisified. */
export type UnaryCaller = <Res>(
  client: object,
  method: string,
  request: object,
  token?: string | null,
) => Promise<Res>;

/** `call(client, method, request, token = defaultToken)`. */
export function unaryCaller(defaultToken: string | null): UnaryCaller {
  return <Res>(client: object, method: string, request: object, token = defaultToken): Promise<Res> => {
    const metadata = new Metadata();
    if (token !== null) metadata.set('authorization', `Bearer ${token}`);
    const fn = (client as Record<string, (r: object, m: Metadata, cb: Callback<Res>) => void>)[method]!;
    return new Promise((resolve, reject) =>
      fn.call(client, request, metadata, (err, res) => (err ? reject(err) : resolve(res))),
    );
  };
}

/** For assert.rejects: the call failed with `code` (and details matching `details`). */
export function grpcCode(code: number, details?: RegExp) {
  return (err: ServiceError) => {
    assert.equal(err.code, code, err.message);
    if (details) assert.match(err.details, details);
    return true;
  };
}
