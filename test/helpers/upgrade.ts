/** A WebSocket upgrade attempt over a real socket, for tests of refusals before the upgrade. */
import WebSocket from 'ws';

export interface Attempt {
  status: number | 'open';
  retryAfter?: string;
  body?: string;
}

/** Tries an upgrade; an opened socket is closed again at once. */
export function attempt(url: string, headers: Record<string, string> = {}): Promise<Attempt> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    let answered = false;
    ws.on('unexpected-response', (_req, res) => {
      answered = true;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => {
        const retryAfter = res.headers['retry-after'];
        resolve({ status: res.statusCode ?? 0, body, ...(retryAfter === undefined ? {} : { retryAfter }) });
        ws.terminate();
      });
    });
    ws.on('open', () => {
      answered = true;
      ws.close();
      resolve({ status: 'open' });
    });
    // Terminating a refused handshake reports an error too; only one before any answer counts.
    ws.on('error', (err) => {
      if (!answered) reject(err);
    });
  });
}
