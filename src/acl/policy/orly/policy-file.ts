/**
 * The policy file on disk: read once at start (a missing, unreadable or invalid file is fatal
 * when the policy is enabled: ORLY once failed open here), and rewritten atomically when an
 * owner's kind-12345 update is applied: the new text goes to a temporary file in the same
 * directory, is flushed to disk, then renamed over the old one, so a crash leaves either the
 * old or the new policy, never half of one.
 */
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  MAX_DOCUMENT_BYTES,
  type PolicyDocument,
  parsePolicyDocument,
  serializePolicyDocument,
} from './policy-document.js';

/** Reads and parses the file; the error names the path and the problem. */
export async function readPolicyFile(path: string): Promise<PolicyDocument> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (err) {
    throw new Error(
      `cannot read the policy file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  if (size > MAX_DOCUMENT_BYTES)
    throw new Error(`the policy file ${path} is over ${MAX_DOCUMENT_BYTES} bytes`);
  const text = await readFile(path, 'utf8');
  try {
    return parsePolicyDocument(text);
  } catch (err) {
    throw new Error(`invalid policy file ${path}: ${(err as Error).message}`);
  }
}

/** Replaces the file's content with `doc`, atomically (temporary file, fsync, rename). */
export async function writePolicyFile(path: string, doc: PolicyDocument): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(`${serializePolicyDocument(doc)}\n`, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  // The rename itself is durable once the directory is flushed.
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic.
  } finally {
    await dir.close();
  }
}
