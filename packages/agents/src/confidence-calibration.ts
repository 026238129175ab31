import { sigmoid } from './numeric.ts';

/**
 * How the signal agent turns a rule score into a calibrated probability.
 *
 * 1. Model: p = σ(a + b·strength), one (a, b) per rule family, fitted offline by maximum likelihood
 *    (logistic regression, scripts/fit-confidence.ts) on the real Binance candles in /work/shared/data:
 *    the event is "price touches the target before the stop within horizonBars", judged on the
 *    bars after the signal bar (a bar touching both counts as the stop: the pessimistic reading).
 * 2. Memory: the model probability is a Beta prior worth PRIOR_WEIGHT pseudo-observations; the
 *    recalled neighbours are the data (each scored 1 / 0 / ½ against the same stop and target
 *    distances). Posterior mean = (p·w + successes) / (w + n): few neighbours barely move it,
 *    many dominate it (n-weighted shrinkage).
 * The measured reliability is in docs/agents.md and checked by confidence-calibration.test.ts.
 */
export type RuleFamily = 'trend' | 'meanReversion';

export interface LogisticCoefficients {
  readonly a: number;
  readonly b: number;
}

export const CONFIDENCE_MODEL: {
  readonly version: string;
  readonly coefficients: { readonly [R in RuleFamily]: LogisticCoefficients };
} = {
  version: 'confidence@1',
  // fitted by scripts/fit-confidence.ts on all four series in /work/shared/data (pooled); see docs/agents.md.
  // trend: strength had no predictive power (unconstrained b < 0), so the monotone fit is the base rate.
  coefficients: {
    trend: { a: -0.8833, b: 0 },
    meanReversion: { a: -0.1955, b: 0.0499 },
  },
};

/** Pseudo-observations the model prior is worth when blended with memory outcomes. */
export const PRIOR_WEIGHT = 20;

export function modelConfidence(rule: RuleFamily, strength: number): number {
  const c = CONFIDENCE_MODEL.coefficients[rule];
  return sigmoid(c.a + c.b * strength);
}

/** Beta-posterior mean of the success probability: prior p worth `w` observations, plus `successes` of `n`. */
export function shrinkToMemory(p: number, successes: number, n: number, w: number = PRIOR_WEIGHT): number {
  if (!(n > 0)) return p;
  return (p * w + successes) / (w + n);
}
