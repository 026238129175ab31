import type { DecisionInput } from '@meridian/agents';
import { TradeDecisionSchema, type Position, type TradeDecision } from '@meridian/contracts';
import { required, syncOnly, type NodeDef } from './node-def.ts';

/** decision: the decision agent on the signal, the position in this symbol, the portfolio and the limits. */
export const decisionNode: NodeDef<DecisionInput, TradeDecision> = {
  node: 'decision',
  schema: TradeDecisionSchema,
  input: (s) => {
    const c = s.context;
    return {
      signal: required(s.signal, 'a signal', 'decision'),
      position: positionIn(c.portfolio.positions, c.subject.exchange, c.subject.symbol),
      portfolio: c.portfolio,
      limits: c.limits.limits,
      market: c.market.market,
      lastPrice: c.market.lastPrice,
      account: c.account,
    };
  },
  version: (d) => d.agents.decision.version,
  summarise: (i, s) => ({
    signal: 'signal.output',
    position: i.position,
    portfolio: i.portfolio,
    limitsVersion: s.context.limits.version,
    market: i.market,
    lastPrice: i.lastPrice,
    account: i.account,
  }),
  run: (i, d, s) => d.agents.decision.run(i, { decisionId: s.context.decisionId }),
  runSync: (i, d, s) => syncOnly(d.agents.decision, 'decision')(i, { decisionId: s.context.decisionId }),
  patch: (decision) => ({ decision }),
};

export function positionIn(positions: readonly Position[], exchange: string, symbol: string): Position | null {
  for (const p of positions) if (p.symbol === symbol && p.exchange === exchange && p.quantity !== 0) return p;
  return null;
}
