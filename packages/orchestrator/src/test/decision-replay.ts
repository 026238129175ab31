import { readFileSync } from 'node:fs';
import { SPOT_LONG_ONLY, type WindowBar } from '@meridian/agents';
import { TIMEFRAME_MS, type MarketInfo, type MemoryRecall, type RecalledMemory, type RiskLimits, type Timeframe } from '@meridian/contracts';
import { deterministicId, roundToStep, type SimulatedClock } from '@meridian/core';
import { PortfolioLedger } from '@meridian/execution';
import { FEATURE_VERSION, FeatureEngine } from '@meridian/market';
import type { DecisionTrace, OrderRequest } from '@meridian/contracts';
import type { DecisionContext } from '../decision-context.ts';
import type { MemoryRecaller, MemoryRecallOptions } from '../orchestrator-deps.ts';

/**
 * Test and benchmark support (not exported from the package): replays real candles through the
 * market FeatureEngine and a spot PortfolioLedger and asks a runner for each bar's decision,
 * filling orders at the next bar's open with a taker fee, so positions evolve with the decisions.
 */

export const FIXTURE_DIR = new URL('../../../../test/fixtures/candles/', import.meta.url);

/** `timestamp,open,high,low,close,volume` with ISO timestamps (test/fixtures/candles). */
export function readCsvBars(file: string | URL): WindowBar[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: WindowBar[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.length === 0) continue;
    const [t, o, h, l, c, v] = line.split(',');
    const ts = Date.parse(t ?? '');
    if (!Number.isFinite(ts)) throw new Error(`${String(file)}:${i + 1}: bad timestamp "${t}"`);
    out.push({ ts, open: Number(o), high: Number(h), low: Number(l), close: Number(c), volume: Number(v) });
  }
  return out;
}

export interface ReplaySetup {
  readonly exchange: string;
  readonly symbol: string;
  readonly timeframe: Timeframe;
  readonly bars: readonly WindowBar[];
  readonly market: MarketInfo;
  /** the limits in force for the n-th decision (a risk officer may change them mid-run) */
  readonly limitsAt: (n: number) => { readonly version: number; readonly limits: RiskLimits };
  readonly runScope: string;
  /** bars fed to the FeatureEngine before the first decision */
  readonly warmup: number;
  /** decisions to make */
  readonly decisions: number;
  readonly initialCash: number;
  readonly window?: number;
}

export const ETH_BTC_MARKET: MarketInfo = { symbol: 'ETH/BTC', base: 'ETH', quote: 'BTC', minQty: 0.001, qtyStep: 0.001, priceStep: 0.000001, minNotional: 0.0001 };

const FEE_RATE = 0.001;

/** Drive one runner over the series; returns every trace in bar order. The clock is set to each bar's close. */
export async function replayDecisions(
  setup: ReplaySetup,
  clock: SimulatedClock,
  decide: (ctx: DecisionContext) => Promise<{ trace: DecisionTrace }> | { trace: DecisionTrace },
): Promise<DecisionTrace[]> {
  const tf = TIMEFRAME_MS[setup.timeframe];
  const engine = new FeatureEngine();
  const ledger = new PortfolioLedger({ exchange: setup.exchange, quoteCurrency: setup.market.quote, initialCash: setup.initialCash, startAt: setup.bars[0]?.ts ?? 0 });
  const windowSize = setup.window ?? 50;
  const traces: DecisionTrace[] = [];
  let open: OrderRequest | null = null;
  let fills = 0;
  for (let i = 0; i < setup.bars.length && traces.length < setup.decisions; i++) {
    const bar = setup.bars[i] as WindowBar;
    if (open !== null) {
      fillAtOpen(ledger, open, bar, ++fills);
      open = null;
    }
    engine.update(bar);
    const closeTime = bar.ts + tf;
    ledger.mark(setup.symbol, bar.close, closeTime);
    if (i < setup.warmup) continue;
    clock.set(closeTime);
    const ctx: DecisionContext = {
      decisionId: deterministicId(`${setup.runScope}:${setup.symbol}:${closeTime}`),
      runScope: setup.runScope,
      subject: { exchange: setup.exchange, symbol: setup.symbol, timeframe: setup.timeframe, asOf: closeTime },
      window: setup.bars.slice(Math.max(0, i + 1 - windowSize), i + 1),
      indicators: engine.indicators,
      featureVersion: FEATURE_VERSION,
      features: engine.values,
      portfolio: ledger.snapshot(closeTime),
      market: {
        schemaVersion: 1,
        exchange: setup.exchange,
        symbol: setup.symbol,
        timeframe: setup.timeframe,
        asOf: closeTime,
        lastPrice: bar.close,
        lastCandleTs: bar.ts,
        dataTs: closeTime,
        bid: null,
        ask: null,
        market: setup.market,
      },
      limits: setup.limitsAt(traces.length),
      tradingState: { schemaVersion: 1, state: 'ACTIVE', reason: 'test', actor: 'test', since: 0, until: null },
      account: SPOT_LONG_ONLY,
    };
    const { trace } = await decide(ctx);
    traces.push(trace);
    if (trace.orderRequest !== null) {
      open = trace.orderRequest;
      ledger.recordOrderSubmitted(closeTime);
    }
  }
  return traces;
}

function fillAtOpen(ledger: PortfolioLedger, o: OrderRequest, bar: WindowBar, n: number): void {
  const price = bar.open;
  let qty = o.quantity;
  if (o.side === 'buy') {
    // the price moved since the decision: buy no more than the cash pays for, fee included
    const affordable = roundToStep(Math.floor((ledger.cash / (price * (1 + FEE_RATE))) * 1e3) / 1e3, 0.001);
    qty = Math.min(qty, affordable);
  } else {
    qty = Math.min(qty, Math.max(0, ledger.quantity(o.symbol)));
  }
  if (!(qty > 0)) return;
  ledger.applyFill({
    schemaVersion: 1,
    fillId: `fill-${n}`,
    orderId: o.orderId,
    exchange: o.exchange,
    symbol: o.symbol,
    side: o.side,
    quantity: qty,
    price,
    fee: qty * price * FEE_RATE,
    feeCurrency: ETH_BTC_MARKET.quote,
    liquidity: 'taker',
    ts: bar.ts,
  });
}

/**
 * A point-in-time memory over one series' own past, exact k-NN (Euclidean): the situation at
 * each bar's close, resolved `horizon` bars later with forward return and excursions. Recall at
 * asOf sees only situations resolved by asOf. Enough memory for the runner tests; the real
 * stores live in @meridian/memory.
 */
export class SeriesMemory implements MemoryRecaller {
  readonly #vectors: Float64Array[] = [];
  readonly #meta: Omit<RecalledMemory, 'distance'>[] = [];

  constructor(exchange: string, symbol: string, timeframe: Timeframe, bars: readonly WindowBar[], horizon: number, warmup: number) {
    const tf = TIMEFRAME_MS[timeframe];
    const engine = new FeatureEngine();
    for (let i = 0; i + horizon < bars.length; i++) {
      const b = bars[i] as WindowBar;
      const f = engine.update(b);
      if (i < warmup) continue;
      let hi = -Infinity;
      let lo = Infinity;
      for (let j = i + 1; j <= i + horizon; j++) {
        const x = bars[j] as WindowBar;
        if (x.high > hi) hi = x.high;
        if (x.low < lo) lo = x.low;
      }
      const end = bars[i + horizon] as WindowBar;
      this.#vectors.push(f.slice());
      this.#meta.push({
        memoryId: deterministicId(`memory:${symbol}:${b.ts}`),
        exchange,
        symbol,
        timeframe,
        ts: b.ts + tf,
        horizonBars: horizon,
        forwardReturn: end.close / b.close - 1,
        mfe: hi / b.close - 1,
        mae: lo / b.close - 1,
        resolvedAt: end.ts + tf,
      });
    }
  }

  recall(vector: ArrayLike<number>, o: MemoryRecallOptions): Promise<MemoryRecall> {
    return Promise.resolve(this.recallSync(vector, o));
  }

  recallSync(vector: ArrayLike<number>, o: MemoryRecallOptions): MemoryRecall {
    // memories are in situation order, so resolvedAt only grows: stop at the first one not known yet
    let count = 0;
    while (count < this.#meta.length && (this.#meta[count] as RecalledMemory).resolvedAt <= o.asOf) count++;
    const dist = new Float64Array(count);
    const idx: number[] = new Array<number>(count);
    for (let i = 0; i < count; i++) {
      const v = this.#vectors[i] as Float64Array;
      let d = 0;
      for (let j = 0; j < v.length; j++) d += ((v[j] as number) - (vector[j] as number)) ** 2;
      dist[i] = d;
      idx[i] = i;
    }
    idx.sort((a, b) => (dist[a] as number) - (dist[b] as number) || a - b);
    const neighbours: RecalledMemory[] = idx.slice(0, o.k).map((i) => ({ ...(this.#meta[i] as Omit<RecalledMemory, 'distance'>), distance: Math.sqrt(dist[i] as number) }));
    const n = neighbours.length;
    const rets = neighbours.map((m) => m.forwardReturn).sort((a, b) => a - b);
    const mean = n === 0 ? 0 : rets.reduce((s, x) => s + x, 0) / n;
    const median = n === 0 ? 0 : n % 2 ? (rets[n >> 1] as number) : ((rets[n / 2 - 1] as number) + (rets[n / 2] as number)) / 2;
    const dispersion = n === 0 ? 0 : Math.sqrt(rets.reduce((s, x) => s + (x - mean) ** 2, 0) / n);
    return {
      schemaVersion: 1,
      exchange: o.exchange,
      symbol: o.symbol,
      timeframe: o.timeframe,
      asOf: o.asOf,
      featureVersion: o.featureVersion,
      scope: o.scope,
      k: o.k,
      neighbours,
      stats: { n, meanReturn: mean, medianReturn: median, hitRate: n === 0 ? 0 : rets.filter((x) => x > 0).length / n, dispersion },
    };
  }
}
