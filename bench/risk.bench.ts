import os from 'node:os';
import { performance } from 'node:perf_hooks';
import type { RiskLimits, RiskVerdict, UnsignedOrderRequest } from '@meridian/contracts';
import { evaluate, signApproval, validateRiskLimits, verifyApproval } from '@meridian/risk';
import type { BenchResult } from './bench-result.ts';
import { ALL_CHECKS_LIMITS, T0, activeState, makeDecision, makeMarket, makePortfolio, makePosition } from '../packages/risk/src/risk-fixtures.ts';


/**
 * Run `fn` in rounds of 20,000 until `ms` have passed. Returns the best round's rate by wall
 * clock, and by this process's CPU time (the figure that holds when other processes compete
 * for the machine's two cores).
 */
function opsPerSecond(fn: (i: number) => unknown, ms = 1_000): { wall: number; cpu: number } {
  let sink: unknown;
  for (let i = 0; i < 20_000; i++) sink = fn(i); // warm-up (JIT)
  let wall = 0;
  let cpu = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const n = 20_000;
    const c0 = process.cpuUsage();
    const t = performance.now();
    for (let i = 0; i < n; i++) sink = fn(i);
    const dt = (performance.now() - t) / 1_000;
    const dc = process.cpuUsage(c0);
    wall = Math.max(wall, n / dt);
    cpu = Math.max(cpu, n / Math.max(1e-6, (dc.user + dc.system) / 1e6));
  }
  if (sink === 42) console.log(sink); // keep the result alive
  return { wall: Math.round(wall), cpu: Math.round(cpu) };
}

/** A mix of verdicts with every check switched on: approvals, resizes, rejections, reductions. */
function scenarios() {
  const limits = { version: 3, limits: ALL_CHECKS_LIMITS };
  const eth = makePosition({ symbol: 'ETH/USDT', quantity: 1, markPrice: 2_000, notional: 2_000 });
  const btc = makePosition({ quantity: 0.02 });
  const list = [
    { d: makeDecision(), pf: makePortfolio({ positions: [eth] }) },
    { d: makeDecision({ quantity: 0.05 }), pf: makePortfolio({ positions: [eth] }) },
    { d: makeDecision({ quantity: 0.03, orderType: 'limit', limitPrice: 50_100 }), pf: makePortfolio({ positions: [eth, btc] }) },
    { d: makeDecision({ side: 'sell', action: 'reduce', stopPrice: null }), pf: makePortfolio({ positions: [eth, btc] }) },
    { d: makeDecision({ confidence: 0.4 }), pf: makePortfolio() },
    { d: makeDecision({ side: 'sell', action: 'reverse', quantity: 0.04, stopPrice: 51_000 }), pf: makePortfolio({ positions: [btc] }) },
    { d: makeDecision({ quantity: 0.012345 }), pf: makePortfolio({ positions: [eth], ordersLastMinute: 3 }) },
    { d: makeDecision(), pf: makePortfolio({ equity: 9_600, dayStartEquity: 10_000 }) },
  ];
  return { limits, market: makeMarket(), state: activeState(), list };
}

export async function run(): Promise<BenchResult[]> {
  const { limits, market, state, list } = scenarios();
  const statuses = new Set<RiskVerdict['status']>();
  for (const s of list) statuses.add(evaluate(s.d, s.pf, market, limits, state, T0).status);
  const evalRate = opsPerSecond((i) => {
    const s = list[i & 7]!;
    return evaluate(s.d, s.pf, market, limits, state, T0 + (i & 1023));
  });

  const order: UnsignedOrderRequest = {
    schemaVersion: 1,
    orderId: '0190a3b4-0000-7000-8000-0000000000aa',
    decisionId: '0190a3b4-0000-7000-8000-000000000001',
    exchange: 'paper',
    symbol: 'BTC/USDT',
    side: 'buy',
    type: 'limit',
    quantity: 0.01,
    limitPrice: 50_000,
    stopPrice: 49_000,
    reduceOnly: false,
    createdAt: T0,
  };
  const key = { keyId: 'k1', key: 'x'.repeat(64) };
  const signed = { ...order, approval: signApproval(order, key, 3, T0 + 60_000) };
  const keys = { k1: key.key };
  const signRate = opsPerSecond(() => signApproval(order, key, 3, T0 + 60_000), 500);
  const verifyRate = opsPerSecond(() => verifyApproval(signed, keys, T0), 500);
  const doc: unknown = JSON.parse(JSON.stringify(ALL_CHECKS_LIMITS)) as RiskLimits;
  const validateRate = opsPerSecond(() => validateRiskLimits(doc), 500);

  const load = os.loadavg()[0]?.toFixed(1) ?? '?';
  return [
    {
      name: 'risk: evaluate (all 20 checks on)',
      value: evalRate.wall,
      unit: 'evaluations/s',
      target: '≥ 200,000/s',
      notes: `one thread, 8 rotating scenarios (${[...statuses].sort().join(', ')}); ${evalRate.cpu.toLocaleString('en-US')}/s per CPU-second; load avg ${load}`,
    },
    { name: 'risk: signApproval (HMAC-SHA256)', value: signRate.wall, unit: 'signatures/s', notes: `${signRate.cpu.toLocaleString('en-US')}/s per CPU-second` },
    { name: 'risk: verifyApproval (zod + HMAC)', value: verifyRate.wall, unit: 'verifications/s', notes: `${verifyRate.cpu.toLocaleString('en-US')}/s per CPU-second` },
    { name: 'risk: validateRiskLimits (all fields)', value: validateRate.wall, unit: 'documents/s', notes: `${validateRate.cpu.toLocaleString('en-US')}/s per CPU-second` },
  ];
}
