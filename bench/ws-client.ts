/**
 * WebSocket client helpers for the load generators: connecting (one or many, with bounded
 * concurrency), and classifying relay frames by their first bytes without parsing JSON.
 */
import WebSocket from 'ws';

export { WebSocket };

/** The relay frame kinds the load generators care about, read from the bytes after `["`. */
export enum Verb {
  Other = 0,
  Event = 1,
  Ok = 2,
  Eose = 3,
  Closed = 4,
  Notice = 5,
  Auth = 6,
}

const B_E = 0x45;
const B_V = 0x56;
const B_O = 0x4f;
const B_K = 0x4b;
const B_C = 0x43;
const B_N = 0x4e;
const B_A = 0x41;

/** The verb of a relay frame: `["EVENT"`, `["OK"`, `["EOSE"`, `["CLOSED"`, `["NOTICE"`, `["AUTH"`. */
export function verbOf(frame: Buffer): Verb {
  const c0 = frame[2];
  const c1 = frame[3];
  if (c0 === B_E) return c1 === B_V ? Verb.Event : c1 === B_O ? Verb.Eose : Verb.Other;
  if (c0 === B_O && c1 === B_K) return Verb.Ok;
  if (c0 === B_C) return Verb.Closed;
  if (c0 === B_N) return Verb.Notice;
  if (c0 === B_A) return Verb.Auth;
  return Verb.Other;
}

/** The event id of an OK frame: `["OK","<64hex>",...`. */
export function okId(frame: Buffer): string {
  return frame.toString('latin1', 7, 71);
}

/** Whether an OK frame says true (`["OK","<id>",true,...`). */
export function okAccepted(frame: Buffer): boolean {
  return frame[73] === 0x74;
}

/**
 * Element `index` of a frame as a string, e.g. the message of an OK (3), CLOSED (2) or
 * NOTICE (1). Parses JSON: only for the rare rejections.
 */
export function frameField(frame: Buffer, index: number): string {
  try {
    return String((JSON.parse(frame.toString()) as unknown[])[index]);
  } catch {
    return frame.toString().slice(0, 200);
  }
}

/** The subscription id of an EOSE frame `["EOSE","<sub>"]`. */
export function eoseSubId(frame: Buffer): string {
  return frame.toString('latin1', 9, frame.length - 2);
}

/**
 * The event id in an EVENT frame `["EVENT","<sub>",{"id":"<64hex>",...`, given the length of
 * `<sub>` (the relay writes stored canonical JSON, id first).
 */
export function eventIdOf(frame: Buffer, subIdLength: number): string {
  const start = 10 + subIdLength + 2 + 7;
  // Our relay writes "id" first; other relays (strfry: keys in alphabetical order) may not.
  if (frame.toString('latin1', start - 7, start) === '{"id":"')
    return frame.toString('latin1', start, start + 64);
  const at = frame.indexOf('"id":"', start - 7, 'latin1');
  return at < 0 ? '' : frame.toString('latin1', at + 6, at + 70);
}

export function connect(url: string, timeoutMs = 10_000): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`connect timeout after ${timeoutMs} ms`));
    }, timeoutMs);
    const onError = (err: Error) => {
      clearTimeout(timer);
      reject(err);
    };
    ws.once('open', () => {
      clearTimeout(timer);
      ws.off('error', onError);
      // Later errors surface as 'close', which the scenarios count.
      ws.on('error', () => {});
      resolve(ws);
    });
    ws.once('error', onError);
  });
}

/**
 * Opens `count` connections, at most `concurrency` handshakes at a time; `onOpen` runs for
 * each (e.g. send a REQ and wait for its EOSE) and counts towards the concurrency.
 * Resolves with the open sockets and the errors of the failed ones.
 */
export async function connectMany(
  url: string,
  count: number,
  concurrency: number,
  onOpen?: (ws: WebSocket, index: number) => Promise<void>,
): Promise<{ sockets: WebSocket[]; errors: string[] }> {
  const sockets: WebSocket[] = [];
  const errors: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      try {
        const ws = await connect(url);
        if (onOpen) await onOpen(ws, index);
        sockets.push(ws);
      } catch (err) {
        errors.push(err instanceof Error ? err.message : String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { sockets, errors };
}

/** Resolves with the first frame for which `match` is true, or rejects after `timeoutMs`. */
export function waitForFrame(
  ws: WebSocket,
  match: (frame: Buffer) => boolean,
  timeoutMs: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const onMessage = (data: Buffer) => {
      if (!match(data)) return;
      cleanup();
      resolve(data);
    };
    const onClose = () => {
      cleanup();
      reject(new Error('connection closed while waiting for a frame'));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no matching frame within ${timeoutMs} ms`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      ws.off('message', onMessage);
      ws.off('close', onClose);
    };
    ws.on('message', onMessage);
    ws.on('close', onClose);
  });
}

export function closeAll(sockets: readonly WebSocket[]): void {
  for (const ws of sockets) ws.terminate();
}
