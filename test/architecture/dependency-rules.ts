import fs from 'node:fs';
import path from 'node:path';

/**
 * The dependency rules of ARCHITECTURE.md, checked over a workspace on disk:
 *  1. apps depend on packages, never the reverse; apps never import each other
 *  2. contracts imports only zod; core imports only contracts (+ pino for the logger, node:crypto for ids)
 *  3. risk is pure: contracts + core + zod + node:crypto only
 *  4. apps/executor never depends (even transitively) on agents, llm, orchestrator, memory or @langchain/*
 *  5. only execution places/cancels/queries orders; market may use ccxt's public market data only;
 *     no other package imports ccxt
 *  6. no import cycles between workspace packages
 * plus: every imported workspace/external package is declared in package.json, and only
 * packages/config reads process.env.
 */

export interface Violation {
  rule: string;
  where: string;
  message: string;
}

interface Unit {
  dir: string; // e.g. packages/risk
  name: string; // @meridian/risk
  kind: 'app' | 'package' | 'test';
  deps: Set<string>;
  devDeps: Set<string>;
  imports: Map<string, string[]>; // specifier root -> files
  sources: Map<string, string>; // file -> text (non-test sources only)
}

const APPS = ['api', 'dashboard', 'worker', 'executor', 'cli'];
const FORBIDDEN_FOR_EXECUTOR = ['@meridian/agents', '@meridian/llm', '@meridian/orchestrator', '@meridian/memory'];
const IO_MODULES = [
  'fs',
  'fs/promises',
  'net',
  'http',
  'https',
  'http2',
  'dgram',
  'dns',
  'child_process',
  'worker_threads',
  'cluster',
  'tls',
  'pg',
  'ioredis',
  'bullmq',
  'ccxt',
  '@electric-sql/pglite',
];
const PRIVATE_CCXT_METHODS = [
  'createOrder',
  'cancelOrder',
  'cancelAllOrders',
  'editOrder',
  'fetchOrder',
  'fetchOrders',
  'fetchOpenOrders',
  'fetchClosedOrders',
  'fetchMyTrades',
  'fetchBalance',
  'withdraw',
  'transfer',
];

const IMPORT_RE = /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;(=])import\s*\(\s*['"]([^'"]+)['"]\s*\)|(?:^|[\s;])import\s*['"]([^'"]+)['"]|require\(\s*['"]([^'"]+)['"]\s*\)/gm;

function pkgRoot(spec: string): string | null {
  if (spec.startsWith('.') || spec.startsWith('/')) return null;
  if (spec.startsWith('node:')) return spec;
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? spec);
}

const NODE_BUILTINS = new Set([
  'assert',
  'buffer',
  'child_process',
  'cluster',
  'crypto',
  'dgram',
  'dns',
  'events',
  'fs',
  'http',
  'http2',
  'https',
  'net',
  'os',
  'path',
  'perf_hooks',
  'process',
  'readline',
  'stream',
  'string_decoder',
  'timers',
  'tls',
  'tty',
  'url',
  'util',
  'v8',
  'vm',
  'worker_threads',
  'zlib',
  'module',
  'async_hooks',
]);

function walk(dir: string, out: string[] = []): string[] {
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'dist' || e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (/\.(ts|tsx|mts|js|mjs)$/.test(e.name)) out.push(p);
  }
  return out;
}

const isTestFile = (f: string) => /[\\/]scripts[\\/]/.test(f) || /\.(test|spec|bench)\.tsx?$/.test(f) || /[\\/](test|tests|__tests__|e2e)[\\/]/.test(f) || /-spec\.ts$/.test(f);

function loadUnit(root: string, dir: string, kind: Unit['kind']): Unit | null {
  const pj = path.join(root, dir, 'package.json');
  if (!fs.existsSync(pj)) return null;
  const j = JSON.parse(fs.readFileSync(pj, 'utf8')) as { name: string; dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
  const unit: Unit = {
    dir,
    name: j.name,
    kind,
    deps: new Set(Object.keys(j.dependencies ?? {})),
    devDeps: new Set(Object.keys(j.devDependencies ?? {})),
    imports: new Map(),
    sources: new Map(),
  };
  for (const f of walk(path.join(root, dir))) {
    const rel = path.relative(root, f);
    const text = fs.readFileSync(f, 'utf8');
    const test = kind === 'test' || isTestFile(rel);
    if (!test) unit.sources.set(rel, text);
    for (const m of text.matchAll(IMPORT_RE)) {
      const spec = m[1] ?? m[2] ?? m[3] ?? m[4];
      if (!spec) continue;
      let r = pkgRoot(spec);
      if (!r) continue;
      if (NODE_BUILTINS.has(r.split('/')[0] ?? '')) r = `node:${r}`;
      const key = test ? `test:${r}` : r;
      const list = unit.imports.get(key) ?? [];
      list.push(rel);
      unit.imports.set(key, list);
    }
  }
  return unit;
}

export function loadWorkspace(root: string): Unit[] {
  const units: Unit[] = [];
  for (const [base, kind] of [
    ['apps', 'app'],
    ['packages', 'package'],
  ] as const) {
    const d = path.join(root, base);
    if (!fs.existsSync(d)) continue;
    for (const name of fs.readdirSync(d).sort()) {
      const u = loadUnit(root, path.join(base, name), kind);
      if (u) units.push(u);
    }
  }
  const t = loadUnit(root, 'test', 'test');
  if (t) units.push(t);
  return units;
}

export function checkDependencyRules(root: string): Violation[] {
  const units = loadWorkspace(root);
  const byName = new Map(units.map((u) => [u.name, u]));
  const v: Violation[] = [];
  const add = (rule: string, where: string, message: string) => v.push({ rule, where, message });
  const appNames = new Set(APPS.map((a) => `@meridian/${a}`));

  for (const u of units) {
    const runtimeImports = [...u.imports.keys()].filter((k) => !k.startsWith('test:'));
    const workspaceDeps = [...u.deps].filter((d) => d.startsWith('@meridian/'));

    // declared vs imported
    for (const imp of runtimeImports) {
      if (imp.startsWith('node:')) continue;
      if (!u.deps.has(imp) && imp !== u.name)
        add('declared-deps', u.dir, `imports ${imp} (in ${u.imports.get(imp)?.[0]}) but package.json does not declare it in dependencies`);
    }
    for (const imp of [...u.imports.keys()].filter((k) => k.startsWith('test:')).map((k) => k.slice(5))) {
      if (imp.startsWith('node:') || imp === u.name) continue;
      if (!u.deps.has(imp) && !u.devDeps.has(imp) && !isRootDevDep(root, imp))
        add('declared-deps', u.dir, `test code imports ${imp} but neither package.json nor the root declares it`);
    }

    // rule 1
    if (u.kind === 'package') {
      for (const d of [...workspaceDeps, ...runtimeImports]) if (appNames.has(d)) add('1-apps-on-top', u.dir, `a package must not depend on the app ${d}`);
    }
    if (u.kind === 'app') {
      for (const d of [...workspaceDeps, ...runtimeImports]) if (appNames.has(d) && d !== u.name) add('1-apps-isolated', u.dir, `apps never import each other (${d}); talk through Postgres, queues or HTTP`);
    }

    // rule 2 / 3
    const allowOnly = (allowed: string[], rule: string) => {
      for (const d of new Set([...u.deps, ...runtimeImports])) {
        if (!allowed.includes(d)) add(rule, u.dir, `${u.name} may depend only on ${allowed.join(', ')} — found ${d}`);
      }
    };
    if (u.name === '@meridian/contracts') allowOnly(['zod'], '2-contracts-only-zod');
    if (u.name === '@meridian/core') allowOnly(['@meridian/contracts', 'pino', 'node:crypto'], '2-core-only-contracts');
    if (u.name === '@meridian/risk') allowOnly(['@meridian/contracts', '@meridian/core', 'zod', 'node:crypto'], '3-risk-pure');
    if (u.name === '@meridian/risk') {
      for (const [file, text] of u.sources) {
        if (/\bDate\.now\(|new Date\(\)|performance\.now\(|process\./.test(text))
          add('3-risk-pure', file, 'risk has no clock or process access of its own: time is passed in');
        if (/\bfetch\(|XMLHttpRequest|WebSocket/.test(text)) add('3-risk-pure', file, 'risk does no I/O');
      }
    }
    if (u.name === '@meridian/risk' || u.name === '@meridian/contracts' || u.name === '@meridian/core') {
      for (const d of runtimeImports) {
        const bare = d.replace(/^node:/, '');
        if (IO_MODULES.includes(bare)) add('3-no-io', u.dir, `${u.name} must not import the I/O module ${d}`);
      }
    }

    // rule 5
    const importsCcxt = u.deps.has('ccxt') || runtimeImports.includes('ccxt');
    if (importsCcxt && !['@meridian/execution', '@meridian/market'].includes(u.name))
      add('5-only-execution-trades', u.dir, `${u.name} must not use ccxt: only packages/execution (and market for public data) may`);
    if (u.name === '@meridian/market') {
      for (const [file, text] of u.sources) {
        for (const m of PRIVATE_CCXT_METHODS)
          if (new RegExp(`\\.${m}\\s*\\(`).test(text)) add('5-market-public-only', file, `market calls the private ccxt method ${m}(); only packages/execution may`);
      }
    }

    // only config reads the environment
    if (u.name !== '@meridian/config') {
      for (const [file, text] of u.sources) {
        if (/process\.env\b/.test(text)) add('config-only-env', file, 'only packages/config reads process.env (use loadConfig())');
      }
    }
  }

  // rule 4: executor closure
  const executor = byName.get('@meridian/executor');
  if (executor) {
    const seen = new Map<string, string[]>();
    const stack: [string, string[]][] = [[executor.name, [executor.name]]];
    while (stack.length) {
      const [n, trail] = stack.pop() as [string, string[]];
      if (seen.has(n)) continue;
      seen.set(n, trail);
      const u = byName.get(n);
      if (!u) continue;
      const runtime = new Set([...u.deps, ...[...u.imports.keys()].filter((k) => !k.startsWith('test:'))]);
      for (const d of runtime) {
        if (d.startsWith('@langchain/') || d === 'langchain' || FORBIDDEN_FOR_EXECUTOR.includes(d))
          add('4-executor-isolated', executor.dir, `the executor must never depend on ${d} (via ${[...trail, d].join(' → ')})`);
        if (d.startsWith('@meridian/')) stack.push([d, [...trail, d]]);
      }
    }
  }

  // rule 6: cycles among workspace packages (declared deps + runtime imports)
  const graph = new Map<string, string[]>();
  for (const u of units) {
    // devDependencies count too: pnpm orders workspace installs/builds by them
    const edges = new Set([...u.deps, ...u.devDeps, ...[...u.imports.keys()].filter((k) => !k.startsWith('test:'))]);
    graph.set(
      u.name,
      [...edges].filter((d) => byName.has(d) && d !== u.name),
    );
  }
  const state = new Map<string, 1 | 2>();
  const path_: string[] = [];
  const reported = new Set<string>();
  const dfs = (n: string) => {
    state.set(n, 1);
    path_.push(n);
    for (const m of graph.get(n) ?? []) {
      if (state.get(m) === 1) {
        const cyc = [...path_.slice(path_.indexOf(m)), m];
        const key = [...cyc].sort().join(',');
        if (!reported.has(key)) {
          reported.add(key);
          add('6-no-cycles', m, `import cycle: ${cyc.join(' → ')}`);
        }
      } else if (!state.has(m)) dfs(m);
    }
    path_.pop();
    state.set(n, 2);
  };
  for (const n of graph.keys()) if (!state.has(n)) dfs(n);

  return v;
}

const rootDevCache = new Map<string, Set<string>>();
function isRootDevDep(root: string, name: string): boolean {
  let s = rootDevCache.get(root);
  if (!s) {
    const j = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { devDependencies?: Record<string, string>; dependencies?: Record<string, string> };
    s = new Set([...Object.keys(j.devDependencies ?? {}), ...Object.keys(j.dependencies ?? {})]);
    rootDevCache.set(root, s);
  }
  return s.has(name) || name === 'vitest';
}
