import type { OrderRequest, RiskVerdict, TradeDecision, UnsignedOrderRequest } from '@meridian/contracts';
import { AppError } from '@meridian/core';
import { signOrder, type SigningKey } from '@meridian/risk';

export interface OrderSigning {
  readonly orderId: string;
  /** epoch ms: when the order request is made (and its approval's validity starts) */
  readonly createdAt: number;
  readonly signing: SigningKey;
  readonly approvalTtlMs: number;
}

/**
 * The order the risk gate lets through: the decision's fields at the quantity the verdict
 * approved (a resize never grows it), reduce-only when the verdict says the order only reduces
 * exposure, signed over every field with the limits version and an expiry.
 */
export function buildOrderRequest(decision: TradeDecision, verdict: RiskVerdict, o: OrderSigning): OrderRequest {
  if (decision.side === null || decision.action === 'hold')
    throw new AppError('INTERNAL', `decision ${decision.decisionId} is a hold: there is no order to build`);
  if (verdict.decisionId !== decision.decisionId)
    throw new AppError('INTERNAL', `verdict for ${verdict.decisionId} applied to decision ${decision.decisionId}`);
  if (!(verdict.approvedQuantity > 0))
    throw new AppError('INTERNAL', `verdict ${verdict.status} for ${decision.decisionId} approves no quantity`);
  const unsigned: UnsignedOrderRequest = {
    schemaVersion: 1,
    orderId: o.orderId,
    decisionId: decision.decisionId,
    exchange: decision.exchange,
    symbol: decision.symbol,
    side: decision.side,
    type: decision.orderType,
    quantity: verdict.approvedQuantity,
    limitPrice: decision.limitPrice,
    stopPrice: decision.stopPrice,
    reduceOnly: verdict.reducesExposure,
    createdAt: o.createdAt,
  };
  return signOrder(unsigned, o.signing, verdict.limitsVersion, o.createdAt + o.approvalTtlMs);
}
