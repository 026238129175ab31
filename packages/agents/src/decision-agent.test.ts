import { TradeDecisionSchema, type Position } from '@meridian/contracts';
import { examplePosition } from '@meridian/contracts/fixtures';
import { deterministicId } from '@meridian/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decisionInput, longSignal } from './agent-test-inputs.ts';
import { DECISION_RULES, breakevenConfidence, decide, type DecisionInput } from './decision-agent.ts';
import { exposureHeadroom } from './position-sizing.ts';

const ID = deterministicId('decision-test');
const pos = (quantity: number, over: Partial<Position> = {}): Position =>
  examplePosition({ quantity, avgEntryPrice: 100, markPrice: 100, notional: Math.abs(quantity) * 100, ...over });
const shortSignal = (confidence: number) => longSignal({ direction: 'short', entry: 100, stop: 105, target: 90, confidence });

describe('decide', () => {
  it.each([
    ['flat + strong long → open, sized by risk', {}, { action: 'open', side: 'buy', quantity: 20, stopPrice: 95, targetPrice: 110 }],
    ['flat + weak long → hold', { signal: longSignal({ confidence: 0.3 }) }, { action: 'hold', side: null, quantity: 0 }],
    ['flat + short on a spot account → hold', { signal: shortSignal(0.9) }, { action: 'hold', rationale: expect.stringMatching(/long-only/) }],
    ['flat + short when shorting is allowed → open sell', { signal: shortSignal(0.9), account: { shortingAllowed: true } }, { action: 'open', side: 'sell', quantity: 20 }],
    ['flat + flat → hold', { signal: longSignal({ direction: 'flat', entry: null, stop: null, target: null, confidence: 0 }) }, { action: 'hold' }],
    ['long 10 + strong long → add up to the risk size', { position: pos(10) }, { action: 'add', side: 'buy', quantity: 10 }],
    ['long 20 + strong long → hold at full size', { position: pos(20) }, { action: 'hold', rationale: expect.stringMatching(/full risk budget/) }],
    ['long 10 + weakened long → reduce half', { position: pos(10), signal: longSignal({ confidence: 0.3 }) }, { action: 'reduce', side: 'sell', quantity: 5 }],
    ['long 10 + flat → hold', { position: pos(10), signal: longSignal({ direction: 'flat', entry: null, stop: null, target: null, confidence: 0 }) }, { action: 'hold' }],
    ['long 10 + short on spot → close', { position: pos(10), signal: shortSignal(0.9) }, { action: 'close', side: 'sell', quantity: 10 }],
    ['long 10 + strong short, shorting allowed → reverse', { position: pos(10), signal: shortSignal(0.9), account: { shortingAllowed: true } }, { action: 'reverse', side: 'sell', quantity: 30 }],
    ['long 10 + weak short, shorting allowed → close', { position: pos(10), signal: shortSignal(0.36), account: { shortingAllowed: true } }, { action: 'close', quantity: 10 }],
    ['short 10 + strong long → reverse to long', { position: pos(-10) }, { action: 'reverse', side: 'buy', quantity: 30 }],
    ['dust position counts as flat', { position: pos(0.0004) }, { action: 'open', quantity: 20 }],
    ['long 0.0015 + weakened long → hold (too small to reduce or close)', { position: pos(0.0015), signal: longSignal({ confidence: 0.3 }) }, { action: 'hold' }],
    ['zero equity → hold', { portfolio: { ...decisionInput().portfolio, equity: 0 } }, { action: 'hold', rationale: expect.stringMatching(/equity 0/) }],
    ['cash caps a buy, less the 1% buffer for fee, slippage and gap', { portfolio: { ...decisionInput().portfolio, cash: 500 } }, { action: 'open', quantity: 4.95, rationale: expect.stringMatching(/capped by cash/) }],
    ['below minNotional → hold', { portfolio: { ...decisionInput().portfolio, cash: 4 } }, { action: 'hold', rationale: expect.stringMatching(/below the market minimum/) }],
    ['limits.minConfidence raises the bar', { limits: { ...decisionInput().limits, minConfidence: 0.7 } }, { action: 'hold' }],
    ['NaN last price → hold at the signal entry', { lastPrice: Number.NaN }, { action: 'hold', referencePrice: 100, rationale: expect.stringMatching(/last price NaN/) }],
  ] as const)('%s', (_name, over, expected) => {
    const d = decide(decisionInput(over as Partial<DecisionInput>), ID);
    expect(TradeDecisionSchema.safeParse(d).success).toBe(true);
    expect(d).toMatchObject({ decisionId: ID, orderType: 'market', limitPrice: null, ...expected });
  });

  it('refuses to decide without any usable price', () => {
    const flat = longSignal({ direction: 'flat', entry: null, stop: null, target: null, confidence: 0 });
    expect(() => decide(decisionInput({ signal: flat, lastPrice: 0 }), ID)).toThrow(/positive last price/);
  });

  it('needs confidence above the break-even of the signal’s own reward/risk plus the edge margin', () => {
    const s = longSignal({ entry: 100, stop: 95, target: 110 }); // R = 2 → break-even 1/3
    expect(breakevenConfidence(s)).toBeCloseTo(1 / 3, 12);
    const t = 1 / 3 + DECISION_RULES.minEdge;
    expect(decide(decisionInput({ signal: { ...s, confidence: t + 1e-4 } }), ID).action).toBe('open');
    expect(decide(decisionInput({ signal: { ...s, confidence: t - 1e-4 } }), ID).action).toBe('hold');
  });
});

describe('decide (properties)', () => {
  const arbInput = fc
    .record({
      direction: fc.constantFrom('long', 'short', 'flat'),
      confidence: fc.double({ min: 0, max: 1, noNaN: true }),
      entry: fc.double({ min: 1e-6, max: 1e9, noNaN: true }),
      stopFrac: fc.double({ min: 0, max: 0.5, noNaN: true }),
      rr: fc.double({ min: 1, max: 5, noNaN: true }),
      posFrac: fc.double({ min: -3, max: 3, noNaN: true }),
      equity: fc.oneof(fc.constant(0), fc.double({ min: -1e5, max: 1e9, noNaN: true })),
      cash: fc.double({ min: 0, max: 1e9, noNaN: true }),
      gross: fc.double({ min: 0, max: 1e9, noNaN: true }),
      maxOrder: fc.option(fc.double({ min: 0, max: 1e8, noNaN: true }), { nil: undefined }),
      maxPos: fc.option(fc.double({ min: 0, max: 1e8, noNaN: true }), { nil: undefined }),
      maxGross: fc.option(fc.double({ min: 0, max: 1e9, noNaN: true }), { nil: undefined }),
      riskPct: fc.double({ min: 0.01, max: 100, noNaN: true }),
      qtyStep: fc.constantFrom(1e-8, 1e-5, 0.001, 0.1, 1),
      minNotional: fc.constantFrom(0, 5, 100),
      shorting: fc.boolean(),
    })
    .map((r): DecisionInput => {
      const stopDist = r.entry * r.stopFrac;
      const long = r.direction === 'long';
      const flat = r.direction === 'flat';
      const base = decisionInput();
      const posQty = Math.round((r.posFrac * 10) / r.qtyStep) * r.qtyStep;
      return {
        ...base,
        signal: longSignal({
          direction: r.direction,
          confidence: flat ? 0 : r.confidence,
          entry: flat ? null : r.entry,
          stop: flat ? null : long ? r.entry - stopDist : r.entry + stopDist,
          target: flat ? null : long ? r.entry + stopDist * r.rr : Math.max(r.entry - stopDist * r.rr, r.entry * 1e-3),
        }),
        position: posQty === 0 ? null : pos(posQty, { markPrice: r.entry, notional: Math.abs(posQty) * r.entry }),
        portfolio: { ...base.portfolio, equity: r.equity, cash: r.cash, grossExposure: r.gross },
        limits: { ...base.limits, maxOrderNotional: r.maxOrder, maxPositionNotional: r.maxPos, maxGrossExposure: r.maxGross, riskPerTradePct: r.riskPct },
        market: { ...base.market, qtyStep: r.qtyStep, minQty: r.qtyStep, minNotional: r.minNotional },
        lastPrice: r.entry,
        account: { shortingAllowed: r.shorting },
      };
    });

  it('every decision parses with TradeDecisionSchema and never sizes new exposure above the headroom', () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        // signals with stop ≤ 0 or equal prices are not valid proposals; the schema would reject them upstream
        const d = decide(input, ID);
        const parsed = TradeDecisionSchema.safeParse(d);
        expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
        const held = Math.abs(input.position?.quantity ?? 0);
        if (d.action === 'open' || d.action === 'add' || d.action === 'reverse') {
          const side = d.side as 'buy' | 'sell';
          const cur = d.action === 'add' ? held * input.lastPrice : 0;
          const head = exposureHeadroom(side, input.lastPrice, cur, input.limits, input.portfolio);
          const opening = d.action === 'reverse' ? d.quantity - held : d.quantity;
          expect(opening).toBeLessThanOrEqual(head.maxQty * (1 + 1e-12));
          // and never more than the risk budget at the stop
          const risk = opening * Math.abs((input.signal.entry as number) - (input.signal.stop as number));
          expect(risk).toBeLessThanOrEqual((input.limits.riskPerTradePct as number) / 100 * input.portfolio.equity * (1 + 1e-9));
          if (d.side === 'sell' && d.action === 'open') expect(input.account.shortingAllowed).toBe(true);
        }
        if (d.action === 'close' || d.action === 'reduce') expect(d.quantity).toBeLessThanOrEqual(held);
      }),
      { numRuns: 2000, seed: 20240301 },
    );
  });
});
