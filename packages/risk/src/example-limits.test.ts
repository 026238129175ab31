import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RISK_LIMIT_FIELD_NAMES } from './limit-fields.ts';
import { validateRiskLimits } from './limits-validation.ts';

const read = (name: string) => fs.readFileSync(fileURLToPath(new URL(`../../../examples/${name}`, import.meta.url)), 'utf8');

describe('examples/risk-limits.json', () => {
  it('validates, sets every field, and every field is explained in risk-limits.md', () => {
    const doc: unknown = JSON.parse(read('risk-limits.json'));
    const r = validateRiskLimits(doc);
    expect(r.ok, JSON.stringify(r)).toBe(true);
    expect(Object.keys(doc as object).sort()).toEqual(['schemaVersion', ...RISK_LIMIT_FIELD_NAMES].sort());
    const md = read('risk-limits.md');
    for (const f of RISK_LIMIT_FIELD_NAMES) expect(md, f).toContain(`\`${f}\``);
  });
});
