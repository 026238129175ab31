import { SCHEMA_VERSION, type PortfolioSnapshot, type Position } from '@meridian/contracts';
import { utcDayStart } from '@meridian/core';
import type { Db } from '@meridian/db';
import { readDecisionInputs, type DecisionInputs } from './decision-inputs.ts';
import { splitSymbol } from './market-catalog.ts';

export interface PortfolioQuery {
  readonly exchange: string;
  /** the account currency of the decision (the symbol's quote currency) */
  readonly quote: string;
  /** the decision time (candle close) */
  readonly asOf: number;
  /** wall-clock now: the order-rate window is real time */
  readonly now: number;
  /** the freshest price known for the symbol being decided (the candle's close) */
  readonly mark: { readonly symbol: string; readonly price: number };
}

/**
 * The account as the risk gate sees it at a decision, built from what the executor stores:
 * positions (quantity, average entry, realised P&L with fees) from the positions table, marked
 * at the latest stored candle close of each symbol; cash = starting capital + Σ realised P&L −
 * Σ quantity × average entry (realised P&L already carries the fees, so this is exact for the
 * positions the executor recorded). Only positions quoted in the decision's quote currency
 * count — there is no FX conversion.
 *
 * Day-start and peak equity are not stored anywhere, so this view tracks them in memory from the
 * equity it computes: peak = max(capital, every equity seen by this process), day start = the
 * first equity seen in each UTC day. The drawdown and daily-loss limits therefore measure from
 * the worker's start at the earliest (docs/worker.md).
 */
export class PortfolioView {
  readonly #capital: Readonly<Record<string, number>>;
  readonly #marks = new Map<string, { day: number; dayStart: number; peak: number }>();

  constructor(capital: Readonly<Record<string, number>>) {
    this.#capital = capital;
  }

  capitalOf(quote: string): number {
    return this.#capital[quote] ?? 0;
  }

  /** Reads what it needs (one statement) and builds the snapshot; the worker reads once per decision and calls `fromInputs`. */
  async snapshot(db: Db, q: PortfolioQuery): Promise<PortfolioSnapshot> {
    return this.fromInputs(q, await readDecisionInputs(db, { exchange: q.exchange, quote: q.quote, ordersSince: q.now - 60_000, markSymbol: q.mark.symbol }));
  }

  /** The snapshot from inputs read by `readDecisionInputs` for the same exchange, quote and mark symbol. */
  fromInputs(q: PortfolioQuery, inputs: DecisionInputs): PortfolioSnapshot {
    const capital = this.capitalOf(q.quote);
    const stored = inputs.positions.filter((p) => splitSymbol(p.symbol).quote === q.quote);
    const positions: Position[] = [];
    let cash = capital;
    let realized = 0;
    let unrealized = 0;
    let gross = 0;
    let net = 0;
    for (const p of stored) {
      realized += p.realizedPnl;
      cash += p.realizedPnl - p.quantity * p.avgEntryPrice;
      if (p.quantity === 0) continue;
      const mark = p.symbol === q.mark.symbol ? q.mark.price : (p.latestClose ?? p.avgEntryPrice);
      const notional = Math.abs(p.quantity) * mark;
      const upnl = p.quantity * (mark - p.avgEntryPrice);
      positions.push({
        schemaVersion: SCHEMA_VERSION,
        exchange: p.exchange,
        symbol: p.symbol,
        quantity: p.quantity,
        avgEntryPrice: p.avgEntryPrice,
        markPrice: mark,
        notional,
        realizedPnl: p.realizedPnl,
        unrealizedPnl: upnl,
        openedAt: p.openedAt,
        updatedAt: p.updatedAt,
      });
      unrealized += upnl;
      gross += notional;
      net += p.quantity * mark;
    }
    const equity = cash + net;
    const day = utcDayStart(q.asOf);
    let m = this.#marks.get(q.quote);
    if (!m) {
      m = { day, dayStart: equity, peak: Math.max(capital, equity) };
      this.#marks.set(q.quote, m);
    } else if (day > m.day) {
      m.day = day;
      m.dayStart = equity;
    }
    if (equity > m.peak) m.peak = equity;
    return {
      schemaVersion: SCHEMA_VERSION,
      asOf: q.asOf,
      quoteCurrency: q.quote,
      cash,
      equity,
      grossExposure: gross,
      netExposure: net,
      positions,
      realizedPnl: realized,
      unrealizedPnl: unrealized,
      feesPaid: inputs.fees,
      dayStartEquity: m.dayStart,
      dailyPnl: equity - m.dayStart,
      peakEquity: m.peak,
      drawdownPct: m.peak > 0 ? Math.max(0, ((m.peak - equity) / m.peak) * 100) : 0,
      ordersLastMinute: inputs.ordersLastMinute,
    };
  }
}
