/**
 * Forwarding of a child's stdout/stderr, line by line, tagged with the service name, so the
 * launcher's output stays one JSON object per line:
 *   - a JSON object line (the services log with pino) gets `"child":"<name>"` inserted first;
 *   - any other line is wrapped: {"level":"info"|"warn","time":...,"service":"orly-launcher",
 *     "child":"<name>","stream":"stdout"|"stderr","msg":"<line>"} (stderr lines are "warn").
 * A line longer than `maxLineChars` without a newline is flushed in pieces (memory stays bounded).
 */
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

export type StreamName = 'stdout' | 'stderr';

/** Where tagged lines go (process.stdout/stderr in the CLI; captured in tests). */
export type LineSink = (line: string, stream: StreamName) => void;

export const processSink: LineSink = (line, stream) => {
  (stream === 'stdout' ? process.stdout : process.stderr).write(`${line}\n`);
};

const DEFAULT_MAX_LINE = 1024 * 1024;

export function tagLine(line: string, child: string, stream: StreamName): string {
  const trimmed = line.trimEnd();
  if (/^\{\s*"/.test(trimmed) && trimmed.endsWith('}')) {
    return `{"child":${JSON.stringify(child)},${trimmed.slice(1)}`;
  }
  return JSON.stringify({
    level: stream === 'stderr' ? 'warn' : 'info',
    time: new Date().toISOString(),
    service: 'orly-launcher',
    child,
    stream,
    msg: trimmed,
  });
}

/** Reads `source` to its end, handing each tagged line to `sink`. */
export function forwardLines(
  source: Readable,
  child: string,
  stream: StreamName,
  sink: LineSink,
  maxLineChars = DEFAULT_MAX_LINE,
): void {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  const emit = (line: string) => {
    if (line.trim() !== '') sink(tagLine(line.replace(/\r$/, ''), child, stream), stream);
  };
  source.on('data', (chunk: Buffer) => {
    pending += decoder.write(chunk);
    let nl = pending.indexOf('\n');
    while (nl >= 0) {
      emit(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
      nl = pending.indexOf('\n');
    }
    while (pending.length > maxLineChars) {
      emit(pending.slice(0, maxLineChars));
      pending = pending.slice(maxLineChars);
    }
  });
  source.on('end', () => {
    emit(pending + decoder.end());
    pending = '';
  });
  source.on('error', () => undefined);
}
