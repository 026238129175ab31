import { RiskLimitsSchema, type RiskLimits } from '@meridian/contracts';
import { err, ok, type Result } from '@meridian/core';
import type { z } from 'zod';
import { RISK_LIMIT_FIELD_NAMES, fmtNum } from './limit-fields.ts';

/** One thing wrong with a limits document. `field` is a dotted path ('' for the document itself). */
export interface LimitProblem {
  readonly field: string;
  readonly message: string;
}

const KNOWN_FIELDS: readonly string[] = Object.keys(RiskLimitsSchema.shape);

/**
 * Validate a RiskLimits document and list EVERY problem at once: unknown fields, bad field
 * values and cross-field inconsistencies. Zod skips object-level refinements once a field
 * fails, so the cross-field rules run here on whichever fields parsed on their own.
 */
export function validateRiskLimits(input: unknown): Result<RiskLimits, LimitProblem[]> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return err([{ field: '', message: `the limits document must be a JSON object, got ${describe(input)}` }]);
  }
  const doc = input as Record<string, unknown>;
  const problems: LimitProblem[] = [];
  const parsed = RiskLimitsSchema.safeParse(doc);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(...toProblems(issue, doc));
  }

  // Cross-field rules over the fields that are valid on their own.
  const good: Partial<Record<string, unknown>> = {};
  const shape = RiskLimitsSchema.shape as Record<string, z.ZodType>;
  for (const k of KNOWN_FIELDS) {
    const s = shape[k];
    if (s && k in doc) {
      const r = s.safeParse(doc[k]);
      if (r.success) good[k] = r.data;
    }
  }
  problems.push(...crossFieldProblems(good));

  if (problems.length > 0) {
    const order = (f: string) => {
      const top = f.split('.')[0] ?? '';
      const i = (RISK_LIMIT_FIELD_NAMES as readonly string[]).indexOf(top);
      return i < 0 ? -1 : i;
    };
    // stable: document-level and unknown fields first, then in field order
    problems.sort((a, b) => order(a.field) - order(b.field));
    return err(problems);
  }
  return ok(parsed.data as RiskLimits);
}

/** One line per problem, for CLI and API error output. */
export function formatLimitProblems(problems: readonly LimitProblem[]): string {
  return problems.map((p) => `  - ${p.field ? `${p.field}: ` : ''}${p.message}`).join('\n');
}

function crossFieldProblems(g: Partial<Record<string, unknown>>): LimitProblem[] {
  const out: LimitProblem[] = [];
  const num = (k: string): number | undefined => (typeof g[k] === 'number' ? (g[k] as number) : undefined);
  const notAbove = (small: string, big: string, why: string) => {
    const a = num(small);
    const b = num(big);
    if (a !== undefined && b !== undefined && a > b) {
      out.push({ field: small, message: `${fmtNum(a)} is above ${big} (${fmtNum(b)}); it must not be: ${why}` });
    }
  };
  notAbove('maxOrderNotional', 'maxPositionNotional', 'one order can never be larger than the position it builds');
  notAbove('maxPositionNotional', 'maxGrossExposure', 'one position is part of the gross exposure');
  if (num('maxPositionNotional') === undefined) {
    notAbove('maxOrderNotional', 'maxGrossExposure', 'one order is part of the gross exposure');
  }
  notAbove('maxNetExposure', 'maxGrossExposure', 'net exposure can never exceed gross exposure');
  notAbove('maxDailyLossPct', 'maxDrawdownPct', 'a daily loss is also a drawdown, so the daily-loss halt could never trigger first');
  const syms = g['allowedSymbols'];
  if (Array.isArray(syms)) {
    const seen = new Set<string>();
    for (const s of syms as string[]) {
      if (seen.has(s)) out.push({ field: 'allowedSymbols', message: `${s} is listed twice; list each symbol once` });
      seen.add(s);
    }
  }
  return out;
}

function toProblems(issue: z.core.$ZodIssue, doc: Record<string, unknown>): LimitProblem[] {
  const field = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => {
      const near = nearest(k);
      return {
        field: k,
        message: `unknown field${near ? ` — did you mean ${near}?` : ''} (allowed: ${KNOWN_FIELDS.join(', ')})`,
      };
    });
  }
  const value = valueAt(doc, issue.path);
  const got = `; got ${describe(value)}`;
  if (issue.code === 'invalid_type') {
    if (issue.expected === 'int') return [{ field, message: `${issue.message}${got}` }];
    const expected = issue.expected === 'number' ? 'a finite number' : issue.expected === 'boolean' ? 'true or false' : `a ${issue.expected}`;
    return [{ field, message: `must be ${expected}${got}` }];
  }
  if (issue.code === 'invalid_value' && issue.path[0] === 'schemaVersion') {
    return [{ field, message: `must be 1 (the only limits schema version)${got}` }];
  }
  // custom/too_small/too_big carry the schema's own field-level message
  const msg = issue.message.startsWith(`${field} `) ? issue.message.slice(field.length + 1) : issue.message;
  return [{ field, message: `${msg}${got}` }];
}

function valueAt(doc: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = doc;
  for (const p of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'number') return fmtNum(v);
  if (typeof v === 'string') return `${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)} (a string)`;
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return String(v);
}

/** Closest known field within edit distance 3, for "did you mean". */
function nearest(k: string): string | undefined {
  let best: string | undefined;
  let bestD = 4;
  for (const f of KNOWN_FIELDS) {
    const d = editDistance(k.toLowerCase(), f.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = f;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j] ?? 0;
      row[j] = Math.min(cur + 1, (row[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length] ?? 0;
}
