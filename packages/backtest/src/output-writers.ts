import { closeSync, openSync, writeSync } from 'node:fs';
import { fmtNum } from './number-format.ts';
import type { Trade } from './trade-book.ts';

const DAY_MS = 86_400_000;
const MAX_DATE_MS = 8.64e15;
const PAD2 = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
let isoDay = Number.NaN;
let isoDayPrefix = '';

/**
 * ISO-8601 UTC, the only time format at the CSV/summary edge: exactly `Date#toISOString`, with the date part
 * cached per day (equity.csv formats one time per bar; toISOString was a visible share of writing it).
 */
export function isoTime(t: number): string {
  if (!Number.isInteger(t) || t > MAX_DATE_MS || t < -MAX_DATE_MS) return new Date(t).toISOString();
  const day = Math.floor(t / DAY_MS);
  if (day !== isoDay) {
    const s = new Date(day * DAY_MS).toISOString(); // throws RangeError outside the Date range, as before
    isoDayPrefix = s.slice(0, s.indexOf('T') + 1);
    isoDay = day;
  }
  let r = t - day * DAY_MS;
  const h = Math.floor(r / 3_600_000);
  r -= h * 3_600_000;
  const m = Math.floor(r / 60_000);
  r -= m * 60_000;
  const sec = Math.floor(r / 1000);
  return `${isoDayPrefix}${PAD2[h]}:${PAD2[m]}:${PAD2[sec]}.${PAD3[r - sec * 1000]}Z`;
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
 * Appends text to a file through one large reused byte buffer with synchronous writes: for the small outputs
 * written at the end (equity.csv). Text is encoded into the buffer line by line (no growing string to flatten
 * and re-encode, no fresh buffer per flush: both showed up as page faults and GC in the profile).
 */
export class BufferedFileWriter {
  readonly #fd: number;
  readonly #buf: Buffer;
  #used = 0;
  #bytes = 0;

  constructor(file: string, limit = 1 << 20) {
    this.#fd = openSync(file, 'w');
    this.#buf = Buffer.allocUnsafe(Math.max(limit, 64));
  }

  write(s: string): void {
    // a UTF-16 code unit takes at most 3 bytes in UTF-8
    if (this.#used + s.length * 3 > this.#buf.length) {
      this.flush();
      if (s.length * 3 > this.#buf.length) {
        this.#bytes += writeSync(this.#fd, s);
        return;
      }
    }
    this.#used += this.#buf.write(s, this.#used, 'utf8');
  }

  flush(): void {
    let off = 0;
    while (off < this.#used) off += writeSync(this.#fd, this.#buf, off, this.#used - off);
    this.#bytes += this.#used;
    this.#used = 0;
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

/** fmtNum remembering its last value: equity.csv columns repeat while the account is flat */
function lastValueFormatter(): (x: number) => string {
  let last = Number.NaN;
  let text = '';
  return (x) => {
    if (x !== last || Object.is(x, -0)) {
      text = fmtNum(x);
      last = x;
    }
    return text;
  };
}

export function writeEquityCsv(file: string, c: EquityCurve): void {
  const w = new BufferedFileWriter(file);
  const equity = lastValueFormatter();
  const cash = lastValueFormatter();
  const exposure = lastValueFormatter();
  const drawdown = lastValueFormatter();
  w.write(`${EQUITY_HEADER}\n`);
  for (let i = 0; i < c.n; i++) w.write(`${isoTime(c.ts[i]!)},${equity(c.equity[i]!)},${cash(c.cash[i]!)},${exposure(c.exposure[i]!)},${drawdown(c.drawdownPct[i]!)}\n`);
  w.close();
}
