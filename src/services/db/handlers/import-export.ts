/**
 * The orly-db handlers of bulk transfer: Export (JSONL, oldest first, optionally filtered,
 * written with backpressure) and Import (JSONL in; signatures verified unless the first chunk
 * sets no_verify AND callers are authenticated: an unauthenticated caller's no_verify is
 * ignored; events newly stored are published to the hub like any save; "line N: ..." problems
 * returned, at most MAX_IMPORT_PROBLEMS).
 */
import { Readable, Writable } from 'node:stream';
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { SignatureVerifier } from '../../../crypto/signature-verifier.js';
import type {
  DatabaseServiceServer,
  ExportChunk,
  ExportRequest,
  ImportChunk,
  ImportResponse,
} from '../../../gen/orlydb/v1/db.js';
import { serializeEvent } from '../../../protocol/event.js';
import type { ClientStore, SyncSource } from '../../../store/event-store.js';
import { runExport } from '../../../store/export-events.js';
import { parseFilterJson } from '../../../store/grpc/codec.js';
import { runImport } from '../../../store/import-events.js';
import { type HandlerContext, send } from './context.js';

/** "line N: ..." problems returned by Import. */
const MAX_IMPORT_PROBLEMS = 100;

export interface ImportOptions {
  /** Verifier for Import (default: runImport's own VerifierPool, created per import). */
  readonly importVerifier?: SignatureVerifier;
  /** Workers of that default pool. */
  readonly importVerifyWorkers?: number;
}

export type ImportExportHandlers = Pick<DatabaseServiceServer, 'export' | 'import'>;

export function importExportHandlers(
  store: ClientStore & SyncSource,
  ctx: HandlerContext,
  options: ImportOptions,
): ImportExportHandlers {
  const { toStatus, logger, hub } = ctx;

  /** The store as Import sees it: newly stored events are also fanned out. */
  const publishingStore: ClientStore = new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'save') {
        return async (event: Parameters<ClientStore['save']>[0]) => {
          const result = await target.save(event);
          if (result.stored && !result.duplicate)
            hub.publish(result.serial, Buffer.from(serializeEvent(event)), '');
          return result;
        };
      }
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });

  return {
    export: (call: ServerWritableStream<ExportRequest, ExportChunk>) => {
      let filter: ReturnType<typeof parseFilterJson> | undefined;
      try {
        filter = call.request.filterJson.trim() === '' ? undefined : parseFilterJson(call.request.filterJson);
      } catch (error) {
        call.emit('error', toStatus(error));
        return;
      }
      const out = new Writable({
        highWaterMark: 256 * 1024,
        write(chunk: Buffer, _encoding, callback) {
          send(call, { data: chunk }).then(
            (ok) => callback(ok ? null : new Error('export cancelled by the client')),
            callback,
          );
        },
      });
      out.on('error', () => {});
      call.on('cancelled', () => out.destroy());
      void (async () => {
        try {
          const count = await runExport(store, filter, out);
          await new Promise<void>((resolve, reject) =>
            out.end((error?: Error | null) => (error ? reject(error) : resolve())),
          );
          logger.info({ events: count }, 'export done');
          call.end();
        } catch (error) {
          if (!call.cancelled) call.emit('error', toStatus(error));
        }
      })();
    },

    import: (call, callback) => {
      void (async (): Promise<ImportResponse> => {
        const chunks = call[Symbol.asyncIterator]() as AsyncIterator<ImportChunk>;
        const first = await chunks.next();
        const noVerify = first.done || !ctx.callersAuthenticated ? false : first.value.noVerify;
        async function* bytes(): AsyncGenerator<Buffer> {
          if (first.done) return;
          yield Buffer.from(first.value.data);
          for (;;) {
            const next = await chunks.next();
            if (next.done) return;
            yield Buffer.from(next.value.data);
          }
        }
        const input = Readable.from(bytes(), { objectMode: false });
        call.on('cancelled', () => input.destroy());
        const problems: string[] = [];
        const summary = await runImport(publishingStore, input, {
          verify: !noVerify,
          verifier: options.importVerifier ?? ctx.verifier,
          verifyWorkers: options.importVerifyWorkers,
          log: (line) => {
            if (/^line \d+: /.test(line)) {
              if (problems.length < MAX_IMPORT_PROBLEMS) problems.push(line);
            } else {
              logger.info({ import: line }, 'import');
            }
          },
        });
        return { ...summary, problems };
      })().then(
        (response) => callback(null, response),
        (error: unknown) => callback(toStatus(error)),
      );
    },
  };
}
