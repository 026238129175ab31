import type { MemoryRecall, RecalledMemory, Timeframe } from '@meridian/contracts';
import { HnswIndex, TopK, type HnswOptions, type HnswPaths } from './hnsw-index.ts';
import type { MemoryStore, Outcome, RecallOptions, Situation, StoreResult } from './memory-store.ts';
import { checkOutcome, checkRecall, checkSituation, keyString, memoryId, toRecall } from './memory-validation.ts';

export interface InProcessMemoryStoreOptions {
  /**
   * The search index of each series (exchange, symbol, timeframe, feature version, horizon):
   * HNSW settings (`HnswOptions`: m 12, efConstruction 40, efSearch 32, exact brute force below
   * 4,096 memories per series, int8 codes at quantScale 64 for the graph with an exact float32
   * re-rank — the defaults), or `false` for exact brute force always (reference
   * runs, small sets). Whatever the setting, the point-in-time and scope filters are exact; only the
   * ranking of a large series is approximate (recall@10 measured in bench/memory.bench.ts).
   */
  readonly index?: HnswOptions | false;
}

interface Entry {
  readonly ts: number;
  readonly forwardReturn: number;
  readonly mfe: number;
  readonly mae: number;
  readonly resolvedAt: number;
  id: string | null;
}

/** One comparable set: the memories of one series for one (timeframe, feature version, horizon). */
interface Series {
  readonly exchange: string;
  readonly symbol: string;
  /** creation order in its partition: breaks distance ties between series in all-symbols recall */
  readonly order: number;
  readonly index: HnswIndex;
  /** by index id (insertion order) */
  readonly entries: Entry[];
}

/** The series that may be compared: same timeframe, feature version and horizon. */
interface Partition {
  readonly timeframe: Timeframe;
  readonly featureVersion: number;
  readonly horizonBars: number;
  readonly dim: number;
  readonly bySeries: Map<string, Series>;
  readonly list: Series[];
}

interface Pending {
  readonly situation: Situation;
  readonly vec: Float32Array;
}

/**
 * The memory for the backtest hot path: everything in this process, same contract and same
 * point-in-time rule as PgMemoryStore, deterministic (same calls → same answers and ids).
 * A memory enters its series' search index when it is resolved, tagged with its resolvedAt; a
 * recall returns only entries resolved at or before asOf. Same-symbol recall searches its series'
 * index; all-symbols recall searches every series of the partition and merges by distance (ties:
 * series in creation order, then insertion order). Each index is an HNSW graph (hnsw-index.ts) above
 * 4,096 memories and brute force below; see docs/memory.md for the design and its figures.
 *
 * The `*Sync` methods are the same operations without promises, for the fast runner.
 */
export class InProcessMemoryStore implements MemoryStore {
  readonly #index: HnswOptions | false;
  readonly #pending = new Map<string, Pending>();
  /** keys of resolved memories */
  readonly #resolved = new Set<string>();
  readonly #partitions = new Map<string, Partition>();
  readonly #q = new Float32Array(256);
  /** reused result lists, by k */
  readonly #tops = new Map<number, TopK>();

  constructor(options: InProcessMemoryStoreOptions = {}) {
    this.#index = options.index ?? {};
  }

  /** memories stored (resolved or not) */
  get size(): number {
    return this.#pending.size + this.#resolved.size;
  }

  /** index statistics per series, for benchmarks and diagnostics */
  indexStats(): { partition: string; series: string; size: number; graphSize: number; maxLevel: number; paths: HnswPaths; warmStarts: number; hintedInserts: number }[] {
    const out = [];
    for (const [pk, p] of this.#partitions) {
      for (const s of p.list) {
        const ix = s.index;
        out.push({ partition: pk, series: `${s.exchange}|${s.symbol}`, size: ix.size, graphSize: ix.graphSize, maxLevel: ix.maxLevel, paths: { ...ix.paths }, warmStarts: ix.warmStarts, hintedInserts: ix.hintedInserts });
      }
    }
    return out;
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
          this.#add(key, existing, s.outcome);
          resolved++;
        }
        continue;
      }
      const p: Pending = { situation: s, vec: Float32Array.from(s.features) };
      inserted++;
      if (s.outcome) this.#add(key, p, s.outcome);
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
      this.#add(key, p, o);
      n++;
    }
    return n;
  }

  recallSync(vector: ArrayLike<number>, o: RecallOptions): MemoryRecall {
    return this.#recall(vector, o, false);
  }

  /** Exact recall regardless of the index (the reference when measuring the index's recall@k). */
  recallExactSync(vector: ArrayLike<number>, o: RecallOptions): MemoryRecall {
    return this.#recall(vector, o, true);
  }

  #recall(vector: ArrayLike<number>, o: RecallOptions, exact: boolean): MemoryRecall {
    const horizonBars = checkRecall(vector, o);
    const part = this.#partitions.get(partitionKey(o.timeframe, o.featureVersion, horizonBars));
    const neighbours: RecalledMemory[] = [];
    if (part === undefined) return toRecall(o, neighbours);
    if (vector.length !== part.dim) throw new RangeError(`recall vector has ${vector.length} features, its comparable set has ${part.dim}`);
    const q = vector.length <= this.#q.length ? this.#q.subarray(0, vector.length) : new Float32Array(vector.length);
    for (let i = 0; i < vector.length; i++) q[i] = vector[i]!;
    const top = this.#top(o.k);
    if (o.scope === 'same-symbol' || part.list.length === 1) {
      const s = o.scope === 'same-symbol' ? part.bySeries.get(`${o.exchange}|${o.symbol}`) : part.list[0];
      if (s === undefined) return toRecall(o, neighbours);
      this.#search(s, q, o.asOf, top, exact);
      for (let i = 0; i < top.size; i++) neighbours.push(this.#recalled(part, s, s.entries[top.ids[i]!]!, Math.sqrt(top.dist[i]!)));
      return toRecall(o, neighbours);
    }
    // all symbols: the k nearest of each series, merged by distance, then series order, then id
    const found: { d: number; s: Series; id: number }[] = [];
    for (const s of part.list) {
      this.#search(s, q, o.asOf, top, exact);
      for (let i = 0; i < top.size; i++) found.push({ d: top.dist[i]!, s, id: top.ids[i]! });
    }
    found.sort((a, b) => a.d - b.d || a.s.order - b.s.order || a.id - b.id);
    for (let i = 0; i < found.length && i < o.k; i++) {
      const f = found[i]!;
      neighbours.push(this.#recalled(part, f.s, f.s.entries[f.id]!, Math.sqrt(f.d)));
    }
    return toRecall(o, neighbours);
  }

  #search(s: Series, q: Float32Array, asOf: number, top: TopK, exact: boolean): void {
    if (exact) s.index.searchExact(q, asOf, top);
    else s.index.search(q, asOf, top);
  }

  #top(k: number): TopK {
    let t = this.#tops.get(k);
    if (t === undefined) {
      if (this.#tops.size >= 16) this.#tops.clear();
      t = new TopK(k);
      this.#tops.set(k, t);
    }
    return t;
  }

  #recalled(p: Partition, s: Series, e: Entry, distance: number): RecalledMemory {
    // ids are hashes of the key: computed only for memories that are actually recalled, once
    e.id ??= memoryId({ exchange: s.exchange, symbol: s.symbol, timeframe: p.timeframe, ts: e.ts, featureVersion: p.featureVersion, horizonBars: p.horizonBars });
    return {
      memoryId: e.id,
      exchange: s.exchange,
      symbol: s.symbol,
      timeframe: p.timeframe,
      ts: e.ts,
      distance,
      horizonBars: p.horizonBars,
      forwardReturn: e.forwardReturn,
      mfe: e.mfe,
      mae: e.mae,
      resolvedAt: e.resolvedAt,
    };
  }

  #add(key: string, p: Pending, o: { forwardReturn: number; mfe: number; mae: number; resolvedAt: number }): void {
    const s = p.situation;
    const pk = partitionKey(s.timeframe, s.featureVersion, s.horizonBars);
    let part = this.#partitions.get(pk);
    if (!part) {
      part = { timeframe: s.timeframe, featureVersion: s.featureVersion, horizonBars: s.horizonBars, dim: p.vec.length, bySeries: new Map(), list: [] };
      this.#partitions.set(pk, part);
    }
    if (p.vec.length !== part.dim) throw new RangeError(`memory ${key} has ${p.vec.length} features, its comparable set has ${part.dim}`);
    const sk = `${s.exchange}|${s.symbol}`;
    let series = part.bySeries.get(sk);
    if (series === undefined) {
      series = { exchange: s.exchange, symbol: s.symbol, order: part.list.length, index: new HnswIndex(part.dim, this.#index), entries: [] };
      part.bySeries.set(sk, series);
      part.list.push(series);
    }
    series.index.add(p.vec, o.resolvedAt);
    series.entries.push({ ts: s.ts, forwardReturn: o.forwardReturn, mfe: o.mfe, mae: o.mae, resolvedAt: o.resolvedAt, id: null });
    this.#pending.delete(key);
    this.#resolved.add(key);
  }
}

function partitionKey(tf: string, fv: number, h: number): string {
  return `${tf}|${fv}|${h}`;
}
