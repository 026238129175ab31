import { exampleRiskVerdict, exampleTradeDecision } from '@meridian/contracts/fixtures';
import { OrderRequestSchema, type RiskVerdict } from '@meridian/contracts';
import { verifyApproval } from '@meridian/risk';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildOrderRequest } from './order-request.ts';
import { BACKTEST_SIGNING_KEY } from './orchestrator-deps.ts';

const KEYS = { [BACKTEST_SIGNING_KEY.keyId]: BACKTEST_SIGNING_KEY.key };
const ORDER_ID = '0190a0c4-0000-7000-8000-0000000000aa';
const sign = { orderId: ORDER_ID, createdAt: 1_700_000_000_000, signing: BACKTEST_SIGNING_KEY, approvalTtlMs: 60_000 };
const decision = exampleTradeDecision();
const verdict = (o: Partial<RiskVerdict>) => exampleRiskVerdict({ decisionId: decision.decisionId, requestedQuantity: decision.quantity, approvedQuantity: decision.quantity, ...o });

describe('buildOrderRequest (the only place an order request is made)', () => {
  it('takes the quantity the verdict approved, not the one the decision asked for', () => {
    const o = buildOrderRequest(decision, verdict({ status: 'resized', approvedQuantity: decision.quantity / 2 }), sign);
    expect(o.quantity).toBe(decision.quantity / 2);
    expect(OrderRequestSchema.parse(o)).toEqual(o);
  });

  it('is reduce-only exactly when the verdict says the order only reduces exposure', () => {
    expect(buildOrderRequest(decision, verdict({ reducesExposure: true }), sign).reduceOnly).toBe(true);
    expect(buildOrderRequest(decision, verdict({ reducesExposure: false }), sign).reduceOnly).toBe(false);
  });

  it('signs every field with the limits version and an expiry of createdAt + TTL; tampering breaks it', () => {
    const o = buildOrderRequest(decision, verdict({ limitsVersion: 7 }), sign);
    expect(o.approval).toMatchObject({ keyId: 'backtest', limitsVersion: 7, expiresAt: sign.createdAt + 60_000 });
    expect(verifyApproval(o, KEYS, sign.createdAt).ok).toBe(true);
    const tampered = verifyApproval({ ...o, quantity: o.quantity * 10 }, KEYS, sign.createdAt);
    expect(tampered.ok ? null : tampered.error.reason).toBe('bad_signature');
    const late = verifyApproval(o, KEYS, sign.createdAt + 60_000);
    expect(late.ok ? null : late.error.reason).toBe('expired');
  });

  it.each([
    ['a hold', () => buildOrderRequest(exampleTradeDecision({ action: 'hold', side: null, quantity: 0 }), verdict({}), sign), /hold/],
    ['zero approved', () => buildOrderRequest(decision, verdict({ status: 'rejected', approvedQuantity: 0 }), sign), /approves no quantity/],
    ['NaN approved', () => buildOrderRequest(decision, verdict({ approvedQuantity: Number.NaN }), sign), /approves no quantity/],
    ['negative approved', () => buildOrderRequest(decision, verdict({ approvedQuantity: -1 }), sign), /approves no quantity/],
    ['another decision', () => buildOrderRequest(decision, verdict({ decisionId: '0190a0c4-0000-7000-8000-0000000000bb' }), sign), /applied to decision/],
  ])('refuses %s', (_name, f, msg) => {
    expect(f).toThrow(msg);
  });

  it('any approved quantity in (0, requested] comes out exactly and verifies (tiny to huge)', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-8, max: 1e12, noNaN: true }), fc.integer({ min: 0, max: 1_000 }), (q, lv) => {
        const d = exampleTradeDecision({ quantity: 1e12 });
        const o = buildOrderRequest(d, exampleRiskVerdict({ decisionId: d.decisionId, status: 'resized', requestedQuantity: 1e12, approvedQuantity: q, limitsVersion: lv }), sign);
        return o.quantity === q && o.approval.limitsVersion === lv && verifyApproval(o, KEYS, sign.createdAt).ok;
      }),
      { numRuns: 300 },
    );
  });
});
