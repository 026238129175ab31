import path from 'node:path';
import { AppError } from '@meridian/core';
import { TIMEFRAME_MS } from '@meridian/contracts';
import type { Bar, SeriesKey } from './bar.ts';
import { type CandleFileFormat, type CandleFileInfo, formatFromPath, readCandleFile } from './candle-file-reader.ts';
import { type BarColumns, type CandleStore, emptyColumns, pushBar } from './candle-store.ts';
import { type CandleIssue, type CandleIssueKind, type GapReport, CandleSequence, checkBar } from './candle-validation.ts';
import type { TimestampFormat } from './timestamp-format.ts';

export type OnError = 'fail' | 'skip';

export interface ImportOptions {
  readonly file: string;
  readonly key: SeriesKey;
  readonly store: CandleStore;
  readonly onError?: OnError;
  readonly format?: CandleFileFormat;
  /** rows per upsert statement */
  readonly batchSize?: number;
  /** how many rejected rows to keep in the report (all are counted) */
  readonly keepIssues?: number;
  readonly onProgress?: (p: { read: number; stored: number }) => void;
}

export interface RowIssue extends CandleIssue {
  readonly file: string;
  readonly line: number;
}

export interface ImportReport {
  readonly file: string;
  readonly format: CandleFileFormat;
  readonly timestampFormat: TimestampFormat | null;
  /** data rows read (header and blank lines excluded) */
  read: number;
  /** rows written: inserted + updated */
  stored: number;
  inserted: number;
  updated: number;
  /** rows already stored with the same values */
  unchanged: number;
  /** exact repeats of the previous row, dropped */
  duplicates: number;
  /** rows rejected (only with onError 'skip') */
  skipped: number;
  skippedByReason: Partial<Record<CandleIssueKind, number>>;
  /** the first `keepIssues` rejected rows */
  issues: RowIssue[];
  gaps: GapReport;
  first: number | null;
  last: number | null;
}

export function formatIssue(i: RowIssue): string {
  return `${i.file}:${i.line}: ${i.field}: ${i.reason}`;
}

/**
 * Stream a candle file into the store: parse, validate, de-duplicate, and upsert in batches.
 * With onError 'fail' (default) the first bad row stops the import with an error naming file,
 * line and field, and nothing is stored (the import runs in one transaction).
 * With 'skip' bad rows are counted by reason and the good ones stored.
 */
export async function importCandles(opts: ImportOptions): Promise<ImportReport> {
  // fail mode is all-or-nothing: a bad row leaves the store as it was
  if ((opts.onError ?? 'fail') === 'fail') return opts.store.atomically((store) => importInto({ ...opts, store }));
  return importInto(opts);
}

async function importInto(opts: ImportOptions): Promise<ImportReport> {
  const format = opts.format ?? formatFromPath(opts.file);
  const onError = opts.onError ?? 'fail';
  const batchSize = opts.batchSize ?? 5000;
  const keep = opts.keepIssues ?? 100;
  const tf = TIMEFRAME_MS[opts.key.timeframe];
  const info: CandleFileInfo = { format, timestampFormat: null };
  const seq = new CandleSequence(tf);
  const name = path.basename(opts.file);
  const report: ImportReport = {
    file: opts.file,
    format,
    timestampFormat: null,
    read: 0,
    stored: 0,
    inserted: 0,
    updated: 0,
    unchanged: 0,
    duplicates: 0,
    skipped: 0,
    skippedByReason: {},
    issues: [],
    gaps: { missingBars: 0, runs: 0, longest: null },
    first: null,
    last: null,
  };
  let cols: BarColumns = emptyColumns();

  const reject = (line: number, issue: CandleIssue): void => {
    const ri: RowIssue = { ...issue, file: name, line };
    if (onError === 'fail') {
      throw new AppError('VALIDATION', `invalid candle at ${formatIssue(ri)}`, {
        hint: 'fix the row, or import with --on-error skip to store the good rows and report the bad ones',
        details: { file: opts.file, line, field: issue.field, kind: issue.kind },
      });
    }
    report.skipped++;
    report.skippedByReason[issue.kind] = (report.skippedByReason[issue.kind] ?? 0) + 1;
    if (report.issues.length < keep) report.issues.push(ri);
  };

  // One upsert in flight while the next batch is parsed: the database and the parser overlap
  // (two cores), and statements still run one at a time, in order.
  let inflight: Promise<void> = Promise.resolve();
  const flush = async (): Promise<void> => {
    if (cols.ts.length === 0) return;
    const batch = cols;
    cols = emptyColumns();
    await inflight;
    inflight = opts.store.upsert(opts.key, batch).then((r) => {
      report.inserted += r.inserted;
      report.updated += r.updated;
      report.unchanged += r.unchanged;
      report.stored = report.inserted + report.updated;
      opts.onProgress?.({ read: report.read, stored: report.stored });
    });
    inflight.catch(() => undefined); // observed by the next await; never unhandled
  };

  // one scratch bar for the checks: nothing below keeps a reference to it
  const bar: Bar = { ts: 0, open: 0, high: 0, low: 0, close: 0, volume: 0 };
  try {
    for await (const b of readCandleFile(opts.file, info, batchSize)) {
      for (let i = 0; i < b.n; i++) {
        report.read++;
        const issue = b.issue[i];
        if (issue) {
          reject(b.line[i]!, issue);
          continue;
        }
        bar.ts = b.ts[i]!;
        bar.open = b.open[i]!;
        bar.high = b.high[i]!;
        bar.low = b.low[i]!;
        bar.close = b.close[i]!;
        bar.volume = b.volume[i]!;
        const bad = checkBar(bar, tf);
        if (bad) {
          reject(b.line[i]!, bad);
          continue;
        }
        const v = seq.push(bar);
        if (v === 'accept') {
          pushBar(cols, bar);
          report.first ??= bar.ts;
          report.last = bar.ts;
        } else if (v === 'duplicate') report.duplicates++;
        else reject(b.line[i]!, v);
      }
      if (cols.ts.length >= batchSize) await flush();
    }
    await flush();
    await inflight;
  } finally {
    // never leave a statement running behind a failure (the transaction rolls back after it)
    await inflight.catch(() => undefined);
  }
  (report as { timestampFormat: TimestampFormat | null }).timestampFormat = info.timestampFormat;
  report.gaps = seq.gaps();
  return report;
}
