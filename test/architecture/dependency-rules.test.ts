import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { checkDependencyRules } from './dependency-rules.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('dependency rules (ARCHITECTURE.md)', () => {
  it('hold for this repository', () => {
    const violations = checkDependencyRules(repoRoot);
    expect(violations.map((v) => `${v.rule} @ ${v.where}: ${v.message}`)).toEqual([]);
  });
});

describe('planted violations are caught', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  function workspace(units: Record<string, { deps?: string[]; files?: Record<string, string> }>): string {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-deps-'));
    dirs.push(root);
    fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name: 'ws', devDependencies: { vitest: '*' } }));
    for (const [dir, u] of Object.entries(units)) {
      const name = `@meridian/${path.basename(dir)}`;
      fs.mkdirSync(path.join(root, dir, 'src'), { recursive: true });
      fs.writeFileSync(
        path.join(root, dir, 'package.json'),
        JSON.stringify({ name, dependencies: Object.fromEntries((u.deps ?? []).map((d) => [d, '*'])) }),
      );
      for (const [f, text] of Object.entries(u.files ?? { 'index.ts': 'export {};\n' })) fs.writeFileSync(path.join(root, dir, 'src', f), text);
    }
    return root;
  }

  const rulesOf = (root: string) => checkDependencyRules(root).map((v) => v.rule);

  it('a clean workspace has no violations', () => {
    const root = workspace({
      'packages/contracts': { deps: ['zod'], files: { 'index.ts': "import { z } from 'zod';\nexport const a = z.string();\n" } },
      'packages/core': { deps: ['@meridian/contracts'], files: { 'index.ts': "import type { a } from '@meridian/contracts';\n" } },
      'apps/executor': { deps: ['@meridian/core'], files: { 'main.ts': "import '@meridian/core';\n" } },
    });
    expect(checkDependencyRules(root)).toEqual([]);
  });

  it('the executor depending on @langchain/* is caught', () => {
    const root = workspace({ 'apps/executor': { deps: ['@langchain/core'], files: { 'main.ts': "import '@langchain/core';\n" } } });
    expect(rulesOf(root)).toContain('4-executor-isolated');
  });

  it('the executor reaching agents transitively is caught', () => {
    const root = workspace({
      'packages/agents': {},
      'packages/execution': { deps: ['@meridian/agents'] },
      'apps/executor': { deps: ['@meridian/execution'] },
    });
    const v = checkDependencyRules(root).filter((x) => x.rule === '4-executor-isolated');
    expect(v.map((x) => x.message).join('\n')).toContain('@meridian/executor → @meridian/execution → @meridian/agents');
  });

  it('risk importing node:fs, reading the clock, or depending on db is caught', () => {
    const root = workspace({
      'packages/db': {},
      'packages/risk': {
        deps: ['@meridian/db'],
        files: { 'engine.ts': "import fs from 'node:fs';\nexport const t = () => Date.now();\n" },
      },
    });
    const rules = rulesOf(root);
    expect(rules).toContain('3-risk-pure');
    expect(rules).toContain('3-no-io');
  });

  it('contracts importing anything but zod is caught', () => {
    const root = workspace({ 'packages/contracts': { deps: ['zod', 'pino'], files: { 'index.ts': "import 'pino';\n" } } });
    expect(rulesOf(root)).toContain('2-contracts-only-zod');
  });

  it('a package depending on an app, and apps importing each other, are caught', () => {
    const root = workspace({
      'apps/api': {},
      'apps/worker': { deps: ['@meridian/api'] },
      'packages/db': { deps: ['@meridian/worker'] },
    });
    const rules = rulesOf(root);
    expect(rules).toContain('1-apps-on-top');
    expect(rules).toContain('1-apps-isolated');
  });

  it('market calling a private ccxt method, and another package using ccxt, are caught', () => {
    const root = workspace({
      'packages/market': { deps: ['ccxt'], files: { 'x.ts': "import ccxt from 'ccxt';\nexport const f = (e: any) => e.createOrder('BTC/USDT');\n" } },
      'packages/agents': { deps: ['ccxt'], files: { 'x.ts': "import 'ccxt';\n" } },
    });
    const rules = rulesOf(root);
    expect(rules).toContain('5-market-public-only');
    expect(rules).toContain('5-only-execution-trades');
  });

  it('an import cycle is caught', () => {
    const root = workspace({
      'packages/a': { deps: ['@meridian/b'] },
      'packages/b': { deps: ['@meridian/c'] },
      'packages/c': { deps: ['@meridian/a'] },
    });
    expect(rulesOf(root)).toContain('6-no-cycles');
  });

  it('an undeclared import and process.env outside config are caught', () => {
    const root = workspace({ 'packages/memory': { files: { 'x.ts': "import pg from 'pg';\nexport const u = process.env.X;\n" } } });
    const rules = rulesOf(root);
    expect(rules).toContain('declared-deps');
    expect(rules).toContain('config-only-env');
  });
});
