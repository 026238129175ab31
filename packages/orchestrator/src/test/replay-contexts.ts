import type { DecisionTrace } from '@meridian/contracts';
import { SimulatedClock } from '@meridian/core';
import { detachContext, type DecisionContext } from '../decision-context.ts';
import { FastRunner } from '../fast-runner.ts';
import { backtestDeps } from '../orchestrator-deps.ts';
import { replayDecisions } from './decision-replay.ts';
import { ethBtcMemory, ethBtcSetup } from './replay-setup.ts';

/**
 * Real-data decision contexts (2,000 ETH/BTC bars with memory, replayed through the fast runner) whose
 * trace satisfies `pick`, the first `count` in bar order; `what` names them in the error when there are fewer.
 */
export async function replayContexts(count: number, pick: (t: DecisionTrace) => boolean, what: string): Promise<DecisionContext[]> {
  const out: DecisionContext[] = [];
  const clock = new SimulatedClock(0);
  const runner = new FastRunner(backtestDeps(clock, { memory: { recaller: ethBtcMemory(), k: 20, scope: 'same-symbol' } }));
  await replayDecisions(ethBtcSetup('live', 2_000), clock, (ctx) => {
    const r = runner.decideSync(ctx);
    if (out.length < count && pick(r.trace)) out.push(detachContext(ctx));
    return r;
  });
  if (out.length < count) throw new Error(`only ${out.length} ${what} decisions in the replay, ${count} wanted`);
  return out;
}

/** contexts whose verdict is pending_approval */
export const pendingContexts = (count: number) => replayContexts(count, (t) => t.verdict?.status === 'pending_approval', 'pending');

/** contexts whose decision opens a position that the gate approves (so the risk gate and the outbox route matter) */
export const orderContexts = (count: number) => replayContexts(count, (t) => t.outcome === 'order', 'order');
