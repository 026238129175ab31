import type { DecisionTrace } from '@meridian/contracts';
import { canonicalJson, SimulatedClock } from '@meridian/core';
import { describe, expect, it } from 'vitest';
import { comparableTrace } from './decision-trace-builder.ts';
import { FastRunner } from './fast-runner.ts';
import { GraphRunner } from './graph-runner.ts';
import { backtestDeps, type MemorySettings } from './orchestrator-deps.ts';
import { replayDecisions } from './test/decision-replay.ts';
import { ethBtcMemory, ethBtcSetup } from './test/replay-setup.ts';

/**
 * Backtest = live: the fast runner (no LangGraph) and the LangGraph runner, driven bar by bar over
 * 2,000 consecutive real ETH/BTC 5m bars with positions evolving through a spot ledger, produce the
 * same traces — every node's input and output, the recalled memory ids, the verdict, the signed
 * order request and the outcome — except durationMs and the runner's own name.
 */
const BARS = 2_000;

function comparable(ts: readonly DecisionTrace[]): string[] {
  return ts.map((t) => canonicalJson(comparableTrace(t)));
}

async function bothRunners(memory: MemorySettings | null, fastAsync: boolean) {
  const setup = ethBtcSetup('equivalence', BARS);
  const fc = new SimulatedClock(0);
  const fast = new FastRunner(backtestDeps(fc, { memory }), { validate: true });
  const fastTraces = await replayDecisions(setup, fc, (ctx) => (fastAsync ? fast.decide(ctx) : fast.decideSync(ctx)));
  const gc = new SimulatedClock(0);
  const graph = new GraphRunner(backtestDeps(gc, { memory }));
  const graphTraces = await replayDecisions(setup, gc, (ctx) => graph.decide(ctx));
  return { fast, graph, fastTraces, graphTraces };
}

function expectIdentical(a: readonly DecisionTrace[], b: readonly DecisionTrace[]): void {
  expect(a).toHaveLength(BARS);
  expect(b).toHaveLength(BARS);
  const ca = comparable(a);
  const cb = comparable(b);
  const firstDiff = ca.findIndex((x, i) => x !== cb[i]);
  // name the first differing bar rather than dumping 2,000 traces
  expect(firstDiff, firstDiff >= 0 ? `first difference at bar ${firstDiff}:\n${ca[firstDiff]}\n${cb[firstDiff]}` : '').toBe(-1);
  expect(b.map(comparableTrace)).toEqual(a.map(comparableTrace));
  expect(a.every((t) => t.runner === 'fast') && b.every((t) => t.runner === 'graph')).toBe(true);
}

function verdictMix(ts: readonly DecisionTrace[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of ts) {
    const k = t.verdict === null ? 'hold' : t.verdict.status;
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

describe('runner equivalence on real candles (ETH/BTC 5m, 2,000 consecutive bars)', () => {
  it('memory on: identical traces, with approved, resized, rejected and pending verdicts and recalled memories', async () => {
    const { fast, graph, fastTraces, graphTraces } = await bothRunners({ recaller: ethBtcMemory(), k: 20, scope: 'same-symbol' }, false);
    expectIdentical(fastTraces, graphTraces);
    const mix = verdictMix(fastTraces);
    for (const s of ['hold', 'approved', 'resized', 'rejected', 'pending_approval']) expect(mix[s] ?? 0, `${s} in ${JSON.stringify(mix)}`).toBeGreaterThan(0);
    expect(fastTraces.filter((t) => t.recalledMemoryIds.length > 0).length).toBeGreaterThan(BARS / 2);
    expect(fastTraces.some((t) => t.nodes.some((n) => n.node === 'recall'))).toBe(true);
    // orders were signed and positions evolved: opens and closes both happen
    const actions = new Set(fastTraces.flatMap((t) => t.nodes.flatMap((n) => (n.node === 'decision' && t.orderRequest !== null ? [n.output.action] : []))));
    expect([...actions]).toEqual(expect.arrayContaining(['open', 'close']));
    // the backtest denies pending approvals at once and counts them, the same in both runners
    expect(fast.stats.pendingRejected).toBe(mix['pending_approval']);
    expect(graph.stats).toEqual(fast.stats);
  }, 300_000);

  it('memory off: identical traces (fast runner awaiting, as in live mode), no recall node', async () => {
    const { fast, graph, fastTraces, graphTraces } = await bothRunners(null, true);
    expectIdentical(fastTraces, graphTraces);
    expect(fastTraces.every((t) => t.recalledMemoryIds.length === 0 && t.nodes.every((n) => n.node !== 'recall'))).toBe(true);
    expect(fast.stats.orders).toBeGreaterThan(0);
    expect(graph.stats).toEqual(fast.stats);
  }, 300_000);
});
