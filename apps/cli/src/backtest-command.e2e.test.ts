import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processEnv } from '@meridian/config';
import { writeSyntheticCsv } from '@meridian/market';
import { DecisionLineSchema, type DecisionLine } from '@meridian/contracts';

/**
 * `meridian backtest` end to end: the real CLI process, files compared byte for byte.
 * Each run gets its own output directory under one temporary MERIDIAN_HOME (removed at the end).
 */
const root = fileURLToPath(new URL('../../../', import.meta.url));
const main = path.join(root, 'apps/cli/src/main.ts');
const demoCsv = path.join(root, 'examples/data/binance_ETH_BTC-5m.csv');
// the repository's byte-identical copy of the shared real data (../shared/data)
const sharedLtc = path.join(root, 'test/fixtures/candles/binance_LTC_BTC-5m.csv');
let tmp: string;
let limitsFile: string;
let synthCsv: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function meridian(...args: string[]): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...processEnv(), MERIDIAN_HOME: path.join(tmp, 'home'), MERIDIAN_LOG_LEVEL: 'silent' };
  delete env['DATABASE_URL'];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=@meridian/source', '--import', 'tsx', main, ...args], { cwd: root, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** run a backtest into tmp/<name>; returns the directory */
async function backtest(name: string, ...args: string[]): Promise<string> {
  const out = path.join(tmp, name);
  const r = await meridian('backtest', '--out', out, '--no-store', ...args);
  expect(r.code, r.stderr).toBe(0);
  return out;
}

const read = (dir: string, f: string) => fs.readFileSync(path.join(dir, f), 'utf8');
const lines = (dir: string, f: string) => read(dir, f).split('\n').filter((l) => l.length > 0);
const csvRows = (dir: string, f: string) => lines(dir, f).slice(1).map((l) => l.split(','));

/** decisions.jsonl lines, checked against the DecisionLine contract */
const traces = (dir: string): DecisionLine[] => lines(dir, 'decisions.jsonl').map((l) => DecisionLineSchema.parse(JSON.parse(l)));

/** first n data rows of a CSV, header kept */
function cutCsv(src: string, n: number, dest: string): void {
  const all = fs.readFileSync(src, 'utf8').split('\n');
  fs.writeFileSync(dest, `${all.slice(0, n + 1).join('\n')}\n`);
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-backtest-e2e-'));
  // the example limits without minConfidence: the deterministic agents then trade their mean-reversion signals
  const limits = JSON.parse(fs.readFileSync(path.join(root, 'examples/risk-limits.json'), 'utf8')) as Record<string, unknown>;
  delete limits['minConfidence'];
  limitsFile = path.join(tmp, 'limits.json');
  fs.writeFileSync(limitsFile, JSON.stringify(limits));
  synthCsv = path.join(tmp, 'synthetic-5m.csv');
  await writeSyntheticCsv(synthCsv, { bars: 3000, seed: 11, timeframeMs: 300_000 });
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('meridian backtest', () => {
  let a: string;

  it('is reproducible: same inputs and seed give byte-identical summary, trades, equity and decisions (memory on)', async () => {
    const args = ['--data', demoCsv, '--symbol', 'ETH/BTC', '--timeframe', '5m', '--to', '2018-01-22T00:00:00Z', '--risk-limits', limitsFile, '--seed', '7'];
    a = await backtest('repro-a', ...args);
    const b = await backtest('repro-b', ...args);
    for (const f of ['summary.json', 'trades.csv', 'equity.csv', 'decisions.jsonl']) expect(read(b, f), f).toBe(read(a, f));
    const summary = JSON.parse(read(a, 'summary.json')) as Record<string, unknown>;
    expect(summary['trades'] as number).toBeGreaterThan(0);
    expect(summary['seed']).toBe(7);
    // a different seed changes the ids, so the decisions file, but not the trading
    const c = await backtest('repro-c', ...args.slice(0, -1), '8');
    expect(read(c, 'decisions.jsonl')).not.toBe(read(a, 'decisions.jsonl'));
    expect(read(c, 'trades.csv')).toBe(read(a, 'trades.csv'));
  });

  it('writes files that agree with one another: final equity, trade count, fees, P&L', () => {
    const s = JSON.parse(read(a, 'summary.json')) as Record<string, number>;
    const trades = csvRows(a, 'trades.csv');
    const equity = csvRows(a, 'equity.csv');
    expect(lines(a, 'trades.csv')[0]).toBe('symbol,side,entryTime,entryPrice,exitTime,exitPrice,quantity,notional,pnl,returnPct,fees,exitReason');
    expect(lines(a, 'equity.csv')[0]).toBe('timestamp,equity,cash,exposure,drawdownPct');
    expect(trades.length).toBe(s['trades']);
    expect(equity.length).toBe(s['bars']);
    expect(Number(equity[equity.length - 1]![1])).toBe(s['finalEquity']);
    const sum = (col: number) => trades.reduce((acc, r) => acc + Number(r[col]), 0);
    expect(Math.abs(sum(8) - (s['finalEquity']! - s['startingCapital']!))).toBeLessThan(1e-6 * s['startingCapital']!);
    expect(Math.abs(sum(10) - s['feesPaid']!)).toBeLessThan(1e-6 * Math.max(1, s['feesPaid']!));
    for (const r of trades) expect(['stop', 'target', 'signal', 'end']).toContain(r[11]);
    // decisions.jsonl: asOf first, no wall-clock timings, one line per graph run
    const first = lines(a, 'decisions.jsonl')[0]!;
    expect(first.startsWith('{"asOf":')).toBe(true);
    expect(read(a, 'decisions.jsonl')).not.toContain('durationMs');
    expect(lines(a, 'decisions.jsonl').length).toBe(s['decisions']);
    const timing = JSON.parse(read(a, 'timing.json')) as Record<string, unknown>;
    expect(timing['wallMs']).toBeGreaterThan(0);
    expect(timing['barsPerSecond']).toBeGreaterThan(0);
    expect(timing['peakRssMiB']).toBeGreaterThan(0);
    const html = read(a, 'report.html');
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|https?:\/\//);
  });

  it('has no look-ahead on real data: a run on candles cut at bar T decides exactly as the full run before T (memory on)', async () => {
    const cut = path.join(tmp, 'ltc-cut.csv');
    cutCsv(sharedLtc, 1500, cut);
    const full = await backtest('ltc-full', '--data', sharedLtc, '--symbol', 'LTC/BTC', '--timeframe', '5m', '--risk-limits', limitsFile);
    const part = await backtest('ltc-cut', '--data', cut, '--symbol', 'LTC/BTC', '--timeframe', '5m', '--risk-limits', limitsFile);
    const p = lines(part, 'decisions.jsonl');
    const f = lines(full, 'decisions.jsonl');
    expect(p.length).toBe(1500 - 199);
    expect(f.length).toBeGreaterThan(p.length);
    expect(p).toEqual(f.slice(0, p.length));
    // the equity curve before T is the same too
    const pe = lines(part, 'equity.csv');
    expect(pe).toEqual(lines(full, 'equity.csv').slice(0, pe.length));
  });

  it('has no look-ahead on synthetic data (memory on)', async () => {
    const cut = path.join(tmp, 'synthetic-cut.csv');
    cutCsv(synthCsv, 1800, cut);
    const full = await backtest('syn-full', '--data', synthCsv, '--symbol', 'SYN/USD', '--timeframe', '5m');
    const part = await backtest('syn-cut', '--data', cut, '--symbol', 'SYN/USD', '--timeframe', '5m');
    const p = lines(part, 'decisions.jsonl');
    expect(p.length).toBe(1800 - 199);
    expect(p).toEqual(lines(full, 'decisions.jsonl').slice(0, p.length));
  });

  it('--runner graph and --runner fast write identical decisions.jsonl on ≥ 2,000 bars (memory on)', async () => {
    const args = ['--data', demoCsv, '--symbol', 'ETH/BTC', '--timeframe', '5m', '--to', '2018-01-17T20:30:00Z', '--risk-limits', limitsFile];
    const fast = await backtest('runner-fast', ...args, '--runner', 'fast');
    const graph = await backtest('runner-graph', ...args, '--runner', 'graph');
    const n = lines(fast, 'decisions.jsonl').length;
    expect(n).toBeGreaterThanOrEqual(2000);
    expect(read(graph, 'decisions.jsonl')).toBe(read(fast, 'decisions.jsonl'));
    expect(read(graph, 'summary.json')).toBe(read(fast, 'summary.json'));
    expect(JSON.parse(read(graph, 'timing.json')).runner).toBe('graph');
    // the run did decide something beyond holds, so the comparison covers the risk node and orders
    expect(traces(fast).some((t) => t.orderRequest !== null)).toBe(true);
  }, 600_000);

  it('holds maxPositionNotional: no position is worth more than the limit at decision price', async () => {
    const limits = { ...(JSON.parse(fs.readFileSync(limitsFile, 'utf8')) as Record<string, unknown>), maxPositionNotional: 700, maxOrderNotional: 500, requireApprovalAboveNotional: 500 };
    const f = path.join(tmp, 'tight.json');
    fs.writeFileSync(f, JSON.stringify(limits));
    const out = await backtest('tight', '--data', demoCsv, '--symbol', 'ETH/BTC', '--timeframe', '5m', '--risk-limits', f, '--no-memory');
    // the position right after each order's fill (next open = asOf: these candles have no gaps), from trades.csv's lots
    const lots = csvRows(out, 'trades.csv').map((r) => ({ qty: Number(r[6]), entry: Date.parse(r[2]!), exit: Date.parse(r[4]!) }));
    const heldAt = (t: number) => lots.reduce((q, l) => (l.entry <= t && l.exit > t ? q + l.qty : q), 0);
    let buys = 0;
    for (const t of traces(out)) {
      if (t.orderRequest === null || t.orderRequest.side !== 'buy') continue;
      buys++;
      const price = t.decision.referencePrice;
      expect(t.orderRequest.quantity * price).toBeLessThanOrEqual(500 * (1 + 1e-9));
      expect(heldAt(t.asOf) * price).toBeLessThanOrEqual(700 * (1 + 1e-9));
    }
    expect(buys).toBeGreaterThan(0);
    // per lot at its own decision price as well (trades.csv entry is the fill price; undo the 5 bps slippage)
    for (const r of csvRows(out, 'trades.csv')) expect((Number(r[6]) * Number(r[3])) / 1.0005).toBeLessThanOrEqual(700 * (1 + 1e-6));
  });

  it('holds allowedSymbols: a symbol outside the list never trades, every proposal is rejected by that check', async () => {
    const limits = { ...(JSON.parse(fs.readFileSync(limitsFile, 'utf8')) as Record<string, unknown>), allowedSymbols: ['BTC/USDT'] };
    const f = path.join(tmp, 'only-btc.json');
    fs.writeFileSync(f, JSON.stringify(limits));
    const out = await backtest('not-allowed', '--data', demoCsv, '--symbol', 'ETH/BTC', '--timeframe', '5m', '--risk-limits', f, '--no-memory');
    expect(lines(out, 'trades.csv')).toHaveLength(1);
    const proposals = traces(out).filter((t) => t.decision.action !== 'hold');
    expect(proposals.length).toBeGreaterThan(0);
    for (const t of proposals) {
      expect(t.verdict?.status).toBe('rejected');
      expect(t.verdict!.checks.find((c) => c.check === 'allowedSymbols')?.passed).toBe(false);
      expect(t.orderRequest).toBeNull();
    }
    const s = JSON.parse(read(out, 'summary.json')) as { trades: number; riskRejected: number; rejectionsByCheck: Record<string, number> };
    expect(s.trades).toBe(0);
    expect(s.rejectionsByCheck['allowedSymbols']).toBe(proposals.length);
  });

  it('counts a pending approval as a rejection under approvalThreshold: nobody approves inside a backtest', async () => {
    // every order above 0.01 waits for a risk officer
    const limits = { ...(JSON.parse(fs.readFileSync(limitsFile, 'utf8')) as Record<string, unknown>), requireApprovalAboveNotional: 0.01 };
    const f = path.join(tmp, 'approve-everything.json');
    fs.writeFileSync(f, JSON.stringify(limits));
    const out = await backtest('pending', '--data', demoCsv, '--symbol', 'ETH/BTC', '--timeframe', '5m', '--risk-limits', f, '--no-memory');
    const pending = traces(out).filter((t) => t.verdict?.status === 'pending_approval');
    expect(pending.length).toBeGreaterThan(0);
    for (const t of pending) expect(t.orderRequest).toBeNull();
    const s = JSON.parse(read(out, 'summary.json')) as { trades: number; riskRejected: number; rejectionsByCheck: Record<string, number> };
    expect(s.rejectionsByCheck['approvalThreshold']).toBe(pending.length);
    expect(s.riskRejected).toBeGreaterThanOrEqual(pending.length);
    expect(s.trades).toBe(0);
  });

  it('runs two symbols on one portfolio, stores the run, and says what is wrong with bad input', async () => {
    const out = path.join(tmp, 'two');
    const ltcCut = path.join(tmp, 'ltc-600.csv');
    const ethCut = path.join(tmp, 'eth-600.csv');
    cutCsv(sharedLtc, 600, ltcCut);
    cutCsv(demoCsv, 600, ethCut);
    const r = await meridian('backtest', '--out', out, '--data', ethCut, '--symbol', 'ETH/BTC', '--data', ltcCut, '--symbol', 'LTC/BTC', '--timeframe', '5m', '--json');
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as { symbols: string[]; bars: number; decisions: number };
    expect(s.symbols).toEqual(['ETH/BTC', 'LTC/BTC']);
    expect(s.bars).toBe(600);
    expect(s.decisions).toBe(2 * (600 - 199));
    const { openDb, listBacktestRuns } = await import('@meridian/db');
    const db = await openDb({ kind: 'pglite', dataDir: path.join(tmp, 'home', 'pgdata') });
    try {
      const runs = await listBacktestRuns(db);
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatchObject({ status: 'completed', outDir: out });
      expect((runs[0]!.summary as { symbols: string[] }).symbols).toEqual(['ETH/BTC', 'LTC/BTC']);
    } finally {
      await db.close();
    }

    const bad = await meridian('backtest', '--out', path.join(tmp, 'bad'), '--data', demoCsv, '--symbol', 'ETH/BTC', '--timeframe', '5m', '--capital', '-5', '--no-store');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--capital must be a positive number, got "-5"/);
    const mismatch = await meridian('backtest', '--out', path.join(tmp, 'bad'), '--data', demoCsv, '--data', demoCsv, '--symbol', 'ETH/BTC', '--timeframe', '5m', '--no-store');
    expect(mismatch.code).toBe(2);
    expect(mismatch.stderr).toMatch(/2 --data file\(s\) but 1 --symbol/);
  });
});
