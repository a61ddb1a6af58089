/**
 * `orly import`: reads JSONL (one event JSON per line, as written by `orly export` or other
 * relays' dumps) and saves the events into a store.
 *
 * Each line is parsed and checked exactly like an EVENT from a client: JSON, checkEventShape,
 * the id must equal computeEventId, and the signature must verify (through a VerifierPool,
 * unless `verify: false`). Ephemeral kinds are never stored. A bad line is reported through
 * `options.log` as `line N: <reason>` and skipped; it never aborts the import. Blank lines
 * are ignored.
 *
 * Counters: `invalid` = malformed lines (bad JSON, shape, id or signature); `rejected` = valid
 * events that are not stored (ephemeral kinds, the write policy's refusals (`admit`), or a store
 * rejection such as a deleted event or an older replaceable version); `duplicates` = already stored; `imported` = newly stored.
 *
 * Throughput: signatures are verified as lines are read (the pool batches them to workers);
 * every `batchSize` lines the batch's saves are issued together (the store groups concurrent
 * saves into one commit) and awaited at the next batch boundary, so parsing overlaps commits.
 * A store failure (save() rejecting, as opposed to a rejection result) aborts the import by
 * throwing. Progress every ~10,000 lines and a final summary go to `options.log`.
 */
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import type { Admission } from '../acl/policy/plugin-protocol.js';
import { verifySchnorr } from '../crypto/schnorr.js';
import type { SignatureVerifier } from '../crypto/signature-verifier.js';
import { VerifierPool } from '../crypto/verifier-pool.js';
import { Reasons } from '../errors.js';
import { checkEventShape, computeEventId, type NostrEvent, nip01Event } from '../protocol/event.js';
import { isEphemeral } from '../protocol/kinds.js';
import type { ClientStore, SaveResult } from './event-store.js';

export interface ImportOptions {
  /** Verify signatures (false: trust the input, only the id is checked). */
  verify: boolean;
  /** Receives one line per problem, progress and the summary (the CLI writes them to stderr). */
  log: (line: string) => void;
  /** Events saved together (default 1000). */
  batchSize?: number;
  /** Verifier to use; by default a VerifierPool with `verifyWorkers` workers is created and closed. */
  verifier?: SignatureVerifier;
  /** Workers of the default VerifierPool (default: available cores - 1, at least 1). */
  verifyWorkers?: number;
  /** Lines between progress reports (default 10,000). */
  progressEvery?: number;
  /**
   * A write policy asked about every valid event before it is saved (the CLI's strfry plugin,
   * sourceType Import): `store: false` counts it as rejected, with its reason logged when given.
   */
  admit?: (event: NostrEvent) => Promise<Admission>;
}

export interface ImportSummary {
  /** Lines read, blank ones included. */
  lines: number;
  imported: number;
  duplicates: number;
  rejected: number;
  invalid: number;
}

interface Candidate {
  line: number;
  event: NostrEvent;
  /** Pending signature check, never rejecting; undefined when not verifying. */
  verified: Promise<boolean> | undefined;
}

const DEFAULT_BATCH_SIZE = 1000;
const DEFAULT_PROGRESS_EVERY = 10_000;

export async function runImport(
  store: ClientStore,
  input: NodeJS.ReadableStream,
  options: ImportOptions,
): Promise<ImportSummary> {
  const { log } = options;
  const batchSize = Math.max(1, options.batchSize ?? DEFAULT_BATCH_SIZE);
  const progressEvery = Math.max(1, options.progressEvery ?? DEFAULT_PROGRESS_EVERY);
  const ownVerifier =
    options.verify && options.verifier === undefined
      ? new VerifierPool({ workers: options.verifyWorkers ?? Math.max(1, availableParallelism() - 1) })
      : undefined;
  const verifier = options.verify ? (options.verifier ?? ownVerifier) : undefined;

  const summary: ImportSummary = { lines: 0, imported: 0, duplicates: 0, rejected: 0, invalid: 0 };
  const started = performance.now();
  const bad = (line: number, why: string): void => log(`line ${line}: ${why}`);

  /** Saves of the previous batch: settles with the first store failure, never rejects. */
  let saving: Promise<Error | undefined> = Promise.resolve(undefined);

  const tally = (
    candidates: readonly Candidate[],
    results: PromiseSettledResult<SaveResult>[],
  ): Error | undefined => {
    let failure: Error | undefined;
    for (let i = 0; i < results.length; i++) {
      const settled = results[i]!;
      const line = candidates[i]!.line;
      if (settled.status === 'rejected') {
        const error = settled.reason instanceof Error ? settled.reason : new Error(String(settled.reason));
        failure ??= new Error(`line ${line}: store failure: ${error.message}`, { cause: error });
        continue;
      }
      const result = settled.value;
      if (!result.stored) {
        summary.rejected++;
        bad(line, result.reason);
      } else if (result.duplicate) {
        summary.duplicates++;
      } else {
        summary.imported++;
      }
    }
    return failure;
  };

  /** The candidates the write policy lets through (asked all at once: many in flight on its pipe). */
  const admittedBy = async (
    candidates: readonly Candidate[],
    admit: (event: NostrEvent) => Promise<Admission>,
  ): Promise<Candidate[]> => {
    const verdicts = await Promise.all(candidates.map((candidate) => admit(candidate.event)));
    const out: Candidate[] = [];
    verdicts.forEach((verdict, i) => {
      const candidate = candidates[i]!;
      if (verdict.store) out.push(candidate);
      else {
        summary.rejected++;
        if (verdict.reason !== undefined) bad(candidate.line, verdict.reason);
      }
    });
    return out;
  };

  /** Waits for the batch's signatures, then issues its saves (awaited at the next boundary). */
  const flush = async (batch: Candidate[]): Promise<void> => {
    const failure = await saving;
    if (failure) throw failure;
    const accepted: Candidate[] = [];
    for (const candidate of batch) {
      if (candidate.verified !== undefined && !(await candidate.verified)) {
        summary.invalid++;
        bad(candidate.line, Reasons.badSignature);
        continue;
      }
      accepted.push(candidate);
    }
    const passed = options.admit === undefined ? accepted : await admittedBy(accepted, options.admit);
    const saves = passed.map((candidate) => store.save(candidate.event));
    saving = Promise.allSettled(saves).then((results) => tally(passed, results));
  };

  const progress = (prefix: string): void => {
    const seconds = (performance.now() - started) / 1000;
    const rate = seconds > 0 ? Math.round(summary.lines / seconds) : 0;
    log(
      `${prefix}: ${summary.lines} lines, ${summary.imported} imported, ${summary.duplicates} duplicates, ` +
        `${summary.rejected} rejected, ${summary.invalid} invalid (${seconds.toFixed(1)} s, ${rate} lines/s)`,
    );
  };

  const rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let batch: Candidate[] = [];
  let nextProgress = progressEvery;
  try {
    for await (const rawLine of rl) {
      const line = ++summary.lines;
      const text = line === 1 && rawLine.startsWith('\uFEFF') ? rawLine.slice(1) : rawLine;
      const candidate = parseLine(text, line, verifier, bad, summary);
      if (candidate !== undefined) batch.push(candidate);
      if (batch.length >= batchSize) {
        await flush(batch);
        batch = [];
      }
      if (line >= nextProgress) {
        nextProgress += progressEvery;
        progress('import progress');
      }
    }
    if (batch.length > 0) await flush(batch);
    const failure = await saving;
    if (failure) throw failure;
    if (summary.imported > 0) await store.afterBulkLoad?.();
  } finally {
    rl.close();
    await saving; // never leave saves running behind a thrown error
    await ownVerifier?.close();
  }
  progress('import done');
  return summary;
}

const NOT_JSON = Symbol('not JSON');
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding raw control characters is the point
const HAS_RAW_CONTROL = /[\u0000-\u001f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding raw control characters is the point
const RAW_CONTROLS = /[\u0000-\u001f]/g;

/**
 * JSON.parse, tolerating raw control characters inside strings: some dumps (including the
 * canonical NIP-01 form, which writes them verbatim) contain them although RFC 8259 does not
 * allow it. Such characters are escaped and the line parsed again.
 */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    if (!HAS_RAW_CONTROL.test(text)) return NOT_JSON;
    try {
      return JSON.parse(
        text.replace(RAW_CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
      );
    } catch {
      return NOT_JSON;
    }
  }
}

/** Checks one line; returns the event to save, or undefined (blank, invalid or rejected line). */
function parseLine(
  text: string,
  line: number,
  verifier: SignatureVerifier | undefined,
  bad: (line: number, why: string) => void,
  summary: ImportSummary,
): Candidate | undefined {
  if (text.trim() === '') return undefined;
  const value = parseJson(text);
  if (value === NOT_JSON) {
    summary.invalid++;
    bad(line, Reasons.lineNotJson);
    return undefined;
  }
  const problem = checkEventShape(value);
  if (problem !== undefined) {
    summary.invalid++;
    bad(line, Reasons.badShape(problem));
    return undefined;
  }
  // Only the NIP-01 fields: anything else on the line is dropped.
  const event = nip01Event(value as NostrEvent);
  if (computeEventId(event) !== event.id) {
    summary.invalid++;
    bad(line, Reasons.badId);
    return undefined;
  }
  if (isEphemeral(event.kind)) {
    summary.rejected++;
    bad(line, Reasons.ephemeralNotImported(event.kind));
    return undefined;
  }
  const verified =
    verifier === undefined
      ? undefined
      : verifier
          .verify(event.id, event.pubkey, event.sig)
          .catch(() => verifySchnorr(event.id, event.pubkey, event.sig));
  return { line, event, verified };
}
