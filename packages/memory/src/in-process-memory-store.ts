import type { MemoryRecall, RecalledMemory, Timeframe } from '@meridian/contracts';
import { HnswIndex, TopK, type HnswOptions, type HnswPaths } from './hnsw-index.ts';
import { deterministicId } from '@meridian/core';
import type { MemoryKey, MemoryOutcomeValues, MemoryStore, Outcome, RecallOptions, Situation, StoreResult } from './memory-store.ts';
import { checkOutcome, checkRecall, checkSituation, keyString, toRecall } from './memory-validation.ts';

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

/** The key a series' memories share (their ts aside), as `NearestColumns` names a neighbour's series. */
export interface MemorySeriesRef {
  readonly exchange: string;
  readonly symbol: string;
  readonly timeframe: Timeframe;
  readonly featureVersion: number;
  readonly horizonBars: number;
}

/**
 * `nearestColumns`' answer: the same neighbours in the same order as a recall's, as columns — no object per
 * neighbour, for a caller that ships them elsewhere as numbers (the backtest's memory thread). The store
 * reuses it: it holds the last call's answer until the next call.
 */
export class NearestColumns {
  size = 0;
  #series: Series[] = [];
  /** each neighbour's position in its series (0, 1, … in the order its memories were resolved): with the series, a key for its memoryId */
  entry = new Int32Array(0);
  distance = new Float64Array(0);
  ts = new Float64Array(0);
  forwardReturn = new Float64Array(0);
  mfe = new Float64Array(0);
  mae = new Float64Array(0);
  resolvedAt = new Float64Array(0);

  /** neighbour i's series: the same object for every neighbour of that series, for the store's life */
  series(i: number): MemorySeriesRef {
    return this.#at(i).ref;
  }

  /** neighbour i as the RecalledMemory a recall returns */
  recalled(i: number): RecalledMemory {
    const s = this.#at(i);
    const key = s.ref;
    return {
      memoryId: idOf(s, this.entry[i]!),
      exchange: key.exchange,
      symbol: key.symbol,
      timeframe: key.timeframe,
      ts: this.ts[i]!,
      distance: this.distance[i]!,
      horizonBars: key.horizonBars,
      forwardReturn: this.forwardReturn[i]!,
      mfe: this.mfe[i]!,
      mae: this.mae[i]!,
      resolvedAt: this.resolvedAt[i]!,
    };
  }

  /** empties it for an answer of at most k neighbours */
  reset(k: number): void {
    this.size = 0;
    this.#series.length = 0;
    if (this.entry.length < k) {
      this.entry = new Int32Array(k);
      this.distance = new Float64Array(k);
      this.ts = new Float64Array(k);
      this.forwardReturn = new Float64Array(k);
      this.mfe = new Float64Array(k);
      this.mae = new Float64Array(k);
      this.resolvedAt = new Float64Array(k);
    }
  }

  /** appends entry `i` of series `s` at `distance` */
  push(s: Series, i: number, distance: number): void {
    const n = this.size++;
    const e = s.entries;
    this.#series.push(s);
    this.entry[n] = i;
    this.distance[n] = distance;
    this.ts[n] = e.ts[i]!;
    this.forwardReturn[n] = e.forwardReturn[i]!;
    this.mfe[n] = e.mfe[i]!;
    this.mae[n] = e.mae[i]!;
    this.resolvedAt[n] = e.resolvedAt[i]!;
  }

  #at(i: number): Series {
    if (!(i >= 0 && i < this.size)) throw new RangeError(`nearest columns: no neighbour ${i} (the answer has ${this.size})`);
    return this.#series[i]!;
  }
}

/** a memory's id: deterministicId of its key (memoryId), computed only for memories that are actually recalled, once */
function idOf(s: Series, i: number): string {
  const ids = s.entries.ids;
  let id = ids[i];
  if (id === undefined) id = ids[i] = deterministicId(s.idPrefix + s.entries.ts[i]! + s.idSuffix);
  return id;
}

/** One comparable set: the memories of one series for one (timeframe, feature version, horizon). */
interface Series {
  readonly exchange: string;
  readonly symbol: string;
  /** its key (exchange, symbol and its partition's timeframe, feature version and horizon) as callers see it (NearestColumns.series): frozen, one per series */
  readonly ref: MemorySeriesRef;
  /** creation order in its partition: breaks distance ties between series in all-symbols recall */
  readonly order: number;
  readonly part: Partition;
  readonly index: HnswIndex;
  /** the resolved memories by index id (insertion order), column by column (no object per memory) */
  readonly entries: Entries;
  /** a memory's id is deterministicId(idPrefix + ts + idSuffix), i.e. memoryId(its key) */
  readonly idPrefix: string;
  readonly idSuffix: string;
}

class Entries {
  ts: Float64Array<ArrayBuffer>;
  forwardReturn: Float64Array<ArrayBuffer>;
  mfe: Float64Array<ArrayBuffer>;
  mae: Float64Array<ArrayBuffer>;
  resolvedAt: Float64Array<ArrayBuffer>;
  /** memoryIds, computed on first recall */
  readonly ids: (string | undefined)[] = [];
  n = 0;

  constructor(capacity: number) {
    const c = Math.max(16, capacity);
    this.ts = new Float64Array(c);
    this.forwardReturn = new Float64Array(c);
    this.mfe = new Float64Array(c);
    this.mae = new Float64Array(c);
    this.resolvedAt = new Float64Array(c);
  }

  push(ts: number, o: MemoryOutcomeValues): void {
    if (this.n === this.ts.length) {
      this.ts = grow(this.ts);
      this.forwardReturn = grow(this.forwardReturn);
      this.mfe = grow(this.mfe);
      this.mae = grow(this.mae);
      this.resolvedAt = grow(this.resolvedAt);
    }
    const i = this.n++;
    this.ts[i] = ts;
    this.forwardReturn[i] = o.forwardReturn;
    this.mfe[i] = o.mfe;
    this.mae[i] = o.mae;
    this.resolvedAt[i] = o.resolvedAt;
    this.ids.push(undefined);
  }
}

function grow(a: Float64Array): Float64Array<ArrayBuffer> {
  const b = new Float64Array(a.length * 2);
  b.set(a);
  return b;
}

/**
 * The memories of one key prefix (exchange, symbol, timeframe, feature version, horizon) by ts:
 * the unresolved ones with their vectors, the resolved ones' ts; and once one is resolved, its
 * partition and series. Keyed by ts (a number) instead of a string per memory.
 */
interface Book {
  readonly exchange: string;
  readonly symbol: string;
  readonly timeframe: Timeframe;
  readonly featureVersion: number;
  readonly horizonBars: number;
  readonly pending: Map<number, Float32Array>;
  readonly resolved: Set<number>;
  part: Partition | null;
  series: Series | null;
  /** memories the caller expects this series to get (reserve): the index's first capacity */
  capacity: number;
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
  readonly #books = new Map<string, Book>();
  /** the last book used (a backtest writes one series at a time) */
  #book: Book | null = null;
  #pendingN = 0;
  #resolvedN = 0;
  readonly #partitions = new Map<string, Partition>();
  /** the last same-symbol recall's series and what it was for */
  #recallSeries: Series | null = null;
  readonly #q = new Float32Array(256);
  /** reused result lists, by k */
  readonly #tops = new Map<number, TopK>();
  /** the answer of the last recall, as columns (reused) */
  readonly #columns = new NearestColumns();

  constructor(options: InProcessMemoryStoreOptions = {}) {
    this.#index = options.index ?? {};
  }

  /** memories stored (resolved or not) */
  get size(): number {
    return this.#pendingN + this.#resolvedN;
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

  /**
   * A capacity hint: the series of `key` (its exchange, symbol, timeframe, feature version and horizon;
   * `ts` is not read) will hold about `memories` memories, so its index and columns are allocated
   * once at that size instead of doubling their way there. Optional: without it they grow as needed.
   */
  reserve(key: Omit<MemoryKey, 'ts'>, memories: number): void {
    if (!Number.isInteger(memories) || memories < 1) throw new RangeError(`reserve: memories must be a positive integer, got ${memories}`);
    const b = this.#bookOf({ ...key, ts: 0 });
    b.capacity = Math.max(b.capacity, memories);
    b.series?.index.reserve(memories);
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
      const b = this.#bookOf(s);
      const ts = s.ts;
      if (b.resolved.has(ts)) continue;
      const existing = b.pending.get(ts);
      if (existing !== undefined) {
        // stored before without its outcome: fill it in (the first outcome wins, as in Postgres)
        if (s.outcome) {
          this.#add(b, ts, existing, s.outcome);
          resolved++;
        }
        continue;
      }
      const vec = new Float32Array(s.features);
      inserted++;
      if (s.outcome) {
        this.#add(b, ts, vec, s.outcome);
      } else {
        b.pending.set(ts, vec);
        this.#pendingN++;
      }
    }
    return { inserted, resolved };
  }

  resolveSync(outcomes: readonly Outcome[]): number {
    let n = 0;
    for (const o of outcomes) {
      checkOutcome(o);
      const b = this.#bookOf(o);
      const vec = b.pending.get(o.ts);
      if (vec === undefined) continue; // unknown or already resolved
      this.#add(b, o.ts, vec, o);
      n++;
    }
    return n;
  }

  recallSync(vector: ArrayLike<number>, o: RecallOptions): MemoryRecall {
    return toRecall(o, this.#objects(this.#nearest(vector, o, false)));
  }

  /**
   * The neighbours `recallSync` returns, without the statistics and as columns (`NearestColumns`, reused by
   * the next call): for a caller that ships them elsewhere and builds the MemoryRecall there with `toRecall`
   * (the backtest's memory thread).
   */
  nearestColumns(vector: ArrayLike<number>, o: RecallOptions): NearestColumns {
    return this.#nearest(vector, o, false);
  }

  /** Exact recall regardless of the index (the reference when measuring the index's recall@k). */
  recallExactSync(vector: ArrayLike<number>, o: RecallOptions): MemoryRecall {
    return toRecall(o, this.#objects(this.#nearest(vector, o, true)));
  }

  #objects(c: NearestColumns): RecalledMemory[] {
    const out: RecalledMemory[] = [];
    for (let i = 0; i < c.size; i++) out.push(c.recalled(i));
    return out;
  }

  #nearest(vector: ArrayLike<number>, o: RecallOptions, exact: boolean): NearestColumns {
    const horizonBars = checkRecall(vector, o);
    const out = this.#columns;
    out.reset(o.k);
    // the same series as the last same-symbol recall (the backtest's case): no lookups
    const last = this.#recallSeries;
    if (o.scope === 'same-symbol' && last !== null && last.symbol === o.symbol && last.exchange === o.exchange) {
      const p = last.part;
      if (p.timeframe === o.timeframe && p.featureVersion === o.featureVersion && p.horizonBars === horizonBars) {
        this.#same(p, last, vector, o, exact, out);
        return out;
      }
    }
    const part = this.#partitions.get(partitionKey(o.timeframe, o.featureVersion, horizonBars));
    if (part === undefined) return out;
    if (vector.length !== part.dim) throw new RangeError(`recall vector has ${vector.length} features, its comparable set has ${part.dim}`);
    if (o.scope === 'same-symbol' || part.list.length === 1) {
      const s = o.scope === 'same-symbol' ? part.bySeries.get(seriesKey(o.exchange, o.symbol)) : part.list[0];
      if (s === undefined) return out;
      if (o.scope === 'same-symbol') this.#recallSeries = s;
      this.#same(part, s, vector, o, exact, out);
      return out;
    }
    const q = this.#query(vector);
    const top = this.#top(o.k);
    // all symbols: the k nearest of each series, merged by distance, then series order, then id
    const found: { d: number; s: Series; id: number }[] = [];
    for (const s of part.list) {
      this.#search(s, q, o.asOf, top, exact);
      for (let i = 0; i < top.size; i++) found.push({ d: top.dist[i]!, s, id: top.ids[i]! });
    }
    found.sort((a, b) => a.d - b.d || a.s.order - b.s.order || a.id - b.id);
    for (let i = 0; i < found.length && i < o.k; i++) {
      const f = found[i]!;
      out.push(f.s, f.id, Math.sqrt(f.d));
    }
    return out;
  }

  /** one series' k nearest into out */
  #same(part: Partition, s: Series, vector: ArrayLike<number>, o: RecallOptions, exact: boolean, out: NearestColumns): void {
    if (vector.length !== part.dim) throw new RangeError(`recall vector has ${vector.length} features, its comparable set has ${part.dim}`);
    const q = this.#query(vector);
    const top = this.#top(o.k);
    this.#search(s, q, o.asOf, top, exact);
    for (let i = 0; i < top.size; i++) out.push(s, top.ids[i]!, Math.sqrt(top.dist[i]!));
  }

  #query(vector: ArrayLike<number>): Float32Array {
    const q = vector.length <= this.#q.length ? this.#q.subarray(0, vector.length) : new Float32Array(vector.length);
    for (let i = 0; i < vector.length; i++) q[i] = vector[i]!;
    return q;
  }

  /** the book of a key's (exchange, symbol, timeframe, feature version, horizon) */
  #bookOf(k: MemoryKey): Book {
    const b = this.#book;
    if (b !== null && b.symbol === k.symbol && b.exchange === k.exchange && b.timeframe === k.timeframe && b.featureVersion === k.featureVersion && b.horizonBars === k.horizonBars) return b;
    // the exchange's length first: exchange and symbol may contain the separator
    const bk = `${k.exchange.length}|${k.exchange}|${k.symbol}|${k.timeframe}|${k.featureVersion}|${k.horizonBars}`;
    let book = this.#books.get(bk);
    if (book === undefined) {
      book = { exchange: k.exchange, symbol: k.symbol, timeframe: k.timeframe, featureVersion: k.featureVersion, horizonBars: k.horizonBars, pending: new Map(), resolved: new Set(), part: null, series: null, capacity: 1024 };
      this.#books.set(bk, book);
    }
    this.#book = book;
    return book;
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

  #add(b: Book, ts: number, vec: Float32Array, o: MemoryOutcomeValues): void {
    let part = b.part;
    if (part === null) {
      const pk = partitionKey(b.timeframe, b.featureVersion, b.horizonBars);
      part = this.#partitions.get(pk) ?? null;
      if (part === null) {
        part = { timeframe: b.timeframe, featureVersion: b.featureVersion, horizonBars: b.horizonBars, dim: vec.length, bySeries: new Map(), list: [] };
        this.#partitions.set(pk, part);
      }
    }
    if (vec.length !== part.dim) throw new RangeError(`memory ${keyString({ ...b, ts })} has ${vec.length} features, its comparable set has ${part.dim}`);
    b.part = part;
    let series = b.series;
    if (series === null) {
      const sk = seriesKey(b.exchange, b.symbol);
      series = part.bySeries.get(sk) ?? null;
      if (series === null) {
        // memoryId(key) = deterministicId(`memory|${keyString(key)}`), keyString = exchange|symbol|timeframe|ts|featureVersion|horizonBars
        const idPrefix = `memory|${b.exchange}|${b.symbol}|${b.timeframe}|`;
        const idSuffix = `|${b.featureVersion}|${b.horizonBars}`;
        series = { exchange: b.exchange, symbol: b.symbol, ref: Object.freeze({ exchange: b.exchange, symbol: b.symbol, timeframe: b.timeframe, featureVersion: b.featureVersion, horizonBars: b.horizonBars }), order: part.list.length, part, index: new HnswIndex(part.dim, this.#index, b.capacity), entries: new Entries(b.capacity), idPrefix, idSuffix };
        part.bySeries.set(sk, series);
        part.list.push(series);
      }
      b.series = series;
    }
    series.index.add(vec, o.resolvedAt);
    series.entries.push(ts, o);
    if (b.pending.delete(ts)) this.#pendingN--;
    b.resolved.add(ts);
    this.#resolvedN++;
  }
}

/** the exchange's length first: exchange and symbol may contain the separator */
function seriesKey(exchange: string, symbol: string): string {
  return `${exchange.length}|${exchange}|${symbol}`;
}

function partitionKey(tf: string, fv: number, h: number): string {
  return `${tf}|${fv}|${h}`;
}
