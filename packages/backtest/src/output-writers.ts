import { closeSync, openSync, writeSync } from 'node:fs';
import type { DecisionTrace } from '@meridian/contracts';
import { fmtNum } from './number-format.ts';
import type { Trade } from './trade-book.ts';

/** ISO-8601 UTC, the only time format at the CSV/summary edge. */
export function isoTime(t: number): string {
  return new Date(t).toISOString();
}

export const TRADES_HEADER = 'symbol,side,entryTime,entryPrice,exitTime,exitPrice,quantity,notional,pnl,returnPct,fees,exitReason';
export const EQUITY_HEADER = 'timestamp,equity,cash,exposure,drawdownPct';

export function tradeRow(t: Trade): string {
  return `${t.symbol},${t.side},${isoTime(t.entryTime)},${fmtNum(t.entryPrice)},${isoTime(t.exitTime)},${fmtNum(t.exitPrice)},${fmtNum(t.quantity)},${fmtNum(t.notional)},${fmtNum(t.pnl)},${fmtNum(t.returnPct)},${fmtNum(t.fees)},${t.exitReason}`;
}

export function tradesCsv(trades: readonly Trade[]): string {
  let s = `${TRADES_HEADER}\n`;
  for (const t of trades) s += `${tradeRow(t)}\n`;
  return s;
}

/** The equity curve in columns (one entry per bar of the merged timeline). */
export interface EquityCurve {
  readonly n: number;
  /** close time of the bar, epoch ms */
  readonly ts: Float64Array;
  readonly equity: Float64Array;
  readonly cash: Float64Array;
  /** gross exposure Σ|qty × mark| */
  readonly exposure: Float64Array;
  readonly drawdownPct: Float64Array;
}

/**
 * Appends text to a file through a large buffer with synchronous writes: no back-pressure to
 * await in the replay loop, and a 525,600-row file is written in a few hundred system calls.
 */
export class BufferedFileWriter {
  readonly #fd: number;
  #buf = '';
  readonly #limit: number;
  #bytes = 0;

  constructor(file: string, limit = 1 << 20) {
    this.#fd = openSync(file, 'w');
    this.#limit = limit;
  }

  write(s: string): void {
    this.#buf += s;
    if (this.#buf.length >= this.#limit) this.flush();
  }

  flush(): void {
    if (this.#buf.length === 0) return;
    this.#bytes += writeSync(this.#fd, this.#buf);
    this.#buf = '';
  }

  /** bytes written so far (after flush) */
  get bytes(): number {
    return this.#bytes;
  }

  close(): void {
    this.flush();
    closeSync(this.#fd);
  }
}

export function writeEquityCsv(file: string, c: EquityCurve): void {
  const w = new BufferedFileWriter(file);
  w.write(`${EQUITY_HEADER}\n`);
  for (let i = 0; i < c.n; i++) w.write(`${isoTime(c.ts[i]!)},${fmtNum(c.equity[i]!)},${fmtNum(c.cash[i]!)},${fmtNum(c.exposure[i]!)},${fmtNum(c.drawdownPct[i]!)}\n`);
  w.close();
}

type NodeRecord = DecisionTrace['nodes'][number];

function nodeWithoutTiming(n: NodeRecord): Omit<NodeRecord, 'durationMs'> {
  // explicit fields: canonical order, and the wall-clock duration left out
  return { node: n.node, version: n.version, input: n.input, output: n.output } as Omit<NodeRecord, 'durationMs'>;
}

/**
 * One line of decisions.jsonl: the DecisionTrace with `asOf` first, node timings removed (they go in
 * aggregate to timing.json) and the `runner` left out, so the fast and the graph runner write the
 * same bytes (which runner ran is in timing.json).
 */
export function traceLine(t: DecisionTrace): string {
  return `${JSON.stringify({
    asOf: t.asOf,
    schemaVersion: t.schemaVersion,
    traceId: t.traceId,
    decisionId: t.decisionId,
    runScope: t.runScope,
    exchange: t.exchange,
    symbol: t.symbol,
    timeframe: t.timeframe,
    nodes: t.nodes.map(nodeWithoutTiming),
    recalledMemoryIds: t.recalledMemoryIds,
    verdict: t.verdict,
    orderRequest: t.orderRequest,
    outcome: t.outcome,
    resolution: t.resolution,
  })}\n`;
}
