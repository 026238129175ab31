import { createReadStream } from 'node:fs';
import { AppError } from '@meridian/core';
import type { CandleField, CandleIssue } from './candle-validation.ts';
import { detectTimestampFormat, parseTimestamp, type TimestampFormat } from './timestamp-format.ts';

/**
 * Streaming readers for candle files. Memory stays flat: the file is read in chunks and
 * handed on in batches of parsed rows, never held whole.
 *   CSV:  header `timestamp,open,high,low,close,volume` (any column order, extra columns ignored)
 *   JSON: ccxt style `[[ts, open, high, low, close, volume], …]`
 * A row that cannot be parsed becomes an issue naming its line and field; rules about values
 * (high ≥ body, order, …) are checked later by candle-validation.
 */
export type CandleFileFormat = 'csv' | 'json';

/**
 * A batch of parsed rows in columns (no object per row: the import of a million rows is
 * dominated by allocation otherwise). Row i is bad when `issue[i]` is set; its values are NaN.
 */
export interface ParsedBatch {
  n: number;
  readonly line: number[];
  readonly ts: number[];
  readonly open: number[];
  readonly high: number[];
  readonly low: number[];
  readonly close: number[];
  readonly volume: number[];
  readonly issue: (CandleIssue | undefined)[];
}

function newBatch(): ParsedBatch {
  return { n: 0, line: [], ts: [], open: [], high: [], low: [], close: [], volume: [], issue: [] };
}

function pushIssue(b: ParsedBatch, line: number, issue: CandleIssue): void {
  const i = b.n++;
  b.line.push(line);
  b.ts.push(NaN);
  b.open.push(NaN);
  b.high.push(NaN);
  b.low.push(NaN);
  b.close.push(NaN);
  b.volume.push(NaN);
  b.issue[i] = issue;
}

/** Parse one row's text cells into the batch (or an issue naming the field). */
function pushRow(b: ParsedBatch, line: number, rawTs: string, ro: string, rh: string, rl: string, rc: string, rv: string, info: CandleFileInfo): void {
  if (info.timestampFormat === null) {
    const f = detectTimestampFormat(rawTs);
    if (f === null) {
      pushIssue(b, line, { kind: 'malformed', field: 'timestamp', reason: `malformed timestamp "${rawTs}" (expected ISO-8601, epoch seconds or epoch ms)` });
      return;
    }
    info.timestampFormat = f;
  }
  const ts = parseTimestamp(rawTs, info.timestampFormat);
  if (!Number.isFinite(ts)) {
    pushIssue(b, line, { kind: 'malformed', field: 'timestamp', reason: `malformed timestamp "${rawTs}" (file uses ${info.timestampFormat})` });
    return;
  }
  const o = numberOf(ro);
  const h = numberOf(rh);
  const l = numberOf(rl);
  const c = numberOf(rc);
  const v = numberOf(rv);
  if (!(Number.isFinite(o) && Number.isFinite(h) && Number.isFinite(l) && Number.isFinite(c) && Number.isFinite(v))) {
    const raws = [ro, rh, rl, rc, rv];
    const vals = [o, h, l, c, v];
    const k = vals.findIndex((x) => !Number.isFinite(x));
    const field = NUM_FIELDS[k] as CandleField;
    pushIssue(b, line, { kind: 'not_finite', field, reason: `${field} is not a finite number ("${raws[k]}")` });
    return;
  }
  b.n++;
  b.line.push(line);
  b.ts.push(ts);
  b.open.push(o);
  b.high.push(h);
  b.low.push(l);
  b.close.push(c);
  b.volume.push(v);
}

export interface CandleFileInfo {
  readonly format: CandleFileFormat;
  /** known once the first data row is read */
  timestampFormat: TimestampFormat | null;
}

const COLUMNS = ['timestamp', 'open', 'high', 'low', 'close', 'volume'] as const;

const NUM_FIELDS = ['open', 'high', 'low', 'close', 'volume'] as const;

export function formatFromPath(file: string): CandleFileFormat {
  const lower = file.toLowerCase();
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.json')) return 'json';
  throw new AppError('VALIDATION', `cannot tell the format of ${file} from its name`, { hint: 'name it *.csv or *.json' });
}

function numberOf(raw: string): number {
  const n = +raw;
  // +'' and +'  ' are 0: an empty cell must not become a zero price
  return n === 0 && raw.trim().length === 0 ? NaN : n;
}

function unquote(c: string): string {
  return c.charCodeAt(0) === 34 ? c.replace(/^"|"$/g, '') : c;
}

function fileError(file: string, message: string, hint: string, cause?: unknown): AppError {
  return new AppError('VALIDATION', `${file}: ${message}`, { hint, cause });
}

/** Read a candle file as batches of parsed rows. `info.timestampFormat` is set after the first row. */
export async function* readCandleFile(file: string, info: CandleFileInfo, batchSize = 5000): AsyncGenerator<ParsedBatch> {
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
  try {
    if (info.format === 'csv') yield* readCsv(file, stream, info, batchSize);
    else yield* readJson(file, stream, info, batchSize);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new AppError('NOT_FOUND', `file not found: ${file}`, { hint: 'check the path' });
    throw e;
  } finally {
    stream.destroy();
  }
}

async function* readCsv(file: string, stream: AsyncIterable<string>, info: CandleFileInfo, batchSize: number): AsyncGenerator<ParsedBatch> {
  let carry = '';
  let lineNo = 0;
  let idx: number[] | null = null; // column positions, from the header
  let width = 0;
  let batch = newBatch();
  let p0 = 0;
  let p1 = 1;
  let p2 = 2;
  let p3 = 3;
  let p4 = 4;
  let p5 = 5;

  const handle = (rawLine: string): void => {
    lineNo++;
    const lineText = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (idx === null) {
      const header = lineText
        .replace(/^\uFEFF/, '')
        .split(',')
        .map((h) => h.trim().replace(/^"|"$/g, '').toLowerCase());
      const positions = COLUMNS.map((c) => header.indexOf(c));
      const missing = COLUMNS.filter((_, i) => positions[i] === -1);
      if (missing.length > 0)
        throw fileError(
          file,
          `line 1: header is missing column(s) ${missing.join(', ')} (got "${lineText.slice(0, 120)}")`,
          `the first line must be the header ${COLUMNS.join(',')}`,
        );
      idx = positions;
      [p0, p1, p2, p3, p4, p5] = positions as [number, number, number, number, number, number];
      width = header.length;
      return;
    }
    if (lineText.trim().length === 0) return; // blank lines (e.g. at the end) carry nothing
    const cells = lineText.split(',');
    if (cells.length !== width) {
      pushIssue(batch, lineNo, { kind: 'malformed', field: 'row', reason: `expected ${width} columns, found ${cells.length}` });
      return;
    }
    pushRow(batch, lineNo, unquote(cells[p0]!), unquote(cells[p1]!), unquote(cells[p2]!), unquote(cells[p3]!), unquote(cells[p4]!), unquote(cells[p5]!), info);
  };

  for await (const chunk of stream) {
    const text = carry.length > 0 ? carry + chunk : chunk;
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl === -1) break;
      handle(text.slice(start, nl));
      start = nl + 1;
    }
    carry = text.slice(start);
    if (batch.n >= batchSize) {
      yield batch;
      batch = newBatch();
    }
  }
  if (carry.length > 0) handle(carry);
  if (idx === null) throw fileError(file, 'the file is empty', `write the header ${COLUMNS.join(',')} and one row per candle`);
  if (batch.n > 0) yield batch;
}

async function* readJson(file: string, stream: AsyncIterable<string>, info: CandleFileInfo, batchSize: number): AsyncGenerator<ParsedBatch> {
  // A small state machine for the one shape we accept: an array of arrays of scalars.
  let depth = 0;
  let lineNo = 1;
  let inString = false;
  let escaped = false;
  let rowText = '';
  let rowLine = 0;
  let sawOuter = false;
  let batch = newBatch();

  const emit = (): void => {
    let values: unknown;
    try {
      values = JSON.parse(rowText);
    } catch {
      pushIssue(batch, rowLine, { kind: 'malformed', field: 'row', reason: `not valid JSON: ${rowText.slice(0, 80)}` });
      return;
    }
    const arr = values as unknown[];
    if (arr.length < 6) {
      pushIssue(batch, rowLine, { kind: 'malformed', field: 'row', reason: `expected [ts, open, high, low, close, volume], found ${arr.length} values` });
      return;
    }
    const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
    pushRow(batch, rowLine, str(arr[0]), str(arr[1]), str(arr[2]), str(arr[3]), str(arr[4]), str(arr[5]), info);
  };

  for await (const chunk of stream) {
    let segStart = depth >= 2 ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk.charCodeAt(i);
      if (ch === 10) lineNo++;
      if (inString) {
        if (escaped) escaped = false;
        else if (ch === 92) escaped = true;
        else if (ch === 34) inString = false;
        continue;
      }
      if (ch === 34) {
        if (depth < 2) throw fileError(file, `line ${lineNo}: expected an array of candle arrays`, 'write ccxt-style [[ts, open, high, low, close, volume], …]');
        inString = true;
      } else if (ch === 91) {
        depth++;
        if (depth === 1) sawOuter = true;
        else if (depth === 2) {
          segStart = i;
          rowText = '';
          rowLine = lineNo;
        } else throw fileError(file, `line ${lineNo}: nested arrays inside a candle`, 'each candle is a flat [ts, open, high, low, close, volume]');
      } else if (ch === 93) {
        depth--;
        if (depth === 1) {
          rowText += chunk.slice(segStart, i + 1);
          segStart = -1;
          emit();
        } else if (depth < 0) throw fileError(file, `line ${lineNo}: unbalanced ]`, 'check the JSON');
      } else if (depth === 0 && ch > 32) {
        throw fileError(file, `line ${lineNo}: expected an array of candle arrays`, 'write ccxt-style [[ts, open, high, low, close, volume], …]');
      }
    }
    if (depth >= 2 && segStart >= 0) rowText += chunk.slice(segStart);
    if (batch.n >= batchSize) {
      yield batch;
      batch = newBatch();
    }
  }
  if (!sawOuter || depth !== 0) throw fileError(file, 'the JSON is empty or truncated', 'write ccxt-style [[ts, open, high, low, close, volume], …]');
  if (batch.n > 0) yield batch;
}
