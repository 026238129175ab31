import { closeSync, lstatSync, openSync, unlinkSync, write, writeSync } from 'node:fs';
import type { DecisionTrace } from '@meridian/contracts';
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

/**
 * The decisions.jsonl writer: lines are encoded into one of a few large buffers; a full buffer is written by
 * libuv's thread pool (fs.write) while the replay goes on filling the next one, so disk stalls (the page cache
 * throttles a multi-GB file) overlap the computation instead of blocking it. Back-pressure: when every buffer
 * is in flight, `blocked` is true and the replay awaits `ready()` before the next bar. Bytes go out in order
 * (one write in flight at a time), so the file is the same as a synchronous writer's. The first write error is
 * thrown from the next `write`, `ready` or `close`.
 */
export class StreamingFileWriter {
  readonly #fd: number;
  readonly #size: number;
  readonly #free: Buffer[] = [];
  /** full buffers waiting for their turn, in order */
  readonly #queue: { buf: Buffer; n: number }[] = [];
  #cur: Buffer;
  #used = 0;
  #writing = false;
  #error: Error | null = null;
  #wake: (() => void) | null = null;
  #bytes = 0;

  constructor(file: string, bufferBytes = 4 << 20, buffers = 4) {
    // a new file rather than a truncated one: ext4 (auto_da_alloc) flushes a truncated-and-rewritten file to
    // disk on close, which made close() of a re-used --out take seconds for a GB-sized decisions.jsonl
    // (regular files only: never unlink a device or a pipe given as the output)
    if (lstatSync(file, { throwIfNoEntry: false })?.isFile() === true) unlinkSync(file);
    this.#fd = openSync(file, 'w');
    this.#size = Math.max(bufferBytes, 64);
    for (let i = 1; i < buffers; i++) this.#free.push(Buffer.allocUnsafe(this.#size));
    this.#cur = Buffer.allocUnsafe(this.#size);
  }

  /** true when no spare buffer is left (the others are full or being written): await `ready()` before more */
  get blocked(): boolean {
    return this.#free.length === 0;
  }

  write(s: string): void {
    if (this.#error !== null) throw this.#error;
    if (this.#used + s.length * 3 > this.#size) {
      this.#enqueue();
      if (s.length * 3 > this.#size) {
        // a line larger than a buffer (never in practice): its own buffer
        const b = Buffer.from(s, 'utf8');
        this.#queue.push({ buf: b, n: b.length });
        this.#pump();
        return;
      }
    }
    this.#used += this.#cur.write(s, this.#used, 'utf8');
  }

  /** resolves once a buffer is free again (at once when one is) */
  async ready(): Promise<void> {
    while (this.#free.length === 0 && this.#error === null) await new Promise<void>((r) => (this.#wake = r));
    if (this.#error !== null) throw this.#error;
  }

  /** bytes written to the file so far */
  get bytes(): number {
    return this.#bytes;
  }

  /** writes what is buffered, waits for every write, closes the file */
  async close(): Promise<void> {
    if (this.#used > 0) this.#enqueue();
    while ((this.#writing || this.#queue.length > 0) && this.#error === null) await new Promise<void>((r) => (this.#wake = r));
    closeSync(this.#fd);
    if (this.#error !== null) throw this.#error;
  }

  #enqueue(): void {
    if (this.#used > 0) this.#queue.push({ buf: this.#cur, n: this.#used });
    // no free buffer: a fresh one (the caller ignored `blocked`; memory grows, bytes stay in order)
    this.#cur = this.#free.pop() ?? Buffer.allocUnsafe(this.#size);
    this.#used = 0;
    this.#pump();
  }

  #pump(): void {
    if (this.#writing || this.#error !== null) return;
    const job = this.#queue.shift();
    if (job === undefined) return;
    this.#writing = true;
    const step = (off: number): void => {
      write(this.#fd, job.buf, off, job.n - off, null, (err, wrote) => {
        if (err) {
          this.#error = err;
          this.#writing = false;
          this.#wakeUp();
          return;
        }
        this.#bytes += wrote;
        if (off + wrote < job.n) return step(off + wrote);
        this.#writing = false;
        if (job.buf.length === this.#size) this.#free.push(job.buf);
        this.#pump();
        this.#wakeUp();
      });
    };
    step(0);
  }

  #wakeUp(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
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
