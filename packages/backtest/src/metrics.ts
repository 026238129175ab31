import type { Trade } from './trade-book.ts';

/**
 * Performance metrics of one run. Every formula is in docs/backtest.md; in short, with E₀ the starting
 * capital, E₁…E_N the equity at the close of each bar, rᵢ = Eᵢ/Eᵢ₋₁ − 1 and
 * P = 365 × 86,400,000 / barMs bars per year (crypto trades around the clock):
 *   totalReturnPct = (E_N/E₀ − 1)·100             cagrPct = ((E_N/E₀)^(1/years) − 1)·100, years = N/P
 *   sharpe  = mean(r)/sd(r)·√P (sample sd, risk-free 0)   sortino = mean(r)/dd·√P, dd = √(Σ min(rᵢ,0)²/N)
 *   volatilityPct = sd(r)·√P·100                  maxDrawdownPct = max (peakᵢ − Eᵢ)/peakᵢ·100 (peak includes E₀)
 *   maxDrawdownDurationBars = longest run of consecutive bars with Eᵢ < peakᵢ
 *   calmar = cagrPct / maxDrawdownPct
 * Undefined values (a ratio over zero, trade statistics without trades) are null, never NaN or ±Infinity.
 */
export const MS_PER_YEAR = 365 * 86_400_000;

export interface PerformanceMetrics {
  totalReturnPct: number;
  cagrPct: number;
  sharpe: number | null;
  sortino: number | null;
  calmar: number | null;
  maxDrawdownPct: number;
  maxDrawdownDurationBars: number;
  volatilityPct: number;
}

export interface TradeMetrics {
  trades: number;
  winRatePct: number | null;
  profitFactor: number | null;
  expectancy: number | null;
  avgTradeReturnPct: number | null;
  bestTradePct: number | null;
  worstTradePct: number | null;
  avgHoldingBars: number | null;
}

export function performanceMetrics(startingCapital: number, equity: ArrayLike<number>, barMs: number): PerformanceMetrics {
  if (!(startingCapital > 0)) throw new RangeError(`starting capital must be > 0, got ${startingCapital}`);
  if (!(barMs > 0)) throw new RangeError(`bar length must be > 0 ms, got ${barMs}`);
  const n = equity.length;
  const last = n > 0 ? equity[n - 1]! : startingCapital;
  const perYear = MS_PER_YEAR / barMs;
  const growth = last / startingCapital;
  const years = n / perYear;
  const cagrPct = n === 0 ? 0 : growth <= 0 ? -100 : (Math.pow(growth, 1 / years) - 1) * 100;

  let sum = 0;
  let downSq = 0;
  let prev = startingCapital;
  let peak = startingCapital;
  let mdd = 0;
  let run = 0;
  let longest = 0;
  for (let i = 0; i < n; i++) {
    const e = equity[i]!;
    const r = prev !== 0 ? e / prev - 1 : 0;
    sum += r;
    if (r < 0) downSq += r * r;
    prev = e;
    if (e >= peak) {
      peak = e;
      run = 0;
    } else {
      run++;
      if (run > longest) longest = run;
      const dd = peak > 0 ? ((peak - e) / peak) * 100 : 0;
      if (dd > mdd) mdd = dd;
    }
  }
  const mean = n > 0 ? sum / n : 0;
  // second pass for the variance: no catastrophic cancellation on long, quiet series
  let ss = 0;
  prev = startingCapital;
  for (let i = 0; i < n; i++) {
    const e = equity[i]!;
    const r = prev !== 0 ? e / prev - 1 : 0;
    ss += (r - mean) * (r - mean);
    prev = e;
  }
  const sd = n > 1 ? Math.sqrt(ss / (n - 1)) : 0;
  const dd = n > 0 ? Math.sqrt(downSq / n) : 0;
  const ann = Math.sqrt(perYear);
  return {
    totalReturnPct: (growth - 1) * 100,
    cagrPct,
    sharpe: sd > 0 ? (mean / sd) * ann : null,
    sortino: dd > 0 ? (mean / dd) * ann : null,
    calmar: mdd > 0 ? cagrPct / mdd : null,
    maxDrawdownPct: mdd,
    maxDrawdownDurationBars: longest,
    volatilityPct: sd * ann * 100,
  };
}

export function tradeMetrics(trades: readonly Trade[]): TradeMetrics {
  const n = trades.length;
  if (n === 0)
    return { trades: 0, winRatePct: null, profitFactor: null, expectancy: null, avgTradeReturnPct: null, bestTradePct: null, worstTradePct: null, avgHoldingBars: null };
  let wins = 0;
  let gain = 0;
  let loss = 0;
  let pnl = 0;
  let ret = 0;
  let best = -Infinity;
  let worst = Infinity;
  let hold = 0;
  for (const t of trades) {
    if (t.pnl > 0) {
      wins++;
      gain += t.pnl;
    } else loss -= t.pnl;
    pnl += t.pnl;
    ret += t.returnPct;
    if (t.returnPct > best) best = t.returnPct;
    if (t.returnPct < worst) worst = t.returnPct;
    hold += t.holdingBars;
  }
  return {
    trades: n,
    winRatePct: (wins / n) * 100,
    profitFactor: loss > 0 ? gain / loss : null,
    expectancy: pnl / n,
    avgTradeReturnPct: ret / n,
    bestTradePct: best,
    worstTradePct: worst,
    avgHoldingBars: hold / n,
  };
}
