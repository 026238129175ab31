import { AppError } from '@meridian/core';

/**
 * Candle files carry time as ISO-8601, epoch seconds or epoch milliseconds. The format is
 * detected once, from the first data row, and reported; every later row must use the same
 * format, so a stray value in another format is a malformed timestamp, not a silent guess.
 */
export type TimestampFormat = 'iso8601' | 'epoch_s' | 'epoch_ms';

/** Epoch values at or above this are milliseconds (1e11 s is the year 5138; 1e11 ms is 1973). */
const MS_THRESHOLD = 1e11;

const ISO_RE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?$/;
const ZONE_RE = /(?:Z|[+-]\d{2}(?::?\d{2})?)$/;
const INT_RE = /^\d+(?:\.\d+)?$/;

export function detectTimestampFormat(raw: string): TimestampFormat | null {
  const s = raw.trim();
  if (INT_RE.test(s)) return Number(s) >= MS_THRESHOLD ? 'epoch_ms' : 'epoch_s';
  if (ISO_RE.test(s) && Number.isFinite(parseIso(s))) return 'iso8601';
  return null;
}

function parseIso(s: string): number {
  // a time without a zone is UTC here (the convention of exchange exports), never local time
  const withT = s.length > 10 ? s.replace(' ', 'T') : `${s}T00:00:00`;
  return Date.parse(ZONE_RE.test(withT.slice(10)) ? withT : `${withT}Z`);
}

/** Parse one timestamp in a known format to UTC epoch ms; NaN when it is not in that format. */
export function parseTimestamp(raw: string, format: TimestampFormat): number {
  switch (format) {
    case 'epoch_ms': {
      // the hot path of big imports: a numeric check instead of a regex
      const n = +raw;
      return Number.isInteger(n) && n >= MS_THRESHOLD && raw.charCodeAt(0) !== 32 ? n : NaN;
    }
    case 'epoch_s': {
      if (!INT_RE.test(raw.trim())) return NaN;
      const n = Number(raw);
      return n < MS_THRESHOLD ? Math.round(n * 1000) : NaN;
    }
    case 'iso8601': {
      const t = raw.trim();
      return ISO_RE.test(t) ? parseIso(t) : NaN;
    }
  }
}

export function describeTimestampFormat(f: TimestampFormat): string {
  switch (f) {
    case 'iso8601':
      return 'ISO-8601 (UTC when no zone is given)';
    case 'epoch_s':
      return 'epoch seconds';
    case 'epoch_ms':
      return 'epoch milliseconds';
  }
}

/**
 * A time a person gives on a command line (--from, --to, --since…): ISO-8601, UTC when it names no zone
 * (2024-01-01, 2024-01-01T12:00:00Z), or epoch ms (epoch seconds below 1e11). A VALIDATION error naming
 * the flag otherwise.
 */
export function parseTimeArg(raw: string, flag: string): number {
  const s = raw.trim();
  const f = detectTimestampFormat(s);
  const t = f === null ? Number.NaN : parseTimestamp(s, f);
  if (!Number.isFinite(t)) throw new AppError('VALIDATION', `${flag} "${raw}" is not a time`, { hint: 'use ISO-8601 in UTC (2024-01-01 or 2024-01-01T12:00:00Z) or epoch ms' });
  return t;
}
