import { SimulatedClock } from '@meridian/core';
import { describe, expect, it } from 'vitest';
import { GraphRunner } from './graph-runner.ts';
import { backtestDeps } from './orchestrator-deps.ts';

describe('the decision graph', () => {
  it('is a compiled LangGraph StateGraph: analysis → recall → signal → decision → risk gate → outbox | record | pending_approval', async () => {
    const g = await new GraphRunner(backtestDeps(new SimulatedClock(0))).structure();
    expect(g.kind).toBe('CompiledStateGraph');
    expect([...g.nodes].sort()).toEqual(
      ['__start__', '__end__', 'analysis_agent', 'memory_recall', 'signal_agent', 'decision_agent', 'risk_gate', 'outbox', 'record', 'pending_approval'].sort(),
    );
    const edges = g.edges.map((e) => `${e.from} ${e.conditional ? '-?->' : '-->'} ${e.to}`).sort();
    expect(edges).toEqual(
      [
        '__start__ --> analysis_agent',
        'analysis_agent --> memory_recall',
        'memory_recall --> signal_agent',
        'signal_agent --> decision_agent',
        'decision_agent --> risk_gate',
        'risk_gate -?-> outbox',
        'risk_gate -?-> record',
        'risk_gate -?-> pending_approval',
        'outbox --> __end__',
        'record --> __end__',
        'pending_approval --> __end__',
      ].sort(),
    );
    // the outbox is reached only through the risk gate's route
    expect(g.edges.filter((e) => e.to === 'outbox')).toEqual([{ from: 'risk_gate', to: 'outbox', conditional: true }]);
  });
});
