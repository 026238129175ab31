import type { RiskLimits } from '@meridian/contracts';
import { canonicalJson } from '@meridian/core';
import { RISK_LIMIT_FIELD_NAMES, formatLimitValue, type RiskLimitField } from './limit-fields.ts';

export interface LimitChange {
  readonly field: RiskLimitField;
  /** undefined = no limit */
  readonly before: unknown;
  readonly after: unknown;
  /** "field: old → new" for people */
  readonly text: string;
}

/** Field-by-field differences between two limit documents (before null = first version). */
export function diffLimits(before: Partial<RiskLimits> | null, after: Partial<RiskLimits>): LimitChange[] {
  const out: LimitChange[] = [];
  for (const field of RISK_LIMIT_FIELD_NAMES) {
    const b = normalise(field, before?.[field]);
    const a = normalise(field, after[field]);
    if (canonicalJson(b ?? null) === canonicalJson(a ?? null)) continue;
    out.push({ field, before: b, after: a, text: `${field}: ${formatLimitValue(field, b)} → ${formatLimitValue(field, a)}` });
  }
  return out;
}

/** Defaults compare equal to omitted values: [] = all symbols, false = no stop required. */
function normalise(field: RiskLimitField, v: unknown): unknown {
  if (field === 'allowedSymbols') return Array.isArray(v) ? [...(v as string[])].sort() : [];
  if (field === 'requireStopLoss') return v === true;
  return v;
}
