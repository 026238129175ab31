import { RiskVerdictSchema, type RiskVerdict, type TradeDecision } from '@meridian/contracts';
import { evaluate } from '@meridian/risk';
import { buildOrderRequest } from '../order-request.ts';
import type { NodeDef } from './node-def.ts';

export const RISK_NODE_VERSION = 'risk-gate@1.0.0';

interface RiskInput {
  readonly decision: TradeDecision;
  readonly now: number;
}

/**
 * risk: the risk gate on the proposed order. Approved or resized → the signed order request
 * (the only way an order request comes into being); rejected → nothing; pending_approval → the
 * runner records it and waits for a risk officer. A hold proposes no order: the gate does not
 * run and the trace has no verdict.
 */
export const riskNode: NodeDef<RiskInput, RiskVerdict> = {
  node: 'risk',
  schema: RiskVerdictSchema,
  input: (s, d) => (s.decision === null || s.decision.action === 'hold' ? null : { decision: s.decision, now: d.clock.now() }),
  version: () => RISK_NODE_VERSION,
  summarise: (i, s) => {
    const c = s.context;
    return {
      decision: 'decision.output',
      portfolio: 'decision.input.portfolio',
      market: c.market,
      limitsVersion: c.limits.version,
      tradingState: c.tradingState,
      now: i.now,
    };
  },
  run: (i, d, s) => Promise.resolve(riskNode.runSync(i, d, s)),
  runSync: (i, _d, s) => {
    const c = s.context;
    return evaluate(i.decision, c.portfolio, c.market, c.limits, c.tradingState, i.now);
  },
  patch: (verdict, s, d) => {
    if (verdict.status !== 'approved' && verdict.status !== 'resized') return { verdict, orderRequest: null };
    const decision = s.decision as TradeDecision;
    const orderRequest = buildOrderRequest(decision, verdict, {
      orderId: d.ids.orderId(decision.decisionId, 'auto'),
      createdAt: verdict.evaluatedAt,
      signing: d.signing,
      approvalTtlMs: d.approvalTtlMs,
    });
    return { verdict, orderRequest };
  },
};
