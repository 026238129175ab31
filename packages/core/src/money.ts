/**
 * Money and quantity helpers. Floats are never compared for equality: use approxEq.
 * Rounding to a market's precision happens in exactly one place: roundToStep / floorToStep.
 */
export const EPS = 1e-12;

export function approxEq(a: number, b: number, relTol = 1e-9, absTol = EPS): boolean {
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  const diff = Math.abs(a - b);
  return diff <= absTol || diff <= relTol * Math.max(Math.abs(a), Math.abs(b));
}

function decimalsOf(step: number): number {
  if (!(step > 0) || !Number.isFinite(step)) throw new RangeError(`step must be a positive finite number, got ${step}`);
  const s = step.toExponential();
  const [mant = '', expStr = '0'] = s.split('e');
  const mantDecimals = (mant.split('.')[1] ?? '').length;
  return Math.max(0, mantDecimals - Number(expStr));
}

/** Largest multiple of step that is ≤ x (for sizing: never round a quantity up). */
export function floorToStep(x: number, step: number): number {
  if (!Number.isFinite(x)) throw new RangeError(`cannot round a non-finite value (${x})`);
  const d = decimalsOf(step);
  const q = x / step;
  // x on the grid can divide to just below a whole number (0.3/0.1 = 2.9999999999999996,
  // 20367.42840848/1e-8 = 2036742840847.9998): snap to it within the float granularity of q — a few
  // ulps, 4·ε·q, since a fixed nudge is lost below one ulp once q passes ~1e7 — and never more: a
  // relative 1e-12 was 0.47 of a step at q = 4.7e11 and rounded 470251412.7345298 up to …735
  const near = Math.round(q);
  const n = Math.abs(q - near) <= Math.max(1e-9, 4 * Number.EPSILON * Math.abs(q)) ? near : Math.floor(q);
  return Number((n * step).toFixed(Math.min(d, 100)));
}

/** Nearest multiple of step (for prices). */
export function roundToStep(x: number, step: number): number {
  if (!Number.isFinite(x)) throw new RangeError(`cannot round a non-finite value (${x})`);
  const d = decimalsOf(step);
  const n = Math.round(x / step);
  return Number((n * step).toFixed(Math.min(d, 100)));
}

export function isFiniteNumber(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

/** basis points → fraction */
export const bps = (b: number): number => b / 10_000;
