import { Worker } from 'node:worker_threads';
import type { MemoryRecall, MemoryScope, RecalledMemory, Timeframe } from '@meridian/contracts';
import { AppError } from '@meridian/core';
import { FEATURE_VERSION, type Bar } from '@meridian/market';
import { DEFAULT_HORIZON_BARS, memoryId, toRecall, type HnswOptions, type MemorySeriesRef } from '@meridian/memory';
import type { MemoryRecaller, MemoryRecallOptions } from '@meridian/orchestrator';
import { CONSUMED, maxRecordLength, NEIGHBOUR_VALUES, PUBLISHED, type BackgroundMemoryMessage, type BackgroundMemoryWorkerData } from './background-memory-worker.ts';
import { ThreadSignal } from './thread-signal.ts';

export interface BackgroundMemoryOptions {
  /** the in-process store's index settings (InProcessMemoryStore's `index`; default: its defaults) */
  readonly index?: HnswOptions | false;
  /** recalls per batch from the memory thread (default 256; fewer when k is so large that a 64k-value ring slot cannot hold that many) */
  readonly batchRecalls?: number;
  /** how many batches the memory thread may be ahead of the replay (default 16) */
  readonly maxAhead?: number;
}

export interface BackgroundMemorySeries {
  readonly exchange: string;
  readonly symbol: string;
  readonly timeframe: Timeframe;
  readonly bars: readonly Bar[];
}

export interface BackgroundMemorySettings {
  readonly timeframeMs: number;
  readonly k: number;
  readonly scope: MemoryScope;
  readonly horizonBars: number;
}

/**
 * A backtest's memory on a second thread. The memory a backtest recalls from depends only on the candles —
 * situations and their outcomes, never the decisions — so the whole memory side of a run (features,
 * situations, outcomes, the in-process store, and the recall for every bar) can run ahead of the replay on
 * another core. The memory thread (background-memory-worker.ts) replays the same bars in the engine's order
 * through the same FeatureEngine, MemoryBuilder and InProcessMemoryStore as a single-threaded run, and
 * sends each bar's recall here; the recall node then gets it from `recallSync`/`recall`.
 *
 * Nothing is taken on trust: every recall is checked against what the node asks for — same series, same
 * `asOf`, k and scope, and a bit-identical feature vector — and a mismatch stops the run (INTERNAL) rather
 * than hand over another bar's memory. A run with it writes the same decisions.jsonl, byte for byte, as a run
 * with an InProcessMemoryStore on the replay thread (background-memory.test.ts).
 *
 * Batches travel through a ring of shared slots (a SharedArrayBuffer of `maxAhead` slots; batch n in slot n %
 * maxAhead, written only once this side has finished batch n − maxAhead), so nothing is allocated, copied or
 * transferred per batch; a message only announces the slot, the count and any new series.
 * Record layout (one per recall, in its batch's slot): series index, asOf, dim, the dim vector values,
 * the neighbour count, and per neighbour NEIGHBOUR_VALUES values: its series' ordinal (an index into the series
 * table the batches extend), its memory's wire id (an index into the memoryIds this side derives from the keys),
 * ts, distance, forwardReturn, mfe, mae, resolvedAt.
 */
export class BackgroundMemory implements MemoryRecaller {
  readonly #options: BackgroundMemoryOptions;
  #worker: Worker | null = null;
  #series: readonly BackgroundMemorySeries[] = [];
  #settings: BackgroundMemorySettings | null = null;
  #counters: Int32Array | null = null;
  #ring: Float64Array | null = null;
  #slotLength = 0;
  readonly #queue: { slot: number; count: number }[] = [];
  /** memoryIds by wire id (derived here from the key when a wire id first appears), and the neighbours' series by ordinal */
  readonly #memoryIds: string[] = [];
  readonly #neighbourSeries: MemorySeriesRef[] = [];
  #p = 0;
  #left = 0;
  #done = false;
  readonly #signal = new ThreadSignal();
  #terminating = false;
  /** time the replay spent waiting for the memory thread, ms */
  waitMs = 0;
  /** recalls handed out */
  recalls = 0;

  constructor(options: BackgroundMemoryOptions = {}) {
    this.#options = options;
  }

  /** Starts the memory thread on the run's series (the bars the engine will replay, in its order). Once. */
  start(series: readonly BackgroundMemorySeries[], settings: BackgroundMemorySettings): void {
    if (this.#worker !== null) throw new AppError('INTERNAL', 'the background memory was started twice: use one per run');
    this.#series = series;
    this.#settings = settings;
    const counters = new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
    this.#counters = counters;
    const maxRecord = maxRecordLength(settings.k);
    // a slot holds at most 64k values (512 KiB): a large k means fewer recalls per batch, not a larger ring
    const batchRecalls = Math.max(1, Math.min(Math.floor(this.#options.batchRecalls ?? 256), Math.floor(65_536 / maxRecord)));
    const maxAhead = Math.max(1, Math.floor(this.#options.maxAhead ?? 16));
    const slotLength = batchRecalls * maxRecord;
    const ring = new Float64Array(new SharedArrayBuffer(maxAhead * slotLength * Float64Array.BYTES_PER_ELEMENT));
    this.#ring = ring;
    this.#slotLength = slotLength;
    const entry = new URL('./background-memory-worker.ts', import.meta.url).href;
    const data: BackgroundMemoryWorkerData = {
      role: 'meridian-background-memory',
      entry,
      series: series.map((s) => ({ exchange: s.exchange, symbol: s.symbol, timeframe: s.timeframe, ohlcv: packBars(s.bars) })),
      timeframeMs: settings.timeframeMs,
      k: settings.k,
      scope: settings.scope,
      horizonBars: settings.horizonBars,
      index: this.#options.index,
      batchRecalls,
      maxAhead,
      counters,
      ring,
      slotLength,
    };
    const worker = new Worker(new URL('./ts-worker-boot.mjs', import.meta.url), {
      workerData: data,
      transferList: data.series.map((s) => s.ohlcv.buffer as ArrayBuffer),
      // the package-exports condition the sources are loaded by; the boot file registers the TypeScript loader
      execArgv: ['--conditions=@meridian/source'],
    });
    worker.on('message', (m: BackgroundMemoryMessage) => {
      if (m.type === 'batch') {
        for (const s of m.series) this.#neighbourSeries.push(s);
        this.#queue.push({ slot: m.slot, count: m.count });
      } else if (m.type === 'done') {
        this.#done = true;
      } else {
        // bad data stays a VALIDATION error (its exit code); anything else is the memory thread's failure
        this.#signal.fail(new AppError(m.code === 'VALIDATION' ? 'VALIDATION' : 'INTERNAL', `the background memory failed: ${m.message}${m.code === null ? '' : ` (${m.code})`}`));
      }
      this.#signal.wake();
    });
    worker.on('error', (e) => this.#signal.fail(new AppError('INTERNAL', `the background memory thread failed: ${e.message}`)));
    worker.on('exit', (code) => {
      if (!this.#terminating && !this.#done) this.#signal.fail(new AppError('INTERNAL', `the background memory thread exited unexpectedly (code ${code})`));
    });
    this.#worker = worker;
  }

  /** true when the next recall has arrived (then `recallSync` answers without waiting) */
  get available(): boolean {
    if (this.#signal.error !== null) throw this.#signal.error;
    return this.#left > 0 || this.#next();
  }

  /** resolves once the next recall has arrived */
  async whenAvailable(): Promise<void> {
    const t0 = performance.now();
    while (!this.available) {
      if (this.#done) throw new AppError('INTERNAL', 'the background memory has no more recalls, but the replay asked for one');
      await this.#signal.next();
    }
    this.waitMs += performance.now() - t0;
  }

  async recall(vector: ArrayLike<number>, o: MemoryRecallOptions): Promise<MemoryRecall> {
    if (!this.available) await this.whenAvailable();
    return this.recallSync(vector, o);
  }

  recallSync(vector: ArrayLike<number>, o: MemoryRecallOptions): MemoryRecall {
    if (!this.available) throw new AppError('INTERNAL', 'no background recall has arrived yet: await whenAvailable() before the decision');
    const f = this.#ring!;
    let p = this.#p;
    const s = this.#series[f[p++]!]!;
    const asOf = f[p++]!;
    const dim = f[p++]!;
    const st = this.#settings!;
    const where = `${s.exchange} ${s.symbol} ${s.timeframe} at ${asOf}`;
    if (o.exchange !== s.exchange || o.symbol !== s.symbol || o.timeframe !== s.timeframe || o.asOf !== asOf)
      throw outOfStep(`the recall node asked for ${o.exchange} ${o.symbol} ${o.timeframe} at ${o.asOf}, the memory thread's next recall is for ${where}`);
    const horizon = o.horizonBars ?? DEFAULT_HORIZON_BARS;
    if (o.k !== st.k || o.scope !== st.scope || horizon !== st.horizonBars || o.featureVersion !== FEATURE_VERSION)
      throw outOfStep(
        `the recall node asked for k ${o.k}, scope ${o.scope}, horizon ${horizon}, feature version ${o.featureVersion}; the memory thread recalls k ${st.k}, scope ${st.scope}, horizon ${st.horizonBars}, feature version ${FEATURE_VERSION}`,
      );
    if (vector.length !== dim) throw outOfStep(`the recall vector for ${where} has ${vector.length} features, the memory thread's ${dim}`);
    for (let j = 0; j < dim; j++) {
      if (!Object.is(vector[j], f[p + j])) throw outOfStep(`the recall vector for ${where} differs from the memory thread's at feature ${j}`);
    }
    p += dim;
    const n = f[p++]!;
    const ids = this.#memoryIds;
    const seriesOf = this.#neighbourSeries;
    const neighbours: RecalledMemory[] = [];
    for (let i = 0; i < n; i++, p += NEIGHBOUR_VALUES) {
      const ns = seriesOf[f[p]!];
      const wire = f[p + 1]!;
      const ts = f[p + 2]!;
      if (ns === undefined) throw outOfStep(`a neighbour of the recall for ${where} is of series ${f[p]}, which the memory thread has not named`);
      // wire ids come in the order memories first appear: the next one is a new memory, any other must be known
      if (wire === ids.length) ids.push(memoryId({ ...ns, ts }));
      const id = ids[wire];
      if (id === undefined) throw outOfStep(`a neighbour of the recall for ${where} has wire id ${wire}; the next new one is ${ids.length}`);
      neighbours.push({
        memoryId: id,
        exchange: ns.exchange,
        symbol: ns.symbol,
        timeframe: ns.timeframe,
        ts,
        distance: f[p + 3]!,
        horizonBars: ns.horizonBars,
        forwardReturn: f[p + 4]!,
        mfe: f[p + 5]!,
        mae: f[p + 6]!,
        resolvedAt: f[p + 7]!,
      });
    }
    this.#p = p;
    this.recalls++;
    // the batch is read: its slot may take the memory thread's next batch
    if (--this.#left === 0) {
      Atomics.add(this.#counters!, CONSUMED, 1);
      Atomics.notify(this.#counters!, CONSUMED);
    }
    // the MemoryRecall the store would have returned
    return toRecall(o, neighbours);
  }

  /** Stops the memory thread (at the end of a run, or after a failure). */
  async close(): Promise<void> {
    const w = this.#worker;
    if (w === null) return;
    this.#terminating = true;
    await w.terminate();
  }

  /** moves to the next batch when the current one is used up; false when none has arrived */
  #next(): boolean {
    const b = this.#queue.shift();
    if (b === undefined) return false;
    // pairs with the memory thread's Atomics.store before it announced the batch (its slot writes are visible after it)
    Atomics.load(this.#counters!, PUBLISHED);
    if (!(b.count > 0)) throw new AppError('INTERNAL', `the background memory announced an empty batch in slot ${b.slot}`);
    this.#p = b.slot * this.#slotLength;
    this.#left = b.count;
    return true;
  }
}

function outOfStep(detail: string): AppError {
  return new AppError('INTERNAL', `background memory out of step with the replay: ${detail}`, {
    hint: 'the memory thread must see the same bars in the same order as the engine; this is a bug, please report it with the command line',
  });
}

function packBars(bars: readonly Bar[]): Float64Array {
  const a = new Float64Array(bars.length * 6);
  let p = 0;
  for (const b of bars) {
    a[p++] = b.ts;
    a[p++] = b.open;
    a[p++] = b.high;
    a[p++] = b.low;
    a[p++] = b.close;
    a[p++] = b.volume;
  }
  return a;
}
