import type { Bar } from './bar.ts';

/**
 * Rules every stored candle obeys. A rejected candle carries the field and the reason, so
 * an import can name file, line and field. Rules are checked in a fixed order so the
 * reported reason is stable: finiteness, price > 0, high, low, volume, alignment, then
 * (in CandleSequence) order and duplicates.
 */
export type CandleIssueKind =
  | 'malformed'
  | 'not_finite'
  | 'not_positive'
  | 'high_below_body'
  | 'low_above_body'
  | 'negative_volume'
  | 'misaligned'
  | 'out_of_order'
  | 'duplicate_conflict';

export type CandleField = 'timestamp' | 'open' | 'high' | 'low' | 'close' | 'volume' | 'row';

export interface CandleIssue {
  readonly kind: CandleIssueKind;
  readonly field: CandleField;
  readonly reason: string;
}

const PRICE_FIELDS = ['open', 'high', 'low', 'close'] as const;

/** Check one bar on its own. Returns null when valid. */
export function checkBar(bar: Bar, timeframeMs: number): CandleIssue | null {
  if (!Number.isFinite(bar.ts)) return { kind: 'not_finite', field: 'timestamp', reason: `timestamp is not a finite number (${bar.ts})` };
  for (const f of PRICE_FIELDS) {
    const v = bar[f];
    if (!Number.isFinite(v)) return { kind: 'not_finite', field: f, reason: `${f} is not a finite number (${v})` };
  }
  if (!Number.isFinite(bar.volume)) return { kind: 'not_finite', field: 'volume', reason: `volume is not a finite number (${bar.volume})` };
  for (const f of PRICE_FIELDS) {
    if (bar[f] <= 0) return { kind: 'not_positive', field: f, reason: `${f} must be > 0 (got ${bar[f]})` };
  }
  if (bar.high < Math.max(bar.open, bar.close))
    return { kind: 'high_below_body', field: 'high', reason: `high ${bar.high} is below max(open, close) ${Math.max(bar.open, bar.close)}` };
  if (bar.low > Math.min(bar.open, bar.close))
    return { kind: 'low_above_body', field: 'low', reason: `low ${bar.low} is above min(open, close) ${Math.min(bar.open, bar.close)}` };
  if (bar.volume < 0) return { kind: 'negative_volume', field: 'volume', reason: `volume must be ≥ 0 (got ${bar.volume})` };
  if (bar.ts % timeframeMs !== 0 || bar.ts < 0)
    return {
      kind: 'misaligned',
      field: 'timestamp',
      reason: `timestamp ${new Date(bar.ts).toISOString()} is not aligned to the ${timeframeMs / 60_000}-minute timeframe (UTC)`,
    };
  return null;
}

function sameValues(a: Bar, b: Bar): boolean {
  return a.open === b.open && a.high === b.high && a.low === b.low && a.close === b.close && a.volume === b.volume;
}

export interface GapReport {
  /** bars missing between the first and the last accepted bar */
  readonly missingBars: number;
  /** number of separate holes */
  readonly runs: number;
  /** the longest hole: open time of its first and last missing bar, and its length */
  readonly longest: { readonly from: number; readonly to: number; readonly bars: number } | null;
}

export type SequenceVerdict = 'accept' | 'duplicate' | CandleIssue;

/**
 * Order, duplicate and gap rules over a stream of bars. Feed bars that passed `checkBar`.
 * A bar equal to the previous one (same ts and values) is a duplicate to drop; the same ts
 * with other values is a conflict; an earlier ts is out of order. Gaps are counted, never filled.
 * A rejected bar does not move the sequence on, so in skip mode the next good bar is
 * compared with the last accepted one.
 */
export class CandleSequence {
  readonly #tf: number;
  #last: Bar | null = null;
  #missing = 0;
  #runs = 0;
  #longest: { from: number; to: number; bars: number } | null = null;

  constructor(timeframeMs: number, previous?: Bar | null) {
    this.#tf = timeframeMs;
    if (previous) this.#last = { ...previous };
  }

  push(bar: Bar): SequenceVerdict {
    const last = this.#last;
    if (last !== null) {
      if (bar.ts < last.ts)
        return {
          kind: 'out_of_order',
          field: 'timestamp',
          reason: `out of order: ${new Date(bar.ts).toISOString()} comes after ${new Date(last.ts).toISOString()}`,
        };
      if (bar.ts === last.ts) {
        if (sameValues(bar, last)) return 'duplicate';
        return {
          kind: 'duplicate_conflict',
          field: 'row',
          reason: `duplicate timestamp ${new Date(bar.ts).toISOString()} with different values (o/h/l/c/v ${bar.open}/${bar.high}/${bar.low}/${bar.close}/${bar.volume} vs ${last.open}/${last.high}/${last.low}/${last.close}/${last.volume})`,
        };
      }
      const missing = (bar.ts - last.ts) / this.#tf - 1;
      if (missing > 0) {
        this.#missing += missing;
        this.#runs++;
        if (this.#longest === null || missing > this.#longest.bars)
          this.#longest = { from: last.ts + this.#tf, to: bar.ts - this.#tf, bars: missing };
      }
      last.ts = bar.ts;
      last.open = bar.open;
      last.high = bar.high;
      last.low = bar.low;
      last.close = bar.close;
      last.volume = bar.volume;
    } else {
      this.#last = { ...bar };
    }
    return 'accept';
  }

  get last(): Bar | null {
    return this.#last;
  }

  gaps(): GapReport {
    return { missingBars: this.#missing, runs: this.#runs, longest: this.#longest ? { ...this.#longest } : null };
  }
}

/** Gap report of an ordered, de-duplicated list of bar times. */
export function findGaps(ts: ArrayLike<number>, timeframeMs: number): GapReport {
  const seq = new CandleSequence(timeframeMs);
  for (let i = 0; i < ts.length; i++) seq.push({ ts: ts[i] as number, open: 1, high: 1, low: 1, close: 1, volume: 0 });
  return seq.gaps();
}
