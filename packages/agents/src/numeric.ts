/**
 * Cheap, deterministic rounding for numbers that go into agent messages. String-free on purpose:
 * these run on every backtest bar, where toFixed/toPrecision would cost more than the agent logic.
 */

/** Round to `d` decimals (d ≤ 8); used for unit-interval values (confidence, strength, momentum). */
export function roundTo(x: number, d: number): number {
  const f = POW10[d] ?? 10 ** d;
  const r = Math.round(x * f) / f;
  // -0 would print as 0 but compare unequal under Object.is; normalise so JSON and deep-equal agree
  return r === 0 ? 0 : r;
}

const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8];

/** Round to `sig` significant digits (prices of any magnitude: 62,310 or 0.0000529). */
export function roundSig(x: number, sig = 10): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const e = Math.floor(Math.log10(Math.abs(x)));
  const p = sig - 1 - e;
  // scale up or down with an exact power of ten so the division is correctly rounded
  if (p >= 0) {
    const f = 10 ** p;
    return Math.round(x * f) / f;
  }
  const f = 10 ** -p;
  return Math.round(x / f) * f;
}

export function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/** Logistic function. */
export function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

/** A finite number or NaN (never undefined), for reading optional indicator values. */
export function num(x: number | undefined): number {
  return x === undefined ? Number.NaN : x;
}
