/**
 * `orly sync <ws-url> --server ADDR` (client mode): asks a running orly-sync-negentropy to sync
 * with the peer through SyncWithPeer (its store is the one reconciled and written), and prints
 * the progress stream on stderr (one line per phase change, then the summary). Resolves with
 * the final SyncProgress (complete) or throws SyncError with the service's or gRPC's message.
 * Transport security comes from ORLY_GRPC_* like every other gRPC client.
 */
import type { ClientReadableStream, ServiceError } from '@grpc/grpc-js';
import { NegentropyServiceClient, type SyncProgress } from '../gen/orlysync/negentropy/v1/negentropy.js';
import { callMetadata, channelCredentials, channelOptions, loadGrpcSecurity } from '../grpc/security.js';
import { filterJson } from '../store/grpc/codec.js';
import { directionToProto } from './negentropy-service/server.js';
import { SyncError } from './peer.js';
import type { SyncOptions } from './sync-command.js';

export function formatProgress(p: SyncProgress): string {
  return (
    `${p.phase}: local ${p.localCount}, round ${p.round}, have ${p.haveCount}, need ${p.needCount}, ` +
    `fetched ${p.fetchedCount}, sent ${p.sentCount} (${p.acceptedCount} accepted / ${p.rejectedCount} rejected)`
  );
}

export async function runClientSync(
  options: SyncOptions & { server: string },
  io: { stderr: NodeJS.WritableStream },
  env: NodeJS.ProcessEnv = process.env,
): Promise<SyncProgress> {
  const security = loadGrpcSecurity(env);
  const client = new NegentropyServiceClient(
    options.server,
    channelCredentials(security),
    channelOptions(security),
  );
  try {
    const deadline = Date.now() + options.timeoutMs;
    await new Promise<void>((resolve, reject) =>
      client.waitForReady(deadline, (err) =>
        err
          ? reject(new SyncError(`cannot reach orly-sync-negentropy at ${options.server}: ${err.message}`))
          : resolve(),
      ),
    );
    const call: ClientReadableStream<SyncProgress> = client.syncWithPeer(
      {
        peerUrl: options.url,
        filterJson: filterJson(options.filter),
        direction: directionToProto(options.dir),
        frameSizeLimit: options.frameSizeLimit,
        timeoutMs: options.timeoutMs,
      },
      callMetadata(security),
    );
    return await new Promise<SyncProgress>((resolve, reject) => {
      let last: SyncProgress | undefined;
      let lastPhase = '';
      call.on('data', (p: SyncProgress) => {
        last = p;
        if (p.complete || p.error !== '') return;
        if (p.phase !== lastPhase) {
          lastPhase = p.phase;
          io.stderr.write(`${formatProgress(p)}\n`);
        }
      });
      call.on('error', (err: ServiceError) =>
        reject(new SyncError(`orly-sync-negentropy at ${options.server}: ${err.details || err.message}`)),
      );
      call.on('end', () => {
        if (last?.complete) resolve(last);
        else if (last && last.error !== '') reject(new SyncError(last.error));
        else reject(new SyncError('the sync service ended the stream without a result'));
      });
    });
  } finally {
    client.close();
  }
}

export function formatClientSummary(p: SyncProgress): string {
  return (
    `sync done: have ${p.haveCount}, need ${p.needCount}, downloaded ${p.fetchedCount}, ` +
    `uploaded ${p.sentCount} (${p.acceptedCount} accepted / ${p.rejectedCount} rejected), ${p.round} rounds`
  );
}
