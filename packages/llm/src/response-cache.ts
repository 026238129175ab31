import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { canonicalJson } from '@meridian/core';

/** What is cached per request: the provider's raw answer text and what it cost the first time. */
export interface CachedResponse {
  readonly content: string;
  readonly model: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
}

export interface ResponseCache {
  get(key: string): Promise<CachedResponse | undefined>;
  set(key: string, value: CachedResponse): Promise<void>;
}

let tmpSeq = 0;

/** sha-256 over the canonical JSON of everything that shapes the answer. */
export function cacheKeyOf(material: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(material)).digest('hex');
}

/**
 * In-memory cache, optionally backed by a directory of `<key>.json` files so a backtest re-run
 * (a new process) gets the same answers without calling the provider. Files are written
 * atomically (temp file + rename), so a crash never leaves half an answer behind.
 */
export class ResponseCacheStore implements ResponseCache {
  readonly #mem = new Map<string, CachedResponse>();
  #dirReady: Promise<unknown> | undefined;

  constructor(readonly dir?: string) {}

  async get(key: string): Promise<CachedResponse | undefined> {
    const hit = this.#mem.get(key);
    if (hit !== undefined || this.dir === undefined) return hit;
    let text: string;
    try {
      text = await readFile(join(this.dir, `${key}.json`), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    try {
      const v = JSON.parse(text) as CachedResponse;
      if (typeof v.content !== 'string') return undefined;
      this.#mem.set(key, v);
      return v;
    } catch {
      return undefined; // a corrupt file is a miss; the next answer overwrites it
    }
  }

  async set(key: string, value: CachedResponse): Promise<void> {
    this.#mem.set(key, value);
    if (this.dir === undefined) return;
    this.#dirReady ??= mkdir(this.dir, { recursive: true });
    await this.#dirReady;
    const file = join(this.dir, `${key}.json`);
    const tmp = `${file}.${process.pid}.${++tmpSeq}.tmp`;
    await writeFile(tmp, `${canonicalJson(value)}\n`);
    await rename(tmp, file);
  }
}
