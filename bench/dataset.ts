/**
 * The pre-signed benchmark dataset: `size` events from ~200 authors (a few prolific, most
 * not), mostly kind 1 notes of 50-400 characters, some replies (e/p tags), hashtags (t tags),
 * mentions (p tags) and kind 7 reactions, created within the three days before generation.
 *
 * Signing is the slow part (~60 µs per event), so the dataset is generated once per
 * (size, seed) and cached as JSONL (canonical event JSON, one per line) next to a meta file
 * listing the authors, hashtags, p-tagged keys and a sample of ids the query load draws from.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serializeEvent } from '../src/protocol/event.js';
import { DATASET_DIR } from './paths.js';
import { Rng } from './rng.js';
import { deriveKeyPair, type KeyPair, nativeSigner, signEvent } from './signer.js';

const FORMAT_VERSION = 1;
const AUTHORS = 200;
const SPAN_SECONDS = 3 * 86_400;

export interface DatasetMeta {
  version: number;
  size: number;
  seed: number;
  /** Unix seconds of generation; created_at values lie in [generatedAt - 3 days, generatedAt]. */
  generatedAt: number;
  bytes: number;
  kinds: Record<string, number>;
  authors: string[];
  hashtags: string[];
  /** Public keys that appear in some p tag. */
  pTagged: string[];
  /** Up to 5,000 ids of stored events, for {ids:[...]} queries. */
  sampleIds: string[];
}

export interface Dataset {
  file: string;
  metaFile: string;
  meta: DatasetMeta;
  /** True when this call generated it (false: read from the cache). */
  generated: boolean;
  seconds: number;
}

const WORDS = (
  'the a to and of in is it that for on with this was just so like not have be you are what but ' +
  'nostr relay bitcoin lightning zap note client key sats node gm gn pleb freedom protocol ' +
  'coffee morning today weekend build shipping code bug fix release open source privacy ' +
  'decentralized social network friends music photo walk city mountain ocean book reading ' +
  'thinking about really great thanks everyone new idea working on again finally love this ' +
  'anyone know how why when where should could would maybe probably definitely interesting'
).split(' ');
const EXTRAS = [
  '🤙',
  '⚡',
  '🧡',
  '😂',
  '🚀',
  'ñandú',
  'über',
  '日本語',
  '"quoted"',
  'back\\slash',
  'tab\there',
];
const HASHTAGS = (
  'nostr bitcoin zap plebchain grownostr photography music art coffee foodstr introductions ' +
  'asknostr dev programming rust typescript linux privacy freedom memes news sports travel ' +
  'books science health fitness gaming movies nature cats dogs weather economics history ' +
  'philosophy design opensource lightning meetup energy'
).split(' ');

function makeContent(rng: Rng): string {
  const target = 50 + Math.floor(rng.next() ** 2 * 350);
  let text = '';
  while (text.length < target) {
    let word = rng.chance(0.04) ? rng.pick(EXTRAS) : rng.pickSkewed(WORDS, 1.6);
    if (text.length === 0 || rng.chance(0.08)) word = word[0]!.toUpperCase() + word.slice(1);
    const sep = text.length === 0 ? '' : rng.chance(0.06) ? (rng.chance(0.3) ? '.\n\n' : '. ') : ' ';
    text += sep + word;
    if (rng.chance(0.01)) text += ` https://example.com/${rng.int(1000, 99999)}`;
  }
  return text.slice(0, 400);
}

interface Generated {
  id: string;
  pubkey: string;
}

function generate(size: number, seed: number, file: string): DatasetMeta {
  const rng = new Rng(seed);
  const now = Math.floor(Date.now() / 1000);
  const keys: KeyPair[] = [];
  for (let i = 0; i < AUTHORS; i++) keys.push(deriveKeyPair(`author-${seed}-${i}`));
  const kinds: Record<string, number> = {};
  const hashtags = new Set<string>();
  const pTagged = new Set<string>();
  const earlier: Generated[] = [];
  const lines: string[] = [];
  let bytes = 0;
  for (let i = 0; i < size; i++) {
    const author = rng.pickSkewed(keys, 1.8);
    const created_at = now - rng.int(0, SPAN_SECONDS);
    const tags: string[][] = [];
    let kind = 1;
    let content: string;
    const target = earlier.length > 0 ? rng.pick(earlier) : undefined;
    if (target && rng.chance(0.05)) {
      kind = 7;
      content = rng.pick(['+', '🤙', '⚡', '❤️', '+']);
      tags.push(['e', target.id], ['p', target.pubkey]);
      pTagged.add(target.pubkey);
    } else {
      content = makeContent(rng);
      if (target && rng.chance(0.3)) {
        tags.push(['e', target.id, '', 'root'], ['p', target.pubkey]);
        pTagged.add(target.pubkey);
      }
      if (rng.chance(0.35)) {
        for (const tag of new Set(Array.from({ length: rng.int(1, 3) }, () => rng.pickSkewed(HASHTAGS)))) {
          tags.push(['t', tag]);
          hashtags.add(tag);
        }
      }
      if (rng.chance(0.1)) {
        const mentioned = rng.pick(keys).pubkey;
        tags.push(['p', mentioned]);
        pTagged.add(mentioned);
      }
    }
    const event = signEvent(author, { created_at, kind, tags, content });
    kinds[kind] = (kinds[kind] ?? 0) + 1;
    if (earlier.length < 20_000 || rng.chance(0.05)) earlier.push({ id: event.id, pubkey: event.pubkey });
    const line = serializeEvent(event);
    bytes += Buffer.byteLength(line) + 1;
    lines.push(line);
  }
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${lines.join('\n')}\n`);
  renameSync(tmp, file);
  const idRng = new Rng(seed ^ 0x5eed);
  return {
    version: FORMAT_VERSION,
    size,
    seed,
    generatedAt: now,
    bytes,
    kinds,
    authors: keys.map((k) => k.pubkey),
    hashtags: [...hashtags].sort(),
    pTagged: [...pTagged].sort(),
    sampleIds: idRng.sample(lines, 5000).map(idOfLine),
  };
}

/** The id of a canonical event JSON line (serializeEvent puts `{"id":"<64hex>"` first). */
export function idOfLine(line: string): string {
  return line.slice(7, 71);
}

/** Returns the cached dataset for (size, seed), generating it first when absent. */
export function loadOrCreateDataset(size: number, seed: number): Dataset {
  if (!nativeSigner)
    throw new Error('bcrypto native backend not loaded: signing the dataset would take too long');
  mkdirSync(DATASET_DIR, { recursive: true });
  const base = join(DATASET_DIR, `dataset-v${FORMAT_VERSION}-n${size}-s${seed}`);
  const file = `${base}.jsonl`;
  const metaFile = `${base}.meta.json`;
  const started = performance.now();
  if (existsSync(file) && existsSync(metaFile)) {
    const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as DatasetMeta;
    const ageDays = (Date.now() / 1000 - meta.generatedAt) / 86_400;
    // The relay refuses events older than ORLY_CREATED_AT_LOWER_LIMIT (3 years by default).
    if (meta.version === FORMAT_VERSION && meta.size === size && ageDays < 365) {
      return { file, metaFile, meta, generated: false, seconds: (performance.now() - started) / 1000 };
    }
  }
  const meta = generate(size, seed, file);
  writeFileSync(metaFile, `${JSON.stringify(meta)}\n`);
  return { file, metaFile, meta, generated: true, seconds: (performance.now() - started) / 1000 };
}

/** The dataset's lines (canonical event JSON), for the load generators. */
export function readDatasetLines(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

export function readDatasetMeta(metaFile: string): DatasetMeta {
  return JSON.parse(readFileSync(metaFile, 'utf8')) as DatasetMeta;
}
