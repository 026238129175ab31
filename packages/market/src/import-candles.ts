import path from 'node:path';
import { AppError } from '@meridian/core';
import { TIMEFRAME_MS } from '@meridian/contracts';
import type { SeriesKey } from './bar.ts';
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

  const flush = async (): Promise<void> => {
    if (cols.ts.length === 0) return;
    const r = await opts.store.upsert(opts.key, cols);
    report.inserted += r.inserted;
    report.updated += r.updated;
    report.unchanged += r.unchanged;
    report.stored = report.inserted + report.updated;
    cols = emptyColumns();
    opts.onProgress?.({ read: report.read, stored: report.stored });
  };

  for await (const rows of readCandleFile(opts.file, info, batchSize)) {
    for (const row of rows) {
      report.read++;
      if (row.issue) {
        reject(row.line, row.issue);
        continue;
      }
      const bad = checkBar(row.bar, tf);
      if (bad) {
        reject(row.line, bad);
        continue;
      }
      const v = seq.push(row.bar);
      if (v === 'accept') {
        pushBar(cols, row.bar);
        report.first ??= row.bar.ts;
        report.last = row.bar.ts;
      } else if (v === 'duplicate') report.duplicates++;
      else reject(row.line, v);
    }
    if (cols.ts.length >= batchSize) await flush();
  }
  await flush();
  (report as { timestampFormat: TimestampFormat | null }).timestampFormat = info.timestampFormat;
  report.gaps = seq.gaps();
  return report;
}
