import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SPOT_LONG_ONLY } from '@meridian/agents';
import { decisionLineOf, RISK_CHECKS, TIMEFRAME_MS, type DecisionTrace, type RiskCheckName, type TradingState } from '@meridian/contracts';
import { AppError, deterministicId, timeKeyedIds, type Clock } from '@meridian/core';
import { PaperExchange, PortfolioLedger, type PaperFillEvent } from '@meridian/execution';
import { FEATURE_VERSION, FeatureEngine, type Bar } from '@meridian/market';
import { BackgroundMemory } from './background-memory.ts';
import { MemoryBuilder, type MemoryKey, type MemoryStore, type Outcome, type Situation, type StoreResult } from '@meridian/memory';
import { assessTradingState, initialTradingState } from '@meridian/risk';
import { closedBarMarket } from '@meridian/orchestrator';
import { configHash, type BacktestConfig } from './backtest-config.ts';
import type { DecisionRunner } from './decision-runner.ts';
import { protectiveExit } from './fill-model.ts';
import { renderHtmlReport } from './html-report.ts';
import { performanceMetrics, tradeMetrics } from './metrics.ts';
import { DecisionLinesWriter } from './decision-lines.ts';
import { isoTime, tradesCsv, writeEquityCsv, type EquityCurve } from './output-writers.ts';
import { summaryJson, type BacktestSummary } from './summary.ts';
import { TradeBook, type ExitReason, type Trade } from './trade-book.ts';

/** Bars the analysis agent sees (its swing levels and window ATR); the indicators carry the longer history. */
export const ANALYSIS_WINDOW = 50;

/** A memory store, optionally with the synchronous forms InProcessMemoryStore has (no promise per bar). */
export type BacktestMemory = MemoryStore & {
  storeSync?(situations: readonly Situation[]): StoreResult;
  resolveSync?(outcomes: readonly Outcome[]): number;
  /** a capacity hint: about how many memories a series will get (InProcessMemoryStore.reserve) */
  reserve?(key: Omit<MemoryKey, 'ts'>, memories: number): void;
};

export interface BacktestDeps {
  readonly runner: DecisionRunner;
  /**
   * the memory the run writes to and the runner's recall node reads from; null with --no-memory. A
   * BackgroundMemory runs the whole memory side on a second thread (the runner's recaller must be the same object).
   */
  readonly memory: BacktestMemory | BackgroundMemory | null;
  /** when set, decisions.jsonl is streamed there and every other output written at the end */
  readonly outDir: string | null;
  /** called every few thousand bars and at the end */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface BacktestTiming {
  readonly runner: 'fast' | 'graph';
  readonly wallMs: number;
  readonly bars: number;
  readonly barEvents: number;
  readonly barsPerSecond: number;
  readonly decisions: number;
  readonly peakRssMiB: number;
  /** Σ node durationMs over all graph runs, by node */
  readonly nodeMs: Record<string, number>;
  /** time spent storing situations and resolving outcomes in the memory (synchronous stores only) */
  readonly memoryWriteMs: number;
  /** with a background memory: time the replay waited for the memory thread's recalls (the memory's own work is on that thread) */
  readonly memoryWaitMs: number;
  /** time spent serialising and writing decisions.jsonl */
  readonly traceWriteMs: number;
  /** orders the paper exchange refused (insufficient funds after a gap, order rules) */
  readonly ordersRefused: number;
}

export interface BacktestResult {
  readonly runScope: string;
  readonly summary: BacktestSummary;
  readonly trades: readonly Trade[];
  readonly curve: EquityCurve;
  readonly buyAndHold: Float64Array;
  readonly timing: BacktestTiming;
  /** files written (absolute paths), empty without outDir */
  readonly files: readonly string[];
}

interface SeriesState {
  readonly engine: FeatureEngine;
  readonly builder: MemoryBuilder | null;
  /** the decision id of the bar closing at t: deterministic per (seed, series, t), no hash per bar */
  readonly decisionId: (t: number) => string;
  idx: number;
  stop: number | null;
  target: number | null;
  firstClose: number;
  lastClose: number;
}

interface PendingOrder {
  readonly seriesIdx: number;
  readonly opens: boolean;
  readonly stop: number | null;
  readonly target: number | null;
}

/**
 * Replays candles in time order through the decision graph (the runner), the memory, the risk gate (inside the
 * graph) and the PaperExchange + PortfolioLedger, exactly as live. Per bar of a symbol, in this order:
 *   1. the bar opens: orders decided at the previous close fill at its open (slippage, fees) — PaperExchange.onBar;
 *   2. the open position's stop/target is checked inside the bar (stop first when both are touched), and an exit
 *      fills at the level — or at the open when the bar gapped through it — with slippage and fees;
 *   3. the bar closes: the ledger marks to the close; features, memory situations and resolved outcomes update;
 *   4. once the indicators are warm, the graph decides on the closed bar (asOf = close time); an approved order
 *      is placed and fills in step 1 of the symbol's next bar.
 * Several series share one ledger, one exchange and one set of limits; their bars are merged by time (ties in
 * the order the series were given).
 */
export async function runBacktest(config: BacktestConfig, deps: BacktestDeps): Promise<BacktestResult> {
  const t0 = performance.now();
  const series = config.series;
  if (series.length === 0) throw new AppError('VALIDATION', 'a backtest needs at least one candle series', { hint: 'pass --data FILE --symbol SYMBOL' });
  const tf = TIMEFRAME_MS[config.timeframe];
  const quotes = new Set(series.map((s) => s.market.quote));
  if (quotes.size !== 1)
    throw new AppError('VALIDATION', `all symbols of one backtest share one account, so one quote currency; got ${[...quotes].join(', ')}`, {
      hint: 'run symbols quoted in different currencies as separate backtests',
    });
  const seen = new Set<string>();
  for (const s of series) {
    if (s.timeframe !== config.timeframe) throw new AppError('VALIDATION', `${s.symbol} is ${s.timeframe} but the backtest timeframe is ${config.timeframe}`);
    if (seen.has(s.symbol)) throw new AppError('VALIDATION', `${s.symbol} is given twice`, { hint: 'pass each symbol once' });
    seen.add(s.symbol);
    if (s.bars.length === 0) throw new AppError('VALIDATION', `no candles for ${s.symbol} ${s.timeframe} in the requested window`, { hint: 'check --from/--to and the data' });
  }
  if (!(config.capital > 0) || !Number.isFinite(config.capital)) throw new AppError('VALIDATION', `--capital must be a positive number, got ${config.capital}`);

  const quote = series[0]!.market.quote;
  const hash = configHash(config);
  const runScope = deterministicId(`backtest|${hash}`);
  const exchangeId = series[0]!.exchange;
  const startAt = Math.min(...series.map((s) => s.bars[0]!.ts));
  let now = startAt;
  const clock: Clock = { now: () => now };
  const exchange = new PaperExchange({
    id: exchangeId,
    markets: series.map((s) => s.market),
    balances: { [quote]: config.capital },
    feeBps: config.feeBps,
    slippageBps: config.slippageBps,
    clock,
  });
  const ledger = new PortfolioLedger({ exchange: exchangeId, quoteCurrency: quote, initialCash: config.capital, startAt });
  const book = new TradeBook();
  const given = config.memory.enabled ? deps.memory : null;
  if (config.memory.enabled && given === null) throw new AppError('INTERNAL', 'memory is enabled but no memory store was given');
  // a background memory builds and recalls on its own thread: nothing of the memory happens on this one
  const background = given instanceof BackgroundMemory ? given : null;
  const memory = given instanceof BackgroundMemory ? null : given;
  const states: SeriesState[] = series.map((s) => ({
    engine: new FeatureEngine(),
    builder: memory ? new MemoryBuilder({ exchange: s.exchange, symbol: s.symbol, timeframe: s.timeframe, featureVersion: FEATURE_VERSION, horizonBars: config.memory.horizonBars }) : null,
    decisionId: timeKeyedIds(`${config.seed}|${s.exchange}|${s.symbol}|${s.timeframe}|decision`),
    idx: 0,
    stop: null,
    target: null,
    firstClose: s.bars[0]!.close,
    lastClose: s.bars[0]!.open,
  }));
  // one memory per bar at most: the in-process index is allocated once at that size
  if (memory?.reserve !== undefined)
    for (const s of series) memory.reserve({ exchange: s.exchange, symbol: s.symbol, timeframe: s.timeframe, featureVersion: FEATURE_VERSION, horizonBars: config.memory.horizonBars }, Math.max(1, s.bars.length));
  const pending = new Map<string, PendingOrder>();
  let tradingState: TradingState = initialTradingState(startAt);
  const limits = config.limits;

  // outputs gathered while running
  const totalEvents = series.reduce((n, s) => n + s.bars.length, 0);
  const cap = totalEvents; // rows ≤ events
  const curve = { n: 0, ts: new Float64Array(cap), equity: new Float64Array(cap), cash: new Float64Array(cap), exposure: new Float64Array(cap), drawdownPct: new Float64Array(cap) };
  const buyHold = new Float64Array(cap);
  let peak = config.capital;
  let exposedBars = 0;
  let decisions = 0;
  let approved = 0;
  let resized = 0;
  let rejected = 0;
  let ordersRefused = 0;
  const rejections = new Map<RiskCheckName, number>();
  const nodeMs: Record<string, number> = {};
  let memoryWriteMs = 0;
  let traceWriteMs = 0;

  let decisionsOut: DecisionLinesWriter | null = null;
  if (deps.outDir !== null) {
    mkdirSync(deps.outDir, { recursive: true });
    decisionsOut = new DecisionLinesWriter(path.join(deps.outDir, 'decisions.jsonl'));
  }

  const applyFills = (k: number, events: readonly PaperFillEvent[], barIndex: number, reason: ExitReason): void => {
    const st = states[k]!;
    const sym = series[k]!.symbol;
    for (const ev of events) {
      const f = ev.fill;
      ledger.applyFill(f);
      book.onFill(sym, f.side, f.quantity, f.price, f.fee, f.ts, barIndex, reason);
      const meta = pending.get(f.orderId);
      if (meta !== undefined) {
        pending.delete(f.orderId);
        // a fill that opens or adds arms the decision's stop/target for the whole position
        if (meta.opens && (meta.stop !== null || meta.target !== null)) {
          st.stop = meta.stop;
          st.target = meta.target;
        }
      }
      if (ledger.quantity(sym) === 0) {
        st.stop = null;
        st.target = null;
      }
    }
  };

  const recordRow = (closeTs: number): void => {
    const i = curve.n++;
    const equity = ledger.equity();
    let exposure = 0;
    let bh = 0;
    for (let k = 0; k < series.length; k++) {
      const st = states[k]!;
      const q = ledger.quantity(series[k]!.symbol);
      if (q !== 0) exposure += Math.abs(q) * st.lastClose;
      bh += st.idx > 0 ? st.lastClose / st.firstClose : 1;
    }
    if (equity > peak) peak = equity;
    curve.ts[i] = closeTs;
    curve.equity[i] = equity;
    curve.cash[i] = ledger.cash;
    curve.exposure[i] = exposure;
    curve.drawdownPct[i] = peak > 0 ? ((peak - equity) / peak) * 100 : 0;
    buyHold[i] = (config.capital * bh) / series.length;
    if (exposure > 0) exposedBars++;
  };

  const decide = (k: number, bar: Bar, i: number, features: Float64Array): void | Promise<void> => {
    const s = series[k]!;
    const st = states[k]!;
    const asOf = bar.ts + tf;
    now = asOf;
    const portfolio = ledger.snapshot(asOf);
    tradingState = assessTradingState(portfolio, limits.limits, tradingState, asOf).state;
    const subject = { exchange: s.exchange, symbol: s.symbol, timeframe: s.timeframe, asOf };
    const out = deps.runner.run({
      decisionId: st.decisionId(asOf),
      runScope,
      subject,
      window: s.bars.slice(Math.max(0, i + 1 - ANALYSIS_WINDOW), i + 1),
      indicators: st.engine.indicators,
      featureVersion: FEATURE_VERSION,
      features,
      portfolio,
      market: closedBarMarket(subject, bar, s.market),
      limits,
      tradingState,
      account: SPOT_LONG_ONLY,
    });
    if (out instanceof Promise) return out.then((t) => afterDecision(k, asOf, t));
    afterDecision(k, asOf, out);
  };

  const afterDecision = (k: number, asOf: number, trace: DecisionTrace): void => {
    decisions++;
    for (const n of trace.nodes) nodeMs[n.node] = (nodeMs[n.node] ?? 0) + n.durationMs;
    const v = trace.verdict;
    if (v !== null) {
      switch (v.status) {
        case 'approved':
          approved++;
          break;
        case 'resized':
          resized++;
          break;
        case 'rejected':
          rejected++;
          for (const c of v.checks) if (!c.passed) rejections.set(c.check, (rejections.get(c.check) ?? 0) + 1);
          break;
        case 'pending_approval':
          // nobody approves inside a backtest: a pending approval is a rejection by the approval threshold
          rejected++;
          rejections.set('approvalThreshold', (rejections.get('approvalThreshold') ?? 0) + 1);
          break;
      }
    }
    if (decisionsOut !== null) {
      const w0 = performance.now();
      decisionsOut.write(decisionLineOf(trace));
      traceWriteMs += performance.now() - w0;
    }
    const o = trace.orderRequest;
    if (o === null) return;
    let decision: { action: string; stopPrice: number | null; targetPrice: number | null } | null = null;
    for (const n of trace.nodes) if (n.node === 'decision') decision = n.output;
    const action = decision?.action ?? 'hold';
    now = asOf;
    try {
      exchange.createOrderSync({ orderId: o.orderId, symbol: o.symbol, side: o.side, type: o.type, quantity: o.quantity, limitPrice: o.limitPrice });
      ledger.recordOrderSubmitted(asOf);
      pending.set(o.orderId, {
        seriesIdx: k,
        opens: action === 'open' || action === 'add' || action === 'reverse',
        stop: decision?.stopPrice ?? o.stopPrice,
        target: decision?.targetPrice ?? null,
      });
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      ordersRefused++;
    }
  };

  const processBar = (k: number): void | Promise<void> => {
    const s = series[k]!;
    const st = states[k]!;
    const i = st.idx++;
    const bar = s.bars[i]!;
    now = bar.ts;
    // 1. orders from the previous close fill at this open; market orders left unfilled (expired) are gone
    const fills = exchange.onBar(s.symbol, bar);
    if (fills.length > 0) applyFills(k, fills, i, 'signal');
    if (pending.size > 0) for (const [id, p] of pending) if (p.seriesIdx === k) pending.delete(id);
    // 2. protective exits inside the bar
    const q = ledger.quantity(s.symbol);
    if (q !== 0 && (st.stop !== null || st.target !== null)) {
      const ex = protectiveExit(q, st.stop, st.target, bar);
      if (ex !== null) {
        try {
          exchange.createOrderSync({
            orderId: deterministicId(`${config.seed}|${s.exchange}|${s.symbol}|${s.timeframe}|${bar.ts}|exit`),
            symbol: s.symbol,
            side: q > 0 ? 'sell' : 'buy',
            type: 'market',
            quantity: Math.abs(q),
            limitPrice: null,
          });
          // the exit is a market order triggered at the level: fed the level as the next price, the exchange fills
          // it there with slippage and fees; then the bar's close is restored as the exchange's last price
          applyFills(k, exchange.onPrice(s.symbol, ex.price, bar.ts), i, ex.reason);
          exchange.onPrice(s.symbol, bar.close, bar.ts);
        } catch (e) {
          if (!(e instanceof AppError)) throw e;
          ordersRefused++;
        }
      }
    }
    // 3. the bar closes
    st.lastClose = bar.close;
    ledger.mark(s.symbol, bar.close, bar.ts + tf);
    const features = st.engine.update(bar);
    const ready = st.engine.ready;
    if (st.builder !== null && memory !== null) {
      // outcomes resolved by this close are known at asOf, so they are stored before this bar's recall
      const step = st.builder.onBar(bar, ready ? features : null);
      if (memory.resolveSync !== undefined && memory.storeSync !== undefined) {
        const m0 = performance.now();
        if (step.outcome !== null) memory.resolveSync([step.outcome]);
        if (step.situation !== null) memory.storeSync([step.situation]);
        memoryWriteMs += performance.now() - m0;
      } else {
        return (async () => {
          if (step.outcome !== null) await memory.resolve([step.outcome]);
          if (step.situation !== null) await memory.store([step.situation]);
          if (ready) await decide(k, bar, i, features);
        })();
      }
    }
    // 4. decide on the closed bar (with a background memory, once its recall for this bar has arrived)
    if (ready && background !== null && !background.available) return background.whenAvailable().then(() => decide(k, bar, i, features));
    if (ready) return decide(k, bar, i, features);
  };

  let done = 0;
  let curTs = -1;
  const progressEvery = 4096;
  try {
    // started here, inside the try: a run that fails from now on closes the memory thread (below)
    background?.start(
      series.map((s) => ({ exchange: s.exchange, symbol: s.symbol, timeframe: s.timeframe, bars: s.bars })),
      { timeframeMs: tf, k: config.memory.k, scope: config.memory.scope, horizonBars: config.memory.horizonBars },
    );
    for (;;) {
      let k = -1;
      let best = Infinity;
      for (let j = 0; j < series.length; j++) {
        const st = states[j]!;
        const b = series[j]!.bars[st.idx];
        if (b !== undefined && b.ts < best) {
          best = b.ts;
          k = j;
        }
      }
      if (k < 0) break;
      if (best !== curTs) {
        if (curTs >= 0) recordRow(curTs + tf);
        curTs = best;
      }
      const r = processBar(k);
      if (r !== undefined) await r;
      // decisions.jsonl is written in the background; wait only when all its buffers are full
      if (decisionsOut !== null && decisionsOut.blocked) {
        const w0 = performance.now();
        await decisionsOut.ready();
        traceWriteMs += performance.now() - w0;
      }
      done++;
      if (deps.onProgress !== undefined && (done & (progressEvery - 1)) === 0) deps.onProgress(done, totalEvents);
    }
  } catch (e) {
    // a failed run leaves no writer or memory thread behind: finish the writes in flight and close the file
    await decisionsOut?.close().catch(() => undefined);
    await background?.close();
    throw e;
  }
  await background?.close();
  // every decision took its bar's recall from the memory thread (a runner with another recaller would leave them unused)
  if (background !== null && background.recalls !== decisions)
    throw new AppError('INTERNAL', `the background memory handed out ${background.recalls} recalls for ${decisions} decisions`, {
      hint: "give the runner the same BackgroundMemory as the run's memory (createDecisionRunner({ memory: { recaller: it, … } }))",
    });
  recordRow(curTs + tf);
  deps.onProgress?.(done, totalEvents);
  if (decisionsOut !== null) {
    const w0 = performance.now();
    await decisionsOut.close();
    traceWriteMs += performance.now() - w0;
  }

  // positions still open are marked to the last close (no exit fee): exitReason 'end'
  for (let k = 0; k < series.length; k++) {
    const s = series[k]!;
    const last = s.bars[s.bars.length - 1]!;
    book.closeAll(s.symbol, last.close, last.ts + tf, s.bars.length - 1);
  }
  const trades = book.trades;

  const equitySeries = curve.equity.subarray(0, curve.n);
  const perf = performanceMetrics(config.capital, equitySeries, tf);
  const tm = tradeMetrics(trades);
  const rejectionsByCheck: Partial<Record<RiskCheckName, number>> = {};
  for (const c of RISK_CHECKS) {
    const n = rejections.get(c);
    if (n !== undefined) rejectionsByCheck[c] = n;
  }
  const bhReturn = (series.reduce((acc, s, k) => acc + states[k]!.lastClose / s.bars[0]!.close, 0) / series.length - 1) * 100;
  const lastTs = curTs + tf;
  const summary: BacktestSummary = {
    symbols: series.map((s) => s.symbol),
    timeframe: config.timeframe,
    from: isoTime(startAt),
    to: isoTime(lastTs),
    bars: curve.n,
    startingCapital: config.capital,
    finalEquity: curve.equity[curve.n - 1]!,
    ...perf,
    ...tm,
    exposurePct: curve.n > 0 ? (exposedBars / curve.n) * 100 : 0,
    feesPaid: ledger.feesPaid,
    buyAndHoldReturnPct: bhReturn,
    decisions,
    riskApproved: approved,
    riskResized: resized,
    riskRejected: rejected,
    rejectionsByCheck,
    seed: config.seed,
    configHash: hash,
  };

  const wallMs = performance.now() - t0;
  const timing: BacktestTiming = {
    runner: deps.runner.kind,
    wallMs,
    bars: curve.n,
    barEvents: done,
    barsPerSecond: wallMs > 0 ? (done / wallMs) * 1000 : 0,
    decisions,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    nodeMs,
    memoryWriteMs,
    memoryWaitMs: background?.waitMs ?? 0,
    traceWriteMs,
    ordersRefused,
  };

  const trimmed: EquityCurve = {
    n: curve.n,
    ts: curve.ts.subarray(0, curve.n),
    equity: equitySeries,
    cash: curve.cash.subarray(0, curve.n),
    exposure: curve.exposure.subarray(0, curve.n),
    drawdownPct: curve.drawdownPct.subarray(0, curve.n),
  };
  const bh = buyHold.subarray(0, curve.n);
  const files: string[] = [];
  if (deps.outDir !== null) {
    const out = (name: string) => {
      const f = path.resolve(deps.outDir!, name);
      files.push(f);
      return f;
    };
    files.push(path.resolve(deps.outDir, 'decisions.jsonl'));
    writeFileSync(out('summary.json'), summaryJson(summary));
    writeFileSync(out('trades.csv'), tradesCsv(trades));
    writeEquityCsv(out('equity.csv'), trimmed);
    writeFileSync(out('report.html'), renderHtmlReport({ summary, trades, curve: trimmed, buyAndHold: bh, series }));
    writeFileSync(out('timing.json'), `${JSON.stringify(timingJson(timing), null, 2)}\n`);
  }
  return { runScope, summary, trades, curve: trimmed, buyAndHold: bh, timing, files };
}

function timingJson(t: BacktestTiming): Record<string, unknown> {
  const r = (x: number) => Math.round(x * 1000) / 1000;
  const nodeMs: Record<string, number> = {};
  for (const k of Object.keys(t.nodeMs).sort()) nodeMs[k] = r(t.nodeMs[k]!);
  return {
    runner: t.runner,
    wallMs: r(t.wallMs),
    bars: t.bars,
    barEvents: t.barEvents,
    barsPerSecond: Math.round(t.barsPerSecond),
    decisions: t.decisions,
    peakRssMiB: r(t.peakRssMiB),
    nodeMs,
    memoryWriteMs: r(t.memoryWriteMs),
    memoryWaitMs: r(t.memoryWaitMs),
    traceWriteMs: r(t.traceWriteMs),
    ordersRefused: t.ordersRefused,
  };
}
