import type { MemoryRecall, RecalledMemory, Timeframe } from '@meridian/contracts';
import { IvfIndex, TopK, type IvfOptions } from './ivf-index.ts';
import type { MemoryStore, Outcome, RecallOptions, Situation, StoreResult } from './memory-store.ts';
import { checkOutcome, checkRecall, checkSituation, keyString, memoryId, toRecall } from './memory-validation.ts';

export interface InProcessMemoryStoreOptions {
  /** the IVF index settings, or false for exact brute-force search (small sets, reference runs) */
  readonly ivf?: IvfOptions | false;
}


interface Entry {
  readonly exchange: string;
  readonly symbol: string;
  readonly timeframe: Timeframe;
  readonly ts: number;
  readonly horizonBars: number;
  readonly featureVersion: number;
  forwardReturn: number;
  mfe: number;
  mae: number;
  resolvedAt: number;
  id: string | null;
}

interface Pending {
  readonly situation: Situation;
  readonly vec: Float32Array;
}

/**
 * The memory for the backtest hot path: everything in this process, same contract and same
 * point-in-time rule as PgMemoryStore, deterministic (same calls → same answers and ids).
 * A memory enters the search index when it is resolved, tagged with its resolvedAt, and a
 * recall skips every entry resolved after asOf. Search is an IVF index (see ivf-index.ts):
 * exact below 4,096 memories per comparable set, approximate above (recall@10 measured in
 * bench/memory.bench.ts and docs/memory.md). `ivf: false` keeps it exact.
 *
 * The `*Sync` methods are the same operations without promises, for the fast runner.
 */
export class InProcessMemoryStore implements MemoryStore {
  readonly #ivf: IvfOptions | false;
  readonly #pending = new Map<string, Pending>();
  /** keys of resolved memories */
  readonly #resolved = new Set<string>();
  readonly #partitions = new Map<string, { index: IvfIndex; entries: Entry[] }>();
  readonly #series = new Map<string, number>();
  readonly #q = new Float32Array(256);

  constructor(options: InProcessMemoryStoreOptions = {}) {
    this.#ivf = options.ivf ?? {};
  }

  /** memories stored (resolved or not) */
  get size(): number {
    return this.#pending.size + this.#resolved.size;
  }

  /** index statistics per comparable set, for benchmarks and diagnostics */
  indexStats(): { partition: string; size: number; lists: number; trainings: number; trainMs: number }[] {
    return [...this.#partitions].map(([partition, p]) => ({
      partition,
      size: p.index.size,
      lists: p.index.lists,
      trainings: p.index.trainings,
      trainMs: p.index.trainMs,
    }));
  }

  // async so that a validation error becomes a rejected promise, as in PgMemoryStore
  async store(situations: readonly Situation[]): Promise<StoreResult> {
    return this.storeSync(situations);
  }

  async resolve(outcomes: readonly Outcome[]): Promise<number> {
    return this.resolveSync(outcomes);
  }

  async recall(vector: ArrayLike<number>, options: RecallOptions): Promise<MemoryRecall> {
    return this.recallSync(vector, options);
  }

  storeSync(situations: readonly Situation[]): StoreResult {
    let inserted = 0;
    let resolved = 0;
    for (const s of situations) {
      checkSituation(s);
      const key = keyString(s);
      if (this.#resolved.has(key)) continue;
      const existing = this.#pending.get(key);
      if (existing) {
        // stored before without its outcome: fill it in (the first outcome wins, as in Postgres)
        if (s.outcome) {
          this.#index(key, existing, s.outcome);
          resolved++;
        }
        continue;
      }
      const p: Pending = { situation: s, vec: Float32Array.from(s.features) };
      inserted++;
      if (s.outcome) this.#index(key, p, s.outcome);
      else this.#pending.set(key, p);
    }
    return { inserted, resolved };
  }

  resolveSync(outcomes: readonly Outcome[]): number {
    let n = 0;
    for (const o of outcomes) {
      checkOutcome(o);
      const key = keyString(o);
      const p = this.#pending.get(key);
      if (!p) continue; // unknown or already resolved
      this.#index(key, p, o);
      n++;
    }
    return n;
  }

  recallSync(vector: ArrayLike<number>, o: RecallOptions): MemoryRecall {
    const horizonBars = checkRecall(vector, o);
    const part = this.#partitions.get(partitionKey(o.timeframe, o.featureVersion, horizonBars));
    const neighbours: RecalledMemory[] = [];
    if (part) {
      const series = o.scope === 'same-symbol' ? (this.#series.get(`${o.exchange}|${o.symbol}`) ?? -2) : -1;
      if (series !== -2) {
        const q = vector.length <= this.#q.length ? this.#q.subarray(0, vector.length) : new Float32Array(vector.length);
        for (let i = 0; i < vector.length; i++) q[i] = vector[i]!;
        const top = new TopK(o.k);
        const filter = { asOf: o.asOf, series };
        if (this.#ivf === false) part.index.searchExact(q, filter, top);
        else part.index.search(q, filter, top);
        for (let i = 0; i < top.size; i++) neighbours.push(this.#recalled(part.entries[top.ids[i]!]!, Math.sqrt(top.dist[i]!)));
      }
    }
    return toRecall(o, neighbours);
  }

  /** Exact recall regardless of the index (the reference when measuring the index's recall@k). */
  recallExactSync(vector: ArrayLike<number>, o: RecallOptions): MemoryRecall {
    const horizonBars = checkRecall(vector, o);
    const part = this.#partitions.get(partitionKey(o.timeframe, o.featureVersion, horizonBars));
    const neighbours: RecalledMemory[] = [];
    const series = o.scope === 'same-symbol' ? (this.#series.get(`${o.exchange}|${o.symbol}`) ?? -2) : -1;
    if (part && series !== -2) {
      const top = new TopK(o.k);
      part.index.searchExact(Float32Array.from(vector), { asOf: o.asOf, series }, top);
      for (let i = 0; i < top.size; i++) neighbours.push(this.#recalled(part.entries[top.ids[i]!]!, Math.sqrt(top.dist[i]!)));
    }
    return toRecall(o, neighbours);
  }

  #recalled(e: Entry, distance: number): RecalledMemory {
    // ids are hashes of the key: computed only for memories that are actually recalled
    e.id ??= memoryId(e);
    return {
      memoryId: e.id,
      exchange: e.exchange,
      symbol: e.symbol,
      timeframe: e.timeframe,
      ts: e.ts,
      distance,
      horizonBars: e.horizonBars,
      forwardReturn: e.forwardReturn,
      mfe: e.mfe,
      mae: e.mae,
      resolvedAt: e.resolvedAt,
    };
  }

  #index(key: string, p: Pending, o: { forwardReturn: number; mfe: number; mae: number; resolvedAt: number }): void {
    const s = p.situation;
    const pk = partitionKey(s.timeframe, s.featureVersion, s.horizonBars);
    let part = this.#partitions.get(pk);
    if (!part) {
      part = { index: new IvfIndex(p.vec.length, this.#ivf === false ? { trainAt: Infinity, retrainAt: Infinity } : this.#ivf), entries: [] };
      this.#partitions.set(pk, part);
    }
    if (p.vec.length !== part.index.dim) {
      throw new RangeError(`memory ${key} has ${p.vec.length} features, its comparable set has ${part.index.dim}`);
    }
    const sk = `${s.exchange}|${s.symbol}`;
    let series = this.#series.get(sk);
    if (series === undefined) {
      series = this.#series.size;
      this.#series.set(sk, series);
    }
    part.index.add(p.vec, o.resolvedAt, series);
    part.entries.push({
      exchange: s.exchange,
      symbol: s.symbol,
      timeframe: s.timeframe,
      ts: s.ts,
      horizonBars: s.horizonBars,
      featureVersion: s.featureVersion,
      forwardReturn: o.forwardReturn,
      mfe: o.mfe,
      mae: o.mae,
      resolvedAt: o.resolvedAt,
      id: null,
    });
    this.#pending.delete(key);
    this.#resolved.add(key);
  }
}

function partitionKey(tf: string, fv: number, h: number): string {
  return `${tf}|${fv}|${h}`;
}
