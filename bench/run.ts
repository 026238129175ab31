/**
 * `pnpm bench [area…]` — runs every bench/<area>.bench.ts (or the named ones), each in its own
 * child process so peak-memory figures are per area, prints one table and writes
 * bench/out/results.json. Figures go into docs/benchmarks.md by hand, with this command.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './bench-result.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const areas = fs
  .readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''))
  .filter((a) => wanted.length === 0 || wanted.includes(a))
  .sort();

if (process.env.MERIDIAN_BENCH_CHILD) {
  const mod = (await import(path.join(here, `${process.env.MERIDIAN_BENCH_CHILD}.bench.ts`))) as { run(): Promise<BenchResult[]> };
  const results = await mod.run();
  process.stdout.write(`\n@@RESULTS@@${JSON.stringify(results)}\n`);
  process.exit(0);
}

if (areas.length === 0) {
  console.error(`no benchmarks match ${wanted.join(', ')}; available: ${fs.readdirSync(here).filter((f) => f.endsWith('.bench.ts')).join(', ')}`);
  process.exit(2);
}

const all: (BenchResult & { area: string })[] = [];
let failed = false;
for (const area of areas) {
  process.stderr.write(`▶ ${area} …\n`);
  const r = spawnSync(process.execPath, ['--conditions=@meridian/source', '--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, MERIDIAN_BENCH_CHILD: area },
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const marker = r.stdout.lastIndexOf('@@RESULTS@@');
  if (r.status !== 0 || marker < 0) {
    failed = true;
    process.stderr.write(`✗ ${area} failed (exit ${r.status})\n${r.stdout}\n`);
    continue;
  }
  const results = JSON.parse(r.stdout.slice(marker + '@@RESULTS@@'.length)) as BenchResult[];
  for (const x of results) all.push({ area, ...x });
}

const fmt = (n: number) => (Math.abs(n) >= 1000 ? Math.round(n).toLocaleString('en-US') : Number(n.toPrecision(4)).toString());
const rows = all.map((x) => [x.area, x.name, fmt(x.value), x.unit, x.target ?? '', x.notes ?? '']);
const head = ['area', 'benchmark', 'value', 'unit', 'target', 'notes'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
console.log(line(head));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));

const out = path.join(here, 'out');
fs.mkdirSync(out, { recursive: true });
const meta = { at: new Date().toISOString(), node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown' };
fs.writeFileSync(path.join(out, 'results.json'), `${JSON.stringify({ ...meta, results: all }, null, 2)}\n`);
console.log(`\nwrote ${path.relative(process.cwd(), path.join(out, 'results.json'))}`);
process.exit(failed ? 1 : 0);
