/**
 * The relay's client of a sync service (GrpcDistributedSync, GrpcClusterSync, GrpcRelayGroupSync)
 * when the service is not there: start() gives up after the client's connect timeout (a short
 * one in the tests), naming the service and its address; the endpoints it forwards answer 503
 * with Retry-After, and a path the service does not serve 404.
 */
import assert from 'node:assert/strict';
import type { Replication, SyncHttpRequest } from '../../src/sync/replication.js';

/** `service` as in "orly-sync-cluster at 127.0.0.1:port is not ready". */
export async function assertStartGivesUp(client: Pick<Replication, 'start'>, service: string): Promise<void> {
  const started = Date.now();
  await assert.rejects(client.start(), new RegExp(`${service} at 127\\.0\\.0\\.1:\\d+ is not ready`));
  assert.ok(Date.now() - started < 5000);
}

/** `request` answered 503 "<label> unavailable" (Retry-After 5); `otherPath` 404. */
export async function assertEndpointsDown(
  client: Pick<Replication, 'handleHttp'>,
  request: SyncHttpRequest,
  label: string,
  otherPath: string,
): Promise<void> {
  const down = await client.handleHttp(request);
  assert.equal(down.status, 503);
  assert.equal(down.headers['Retry-After'], '5');
  assert.deepEqual(JSON.parse(down.body), { error: `${label} unavailable` });
  assert.equal((await client.handleHttp({ ...request, path: otherPath })).status, 404);
}
