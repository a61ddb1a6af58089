/**
 * `orly sync <ws-url> --server ADDR` (client mode): asks a running orly-sync-negentropy to sync
 * with the peer through SyncWithPeer (its store is the one reconciled and written), and prints
 * the progress stream on stderr (one line per phase change, then the summary). Resolves with
 * the final SyncProgress (complete) or throws SyncError with the service's or gRPC's message.
 * Transport security comes from ORLY_GRPC_* like every other gRPC client.
 *
 * --print-missing asks for the ids (include_ids): the service streams them in messages of
 * phase "ids" after reconciliation, and their `have,<id>` / `need,<id>` lines go to stdout as
 * they arrive, exactly as in direct mode (the stream pauses while stdout is full). A service
 * that streams fewer ids than its final counts (one that ignores include_ids) is an error.
 */
import type { ClientReadableStream, ServiceError } from '@grpc/grpc-js';
import { NegentropyServiceClient, type SyncProgress } from '../../gen/orlysync/negentropy/v1/negentropy.js';
import { callMetadata, channelCredentials, channelOptions, loadGrpcSecurity } from '../../grpc/security.js';
import { filterJson } from '../../store/grpc/codec.js';
import { directionToProto } from '../../sync/direction.js';
import { missingLines } from '../../sync/missing-lines.js';
import { SyncError } from '../../sync/peer.js';
import type { SyncOptions } from './sync-options.js';

export function formatProgress(p: SyncProgress): string {
  return (
    `${p.phase}: local ${p.localCount}, round ${p.round}, have ${p.haveCount}, need ${p.needCount}, ` +
    `fetched ${p.fetchedCount}, sent ${p.sentCount} (${p.acceptedCount} accepted / ${p.rejectedCount} rejected)`
  );
}

export async function runClientSync(
  options: SyncOptions & { server: string },
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
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
        includeIds: options.printMissing,
      },
      callMetadata(security),
    );
    return await new Promise<SyncProgress>((resolve, reject) => {
      let last: SyncProgress | undefined;
      let lastPhase = '';
      let printedHave = 0;
      let printedNeed = 0;
      call.on('data', (p: SyncProgress) => {
        last = p;
        if (options.printMissing && (p.haveIds.length > 0 || p.needIds.length > 0)) {
          printedHave += p.haveIds.length;
          printedNeed += p.needIds.length;
          if (!io.stdout.write(missingLines(p.haveIds, p.needIds))) {
            call.pause();
            io.stdout.once('drain', () => call.resume());
          }
        }
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
        if (
          last?.complete &&
          options.printMissing &&
          (printedHave !== last.haveCount || printedNeed !== last.needCount)
        ) {
          reject(
            new SyncError(
              `the sync service sent ${printedHave} of ${last.haveCount} have ids and ${printedNeed} of ` +
                `${last.needCount} need ids (an orly-sync-negentropy that ignores include_ids?)`,
            ),
          );
        } else if (last?.complete) resolve(last);
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
