/**
 * Real write-policy plugin processes for test/acl/write-plugin.test.ts: small Node and POSIX shell
 * scripts written to a temp dir (chmod 755), events whose content tells the scriptable plugin
 * what to do, a pino logger whose lines are captured, and a check that a PID is really gone.
 */
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { PluginInput } from '../../src/acl/policy/write-plugin.js';
import type { NostrEvent } from '../../src/protocol/event.js';
import { BASE_TIME, hexOf, unsignedEvent } from './events.js';

/**
 * Answers each event as its content (JSON) says: `action`, `msg` ('ECHO': the input line without
 * the event; 'SEQ': how many times this id came before; 'PID': its process id), `id` (answer for
 * another id), `delay` (ms), `hang`, `exit` (code), `stderr` (a line to print there), `raw` (print
 * this instead, '@ID@' replaced by the event id).
 */
export const SCRIPTABLE = `#!/usr/bin/env node
const rl = require('readline').createInterface({ input: process.stdin, terminal: false });
const seen = new Map();
rl.on('line', (line) => {
  const req = JSON.parse(line);
  const id = req.event.id;
  const spec = JSON.parse(req.event.content || '{}');
  const n = seen.get(id) || 0;
  seen.set(id, n + 1);
  if (spec.stderr) console.error(spec.stderr);
  if (spec.hang) return;
  if (spec.exit !== undefined) process.exit(spec.exit);
  let msg = spec.msg;
  if (msg === 'ECHO') msg = 'blocked: ' + JSON.stringify({ ...req, event: undefined });
  if (msg === 'SEQ') msg = 'blocked: ' + n;
  if (msg === 'PID') msg = 'blocked: ' + process.pid;
  const answer = spec.raw !== undefined
    ? spec.raw.replaceAll('@ID@', id)
    : JSON.stringify({ id: spec.id || id, action: spec.action || 'accept', msg });
  const out = () => process.stdout.write(answer + '\\n');
  if (spec.delay) setTimeout(out, spec.delay); else out();
});
`;

/** Accepts two events, exits with code 3 on the third. */
export const CRASH_ON_THIRD = `#!/usr/bin/env node
let n = 0;
require('readline').createInterface({ input: process.stdin, terminal: false }).on('line', (line) => {
  const req = JSON.parse(line);
  if (++n === 3) process.exit(3);
  console.log(JSON.stringify({ id: req.event.id, action: 'accept' }));
});
`;

/** Rejects everything with 'blocked: v2' (the reloaded version). */
export const REJECT_ALL = `#!/usr/bin/env node
require('readline').createInterface({ input: process.stdin, terminal: false }).on('line', (line) => {
  const req = JSON.parse(line);
  console.log(JSON.stringify({ id: req.event.id, action: 'reject', msg: 'blocked: v2' }));
});
`;

/** Answers like SCRIPTABLE's 'PID' and ignores SIGTERM (only SIGKILL ends it). */
export const IGNORES_SIGTERM = `#!/usr/bin/env node
process.on('SIGTERM', () => console.error('ignoring SIGTERM'));
setInterval(() => {}, 1000); // stays up after its stdin closes
require('readline').createInterface({ input: process.stdin, terminal: false }).on('line', (line) => {
  const req = JSON.parse(line);
  console.log(JSON.stringify({ id: req.event.id, action: 'reject', msg: 'blocked: ' + process.pid }));
});
`;

/** A POSIX shell plugin: accepts everything, the id cut out of the line with sed. */
export const SHELL_ACCEPT = `#!/bin/sh
while IFS= read -r line; do
  id=$(printf '%s\\n' "$line" | sed 's/.*"id":"\\([0-9a-f]\\{64\\}\\)".*/\\1/')
  printf '{"id":"%s","action":"accept","msg":""}\\n' "$id"
done
`;

/** strfry's docs/plugins.md example, character for character (indentation of the Markdown removed). */
export const STRFRY_WHITELIST = `#!/usr/bin/env node

const whiteList = {
    '003ba9b2c5bd8afeed41a4ce362a8b7fc3ab59c25b6a1359cae9093f296dac01': true,
};

const rl = require('readline').createInterface({
  input: process.stdin,
  output: process.stdout,
  terminal: false
});

rl.on('line', (line) => {
    let req = JSON.parse(line);

    if (req.type !== 'new') {
        console.error("unexpected request type"); // will appear in strfry logs
        return;
    }

    let res = { id: req.event.id }; // must echo the event's id

    if (whiteList[req.event.pubkey]) {
        res.action = 'accept';
    } else {
        res.action = 'reject';
        res.msg = 'blocked: not on white-list';
    }

    console.log(JSON.stringify(res));
});
`;

export class ScriptDir {
  private constructor(readonly path: string) {}

  static async create(): Promise<ScriptDir> {
    return new ScriptDir(await mkdtemp(join(tmpdir(), 'orly-write-plugin-')));
  }

  /** Writes (or rewrites) an executable script; returns its path. */
  async write(name: string, text: string, mode = 0o755): Promise<string> {
    const file = join(this.path, name);
    await writeFile(file, text);
    await chmod(file, mode);
    return file;
  }

  remove(): Promise<void> {
    return rm(this.path, { recursive: true, force: true });
  }
}

let serial = 0;

/** An event for SCRIPTABLE, a new id each time. */
export function scripted(spec: Record<string, unknown> = {}, pubkey = hexOf(1)): NostrEvent {
  serial++;
  return unsignedEvent(pubkey, { content: JSON.stringify(spec), created_at: BASE_TIME + serial });
}

export function inputOf(event: NostrEvent, extra: Partial<PluginInput> = {}): PluginInput {
  return { event, receivedAt: 1_700_000_123, sourceType: 'IP4', sourceInfo: '203.0.113.9', ...extra };
}

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

export function captureLogger(): { logger: pino.Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

/** The process exists and is not a zombie. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}
