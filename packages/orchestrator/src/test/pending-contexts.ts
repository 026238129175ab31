import { SimulatedClock } from '@meridian/core';
import { detachContext, type DecisionContext } from '../decision-context.ts';
import { FastRunner } from '../fast-runner.ts';
import { backtestDeps } from '../orchestrator-deps.ts';
import { replayDecisions } from './decision-replay.ts';
import { ethBtcMemory, ethBtcSetup } from './replay-setup.ts';

/** Real-data decision contexts whose verdict is pending_approval (found with a backtest pass), in bar order. */
export async function pendingContexts(count: number): Promise<DecisionContext[]> {
  const out: DecisionContext[] = [];
  const clock = new SimulatedClock(0);
  const runner = new FastRunner(backtestDeps(clock, { memory: { recaller: ethBtcMemory(), k: 20, scope: 'same-symbol' } }));
  await replayDecisions(ethBtcSetup('live', 2_000), clock, (ctx) => {
    const r = runner.decideSync(ctx);
    if (out.length < count && r.trace.verdict?.status === 'pending_approval') out.push(detachContext(ctx));
    return r;
  });
  if (out.length < count) throw new Error(`only ${out.length} pending decisions in the replay, ${count} wanted`);
  return out;
}
