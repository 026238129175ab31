/**
 * The background memory's thread (see background-memory.ts for the main-thread side and the record layout).
 *
 * It replays the run's bars in the engine's order (earliest bar first; equal times in series order) through
 * its own FeatureEngine and MemoryBuilder per series, and an InProcessMemoryStore: per bar, the outcome
 * resolved at this close and this bar's situation are stored, then — once the features are warm — the recall
 * the run's recall node will ask for (the same vector, as of the bar's close). Nothing here depends on the
 * run's decisions, so this thread can run ahead of the replay. Results go to the main thread in batches.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { MemoryScope, Timeframe } from '@meridian/contracts';
import { FEATURE_DIM, FEATURE_VERSION, FeatureEngine, type Bar } from '@meridian/market';
import { InProcessMemoryStore, MemoryBuilder, type HnswOptions, type MemorySeriesRef } from '@meridian/memory';

export interface BackgroundMemoryWorkerData {
  readonly role: 'meridian-background-memory';
  readonly entry: string;
  /** per series: its key and its bars as [ts, open, high, low, close, volume] × n */
  readonly series: readonly { exchange: string; symbol: string; timeframe: Timeframe; ohlcv: Float64Array }[];
  readonly timeframeMs: number;
  readonly k: number;
  readonly scope: MemoryScope;
  readonly horizonBars: number;
  readonly index: HnswOptions | false | undefined;
  readonly batchRecalls: number;
  readonly maxAhead: number;
  /** Int32Array over a SharedArrayBuffer: [CONSUMED] batches the main thread has finished reading, [PUBLISHED] batches written (stored before each announcement) */
  readonly counters: Int32Array;
  /** Float64Array over a SharedArrayBuffer: maxAhead slots of slotLength values, batch n in slot n % maxAhead */
  readonly ring: Float64Array;
  readonly slotLength: number;
}

/** the most values one recall record can take: series, asOf, dim, the vector, the neighbour count, k neighbours */
export function maxRecordLength(k: number): number {
  return 4 + FEATURE_DIM + k * NEIGHBOUR_VALUES;
}

/** indexes of BackgroundMemoryWorkerData.counters */
export const CONSUMED = 0;
export const PUBLISHED = 1;

export type BackgroundMemoryMessage =
  /** a batch of `count` recalls is in ring slot `slot`; `series`: the series first recalled in it, in ordinal order (its place in the list of all) */
  | { type: 'batch'; slot: number; count: number; series: MemorySeriesRef[] }
  | { type: 'done'; recalls: number }
  | { type: 'error'; message: string; code: string | null };

/**
 * f64 values per neighbour in a record: its series' ordinal, its memory's wire id, ts, distance, forwardReturn,
 * mfe, mae, resolvedAt. Wire ids are 0, 1, 2, … in the order memories first appear in the records, so the
 * main thread knows a memory is new when its wire id is the next one, and derives its memoryId from its key
 * (series and ts) then — no id strings cross the threads, and hashing them is not this thread's work.
 */
export const NEIGHBOUR_VALUES = 8;

function run(d: BackgroundMemoryWorkerData, post: (m: BackgroundMemoryMessage, transfer?: ArrayBuffer[]) => void): void {
  const store = new InProcessMemoryStore(d.index === undefined ? {} : { index: d.index });
  const states = d.series.map((s) => {
    const n = s.ohlcv.length / 6;
    store.reserve({ exchange: s.exchange, symbol: s.symbol, timeframe: s.timeframe, featureVersion: FEATURE_VERSION, horizonBars: d.horizonBars }, Math.max(1, n));
    return {
      s,
      n,
      idx: 0,
      engine: new FeatureEngine(),
      builder: new MemoryBuilder({ exchange: s.exchange, symbol: s.symbol, timeframe: s.timeframe, featureVersion: FEATURE_VERSION, horizonBars: d.horizonBars }),
    };
  });
  // a neighbour is numbers only: its series' ordinal and its memory's wire id (see NEIGHBOUR_VALUES)
  const seriesInfo = new Map<MemorySeriesRef, { ord: number; wire: Int32Array }>();
  let newSeries: MemorySeriesRef[] = [];
  let wires = 0;
  const infoOf = (ref: MemorySeriesRef): { ord: number; wire: Int32Array } => {
    let info = seriesInfo.get(ref);
    if (info === undefined) {
      info = { ord: seriesInfo.size, wire: new Int32Array(1024) };
      seriesInfo.set(ref, info);
      newSeries.push(ref);
    }
    return info;
  };
  // the batches go through a ring of shared slots (no buffer allocated, copied or transferred per batch): batch n
  // is written to slot n % maxAhead once the main thread has finished batch n - maxAhead, then announced
  const f64 = d.ring;
  const slotLength = d.slotLength;
  if (slotLength < d.batchRecalls * maxRecordLength(d.k)) throw new Error(`background memory: a ring slot of ${slotLength} values cannot hold ${d.batchRecalls} recalls of k ${d.k}`);
  let p = 0;
  let count = 0;
  let sent = 0;
  let recalls = 0;
  /** waits, if need be, until slot `sent % maxAhead` is free, and starts the batch there */
  const open = (): void => {
    for (;;) {
      const c = Atomics.load(d.counters, CONSUMED);
      if (sent - c < d.maxAhead) break;
      Atomics.wait(d.counters, CONSUMED, c, 1000);
    }
    p = (sent % d.maxAhead) * slotLength;
  };
  const send = (): void => {
    // the slot's plain writes happen-before the main thread's Atomics.load of the count it reads the batch after
    Atomics.store(d.counters, PUBLISHED, sent + 1);
    post({ type: 'batch', slot: sent % d.maxAhead, count, series: newSeries });
    sent++;
    count = 0;
    newSeries = [];
  };
  const vector: number[] = [];
  for (;;) {
    // the engine's order: the earliest next bar; equal times in series order
    let k = -1;
    let best = Infinity;
    for (let j = 0; j < states.length; j++) {
      const st = states[j]!;
      if (st.idx < st.n) {
        const ts = st.s.ohlcv[st.idx * 6]!;
        if (ts < best) {
          best = ts;
          k = j;
        }
      }
    }
    if (k < 0) break;
    const st = states[k]!;
    const o = st.idx++ * 6;
    const a = st.s.ohlcv;
    const bar: Bar = { ts: a[o]!, open: a[o + 1]!, high: a[o + 2]!, low: a[o + 3]!, close: a[o + 4]!, volume: a[o + 5]! };
    const features = st.engine.update(bar);
    const ready = st.engine.ready;
    const step = st.builder.onBar(bar, ready ? features : null);
    if (step.outcome !== null) store.resolveSync([step.outcome]);
    if (step.situation !== null) store.storeSync([step.situation]);
    if (!ready) continue;
    // the analysis agent's feature vector (non-finite features read as 0), which the recall node recalls with
    vector.length = 0;
    for (let j = 0; j < features.length; j++) {
      const f = features[j]!;
      vector.push(Number.isFinite(f) ? f : 0);
    }
    const asOf = bar.ts + d.timeframeMs;
    // the neighbours only: the main thread builds the MemoryRecall (and its statistics) with the store's toRecall
    const nb = store.nearestColumns(vector, {
      asOf,
      k: d.k,
      scope: d.scope,
      exchange: st.s.exchange,
      symbol: st.s.symbol,
      timeframe: st.s.timeframe,
      featureVersion: FEATURE_VERSION,
      horizonBars: d.horizonBars,
    });
    if (vector.length !== FEATURE_DIM || nb.size > d.k) throw new Error(`background memory: a recall of ${vector.length} features and ${nb.size} neighbours does not fit its record (${FEATURE_DIM}, at most ${d.k})`);
    if (count === 0) open();
    f64[p++] = k;
    f64[p++] = asOf;
    f64[p++] = vector.length;
    for (let j = 0; j < vector.length; j++) f64[p++] = vector[j]!;
    f64[p++] = nb.size;
    let lastRef: MemorySeriesRef | null = null;
    let info: { ord: number; wire: Int32Array } = { ord: -1, wire: new Int32Array(0) };
    for (let i = 0; i < nb.size; i++) {
      const ref = nb.series(i);
      if (ref !== lastRef) {
        info = infoOf(ref);
        lastRef = ref;
      }
      const e = nb.entry[i]!;
      if (e >= info.wire.length) {
        const g = new Int32Array(Math.max(e + 1, info.wire.length * 2));
        g.set(info.wire);
        info.wire = g;
      }
      // wire id + 1 (0: not sent yet)
      let w = info.wire[e]! - 1;
      if (w < 0) {
        w = wires++;
        info.wire[e] = w + 1;
      }
      f64[p++] = info.ord;
      f64[p++] = w;
      f64[p++] = nb.ts[i]!;
      f64[p++] = nb.distance[i]!;
      f64[p++] = nb.forwardReturn[i]!;
      f64[p++] = nb.mfe[i]!;
      f64[p++] = nb.mae[i]!;
      f64[p++] = nb.resolvedAt[i]!;
    }
    recalls++;
    if (++count >= d.batchRecalls) send();
  }
  if (count > 0) send();
  post({ type: 'done', recalls });
}

const data = workerData as BackgroundMemoryWorkerData | undefined;
if (parentPort !== null && data?.role === 'meridian-background-memory') {
  const port = parentPort;
  const post = (m: BackgroundMemoryMessage, transfer?: ArrayBuffer[]): void => port.postMessage(m, transfer ?? []);
  try {
    run(data, post);
  } catch (e) {
    post({ type: 'error', message: e instanceof Error ? e.message : String(e), code: (e as { code?: unknown })?.code == null ? null : String((e as { code?: unknown }).code) });
  }
}
