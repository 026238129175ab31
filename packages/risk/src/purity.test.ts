import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * packages/risk is pure (docs/ARCHITECTURE.md rule 3): it may import only the contracts, core,
 * zod and node:crypto (HMAC); no I/O, no clock of its own, no LLM. Tests may use test tools.
 */
const ALLOWED = new Set(['@meridian/contracts', '@meridian/core', 'zod', 'node:crypto']);
const TEST_ONLY = new Set(['vitest', 'fast-check', 'node:fs', 'node:path', 'node:url']);
const dir = path.dirname(fileURLToPath(import.meta.url));
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.ts'));

function imports(src: string): string[] {
  const out: string[] = [];
  for (const m of src.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]/g)) out.push(m[1] ?? '');
  for (const m of src.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1] ?? '');
  return out;
}

describe('packages/risk is pure', () => {
  it.each(files)('%s imports only what the rules allow', (f) => {
    const src = fs.readFileSync(path.join(dir, f), 'utf8');
    const test = f.endsWith('.test.ts');
    const bad = imports(src).filter((s) => !s.startsWith('./') && !ALLOWED.has(s) && !(test && TEST_ONLY.has(s)));
    expect(bad).toEqual([]);
    if (!test) {
      // no clock or randomness of its own: time and ids come in as arguments
      expect(src).not.toMatch(/Date\.now\(|new Date\(\)|Math\.random\(|performance\.now\(|process\.env/);
    }
  });
});
