/**
 * The one number format of every backtest output (CSV cells and summary.json values), so the files
 * agree with each other byte for byte and across runs: 12 significant digits, then JavaScript's
 * shortest round-trip form. 12 digits keep a cent on 10^9 of equity and drop binary noise such as
 * 0.30000000000000004. Negative zero prints as 0; NaN and ±Infinity have no place in an output and throw.
 */
export const SIGNIFICANT_DIGITS = 12;

export function roundOut(x: number): number {
  if (!Number.isFinite(x)) throw new RangeError(`backtest output value must be finite, got ${x}`);
  if (x === 0) return 0;
  const r = Number(x.toPrecision(SIGNIFICANT_DIGITS));
  return r === 0 ? 0 : r;
}

export function fmtNum(x: number): string {
  return String(roundOut(x));
}
