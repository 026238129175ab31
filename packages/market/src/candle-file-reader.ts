import { createReadStream } from 'node:fs';
import { AppError } from '@meridian/core';
import type { Bar } from './bar.ts';
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

export type ParsedRow = { readonly line: number; readonly bar: Bar; readonly issue?: undefined } | { readonly line: number; readonly bar?: undefined; readonly issue: CandleIssue };

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
  // Number('') is 0: an empty cell must not become a zero price
  return raw.length === 0 || raw.trim().length === 0 ? NaN : Number(raw);
}

function fileError(file: string, message: string, hint: string, cause?: unknown): AppError {
  return new AppError('VALIDATION', `${file}: ${message}`, { hint, cause });
}

/** Read a candle file as batches of parsed rows. `info.timestampFormat` is set after the first row. */
export async function* readCandleFile(file: string, info: CandleFileInfo, batchSize = 5000): AsyncGenerator<ParsedRow[]> {
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

function rowFromValues(file: string, line: number, rawTs: string, raws: readonly string[], info: CandleFileInfo): ParsedRow {
  if (info.timestampFormat === null) {
    const f = detectTimestampFormat(rawTs);
    if (f === null)
      return {
        line,
        issue: { kind: 'malformed', field: 'timestamp', reason: `malformed timestamp "${rawTs}" (expected ISO-8601, epoch seconds or epoch ms)` },
      };
    info.timestampFormat = f;
  }
  const ts = parseTimestamp(rawTs.trim(), info.timestampFormat);
  if (!Number.isFinite(ts))
    return {
      line,
      issue: { kind: 'malformed', field: 'timestamp', reason: `malformed timestamp "${rawTs}" (file uses ${info.timestampFormat})` },
    };
  const open = numberOf(raws[0] ?? '');
  const high = numberOf(raws[1] ?? '');
  const low = numberOf(raws[2] ?? '');
  const close = numberOf(raws[3] ?? '');
  const volume = numberOf(raws[4] ?? '');
  const vals = [open, high, low, close, volume];
  for (let i = 0; i < 5; i++) {
    if (!Number.isFinite(vals[i])) {
      const field = NUM_FIELDS[i] as CandleField;
      return { line, issue: { kind: 'not_finite', field, reason: `${field} is not a finite number ("${raws[i] ?? ''}")` } };
    }
  }
  return { line, bar: { ts, open, high, low, close, volume } };
}

async function* readCsv(file: string, stream: AsyncIterable<string>, info: CandleFileInfo, batchSize: number): AsyncGenerator<ParsedRow[]> {
  let carry = '';
  let lineNo = 0;
  let idx: number[] | null = null; // column positions, from the header
  let width = 0;
  let batch: ParsedRow[] = [];

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
      width = header.length;
      return;
    }
    if (lineText.trim().length === 0) return; // blank lines (e.g. at the end) carry nothing
    const cells = lineText.split(',');
    if (cells.length !== width) {
      batch.push({ line: lineNo, issue: { kind: 'malformed', field: 'row', reason: `expected ${width} columns, found ${cells.length}` } });
      return;
    }
    const at = (k: number): string => {
      const c = cells[idx![k] as number] as string;
      return c.charCodeAt(0) === 34 ? c.replace(/^"|"$/g, '') : c;
    };
    batch.push(rowFromValues(file, lineNo, at(0), [at(1), at(2), at(3), at(4), at(5)], info));
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
    if (batch.length >= batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (carry.length > 0) handle(carry);
  if (idx === null) throw fileError(file, 'the file is empty', `write the header ${COLUMNS.join(',')} and one row per candle`);
  if (batch.length > 0) yield batch;
}

async function* readJson(file: string, stream: AsyncIterable<string>, info: CandleFileInfo, batchSize: number): AsyncGenerator<ParsedRow[]> {
  // A small state machine for the one shape we accept: an array of arrays of scalars.
  let depth = 0;
  let lineNo = 1;
  let inString = false;
  let escaped = false;
  let rowText = '';
  let rowLine = 0;
  let sawOuter = false;
  let batch: ParsedRow[] = [];

  const emit = (): void => {
    let values: unknown;
    try {
      values = JSON.parse(rowText);
    } catch {
      batch.push({ line: rowLine, issue: { kind: 'malformed', field: 'row', reason: `not valid JSON: ${rowText.slice(0, 80)}` } });
      return;
    }
    const arr = values as unknown[];
    if (arr.length < 6) {
      batch.push({ line: rowLine, issue: { kind: 'malformed', field: 'row', reason: `expected [ts, open, high, low, close, volume], found ${arr.length} values` } });
      return;
    }
    const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
    batch.push(rowFromValues(file, rowLine, str(arr[0]), [str(arr[1]), str(arr[2]), str(arr[3]), str(arr[4]), str(arr[5])], info));
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
    if (batch.length >= batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (!sawOuter || depth !== 0) throw fileError(file, 'the JSON is empty or truncated', 'write ccxt-style [[ts, open, high, low, close, volume], …]');
  if (batch.length > 0) yield batch;
}
