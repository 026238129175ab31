/**
 * Per-message rules, table-driven: each invalid variant of a message's example must fail with an
 * issue at the expected path (signs and ranges, formats, and every cross-field rule), and each
 * edge variant that is valid must still parse. The generic rules shared by all messages are in
 * message-schemas.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { MESSAGE_SCHEMAS, type MessageName } from './json-schema.ts';
import type { DecisionTrace } from './trace.ts';
import { EXAMPLE_IDS, EXAMPLE_TIMES, MESSAGE_EXAMPLES, exampleDecisionTrace, exampleRiskVerdict, exampleTradeDecision } from './fixtures.ts';

type Path = ReadonlyArray<string | number>;
/** Put this as a value to delete the field. */
const DELETE = Symbol('delete');
type Edits = ReadonlyArray<readonly [Path, unknown]>;

interface Case {
  readonly name: string;
  readonly edits: Edits;
  /** where the issue must be reported (defaults to the first edited path) */
  readonly path?: Path;
}
interface Rules {
  readonly invalid: readonly Case[];
  /** edge cases that must still parse */
  readonly valid: ReadonlyArray<{ readonly name: string; readonly edits: Edits }>;
}

const bad = (name: string, edits: Edits, path?: Path): Case => (path === undefined ? { name, edits } : { name, edits, path });
const ok = (name: string, edits: Edits) => ({ name, edits });
/** A single-field invalid case reported at that field. */
const field = (path: Path, value: unknown, why: string): Case => bad(`${path.join('.')} ${why}`, [[path, value]]);

function edited(name: MessageName, edits: Edits): unknown {
  const value = MESSAGE_EXAMPLES[name]() as unknown;
  for (const [path, v] of edits) {
    let target = value as Record<string | number, unknown>;
    for (const key of path.slice(0, -1)) target = target[key] as Record<string | number, unknown>;
    const last = path.at(-1) as string | number;
    if (v === DELETE) delete target[last];
    else target[last] = v;
  }
  return value;
}

/** The example trace's nodes for a hold: the graph stops after the decision node. */
function holdNodes(): DecisionTrace['nodes'] {
  const [analysis, recall, signal] = exampleDecisionTrace().nodes;
  const decision = exampleTradeDecision({ action: 'hold', side: null, quantity: 0, stopPrice: null, targetPrice: null });
  if (!analysis || !recall || !signal) throw new Error('example trace has fewer than 3 nodes');
  return [analysis, recall, signal, { node: 'decision', version: decision.agentVersion, durationMs: 0.4, input: null, output: decision }];
}

const UUID_LIKE_BUT_NOT = '0190F5A2-7C00-7000-8000-00000000000G';
const T = EXAMPLE_TIMES;

const RULES: { readonly [N in MessageName]: Rules } = {
  Candle: {
    invalid: [
      field(['open'], 0, 'zero'),
      field(['open'], -61_950, 'negative'),
      field(['high'], -1, 'negative'),
      field(['low'], 0, 'zero'),
      field(['close'], -0.01, 'negative'),
      field(['volume'], -1, 'negative'),
      bad('high below close', [[['high'], 62_000]], ['high']),
      bad('high below open (down bar)', [[['open'], 62_400], [['high'], 62_350], [['close'], 62_000]], ['high']),
      bad('low above open', [[['low'], 62_000]], ['low']),
      bad('low above close (down bar)', [[['open'], 62_400], [['close'], 61_900], [['low'], 61_950]], ['low']),
      bad('ts not aligned to 1h', [[['ts'], T.barOpen + 60_000]], ['ts']),
      bad('12:00 is not aligned to 1d', [[['timeframe'], '1d']], ['ts']),
      field(['exchange'], 'Binance', 'uppercase'),
      field(['symbol'], 'BTCUSDT', 'not BASE/QUOTE'),
      field(['symbol'], 'btc/usdt', 'lowercase'),
      bad('missing close', [[['close'], DELETE]], ['close']),
    ],
    valid: [
      ok('doji: open = high = low = close', [[['open'], 62_000], [['high'], 62_000], [['low'], 62_000], [['close'], 62_000]]),
      ok('zero volume', [[['volume'], 0]]),
      ok('aligned 1d bar', [[['timeframe'], '1d'], [['ts'], Date.UTC(2024, 2, 1)]]),
      ok('perpetual symbol', [[['symbol'], 'BTC/USDT:USDT']]),
    ],
  },
  MarketInfo: {
    invalid: [
      field(['qtyStep'], 0, 'zero'),
      field(['priceStep'], -0.01, 'negative'),
      field(['minQty'], -0.00001, 'negative'),
      field(['minNotional'], -5, 'negative'),
      field(['base'], '', 'empty'),
      field(['symbol'], 'BTC-USDT', 'not a ccxt symbol'),
    ],
    valid: [ok('no minimum quantity or notional', [[['minQty'], 0], [['minNotional'], 0]])],
  },
  MarketSnapshot: {
    invalid: [
      field(['lastPrice'], 0, 'zero'),
      field(['bid'], -1, 'negative'),
      field(['ask'], 0, 'zero'),
      field(['market', 'qtyStep'], 0, 'zero'),
      bad('missing market info', [[['market'], DELETE]], ['market']),
    ],
    valid: [ok('no quote (bid/ask null)', [[['bid'], null], [['ask'], null]])],
  },
  AnalysisReport: {
    invalid: [
      field(['momentum'], 1.01, 'above 1'),
      field(['momentum'], -1.5, 'below -1'),
      field(['close'], 0, 'zero'),
      field(['keyLevels', 'support', 0], -1, 'negative'),
      field(['keyLevels', 'resistance', 1], 0, 'zero'),
      field(['features'], [], 'empty'),
      field(['featureVersion'], 0, 'zero'),
      field(['featureVersion'], 1.5, 'not an integer'),
      field(['indicators', 'rsi14'], '61.3', 'a string'),
      field(['summary'], '', 'empty'),
      field(['summary'], 'x'.repeat(2001), 'over 2000 characters'),
      field(['agentVersion'], '', 'empty'),
      field(['fallbackReason'], 7, 'not a string'),
    ],
    valid: [
      ok('momentum at its bounds', [[['momentum'], -1]]),
      ok('LLM policy fell back', [[['policy'], 'deterministic'], [['fallbackReason'], 'llm timeout after 20000 ms']]),
      ok('no key levels, no indicators', [[['keyLevels'], { support: [], resistance: [] }], [['indicators'], {}]]),
    ],
  },
  MemoryRecall: {
    invalid: [
      bad('a neighbour resolved after asOf (look-ahead)', [[['neighbours', 1, 'resolvedAt'], T.asOf + 1]], ['neighbours', 1, 'resolvedAt']),
      bad('more neighbours than k', [[['k'], 2]], ['neighbours']),
      field(['k'], 0, 'zero'),
      field(['featureVersion'], 0, 'zero'),
      field(['neighbours', 0, 'distance'], -0.01, 'negative'),
      field(['neighbours', 0, 'horizonBars'], 0, 'zero'),
      field(['neighbours', 0, 'memoryId'], UUID_LIKE_BUT_NOT, 'not a lowercase UUID'),
      field(['neighbours', 0, 'ts'], -1, 'negative'),
      field(['neighbours', 0, 'resolvedAt'], 1.5, 'not an integer'),
      field(['stats', 'hitRate'], 1.2, 'above 1'),
      field(['stats', 'n'], -1, 'negative'),
      field(['stats', 'n'], 2.5, 'not an integer'),
      field(['stats', 'dispersion'], -0.001, 'negative'),
    ],
    valid: [
      ok('a neighbour resolved exactly at asOf', [[['neighbours', 0, 'resolvedAt'], T.asOf]]),
      ok('nothing recalled yet', [[['neighbours'], []], [['stats'], { n: 0, meanReturn: 0, medianReturn: 0, hitRate: 0, dispersion: 0 }]]),
      ok('exactly k neighbours', [[['k'], 3]]),
    ],
  },
  SignalProposal: {
    invalid: [
      bad('long with stop above entry', [[['stop'], 62_500]], ['stop']),
      bad('long with stop at entry', [[['stop'], 62_310]], ['stop']),
      bad('long with target below entry', [[['target'], 62_000]], ['stop']),
      bad('short with long-shaped levels', [[['direction'], 'short']], ['stop']),
      bad('long without entry', [[['entry'], null]], ['entry']),
      bad('long without stop', [[['stop'], null]], ['entry']),
      field(['strength'], 1.01, 'above 1'),
      field(['confidence'], -0.1, 'negative'),
      field(['horizonBars'], 0, 'zero'),
      field(['entry'], 0, 'zero'),
      field(['evidence', 'memoryIds', 0], 'memory-1', 'not a UUID'),
      field(['evidence', 'indicators', 0, 'name'], '', 'empty'),
      field(['evidence', 'memoryStats', 'hitRate'], 2, 'above 1'),
      field(['rationale'], '', 'empty'),
    ],
    valid: [
      ok('flat with no levels', [[['direction'], 'flat'], [['entry'], null], [['stop'], null], [['target'], null]]),
      ok('short with target < entry < stop', [[['direction'], 'short'], [['stop'], 63_100], [['target'], 61_000]]),
      ok('no memory evidence', [[['evidence', 'memoryIds'], []], [['evidence', 'memoryStats'], null]]),
    ],
  },
  TradeDecision: {
    invalid: [
      bad('hold with a quantity', [[['action'], 'hold'], [['side'], null]], ['action']),
      bad('hold with a side', [[['action'], 'hold'], [['quantity'], 0]], ['action']),
      bad('open without a side', [[['side'], null]], ['side']),
      bad('open with quantity 0', [[['quantity'], 0]], ['quantity']),
      field(['quantity'], -0.04, 'negative'),
      bad('limit order without limitPrice', [[['orderType'], 'limit']], ['limitPrice']),
      bad('market order with a limitPrice', [[['limitPrice'], 62_300]], ['limitPrice']),
      field(['limitPrice'], 0, 'zero'),
      field(['stopPrice'], -1, 'negative'),
      field(['referencePrice'], 0, 'zero'),
      field(['confidence'], 1.5, 'above 1'),
      field(['decisionId'], 'not-a-uuid', 'not a UUID'),
      field(['rationale'], '', 'empty'),
    ],
    valid: [
      ok('hold', [[['action'], 'hold'], [['side'], null], [['quantity'], 0], [['stopPrice'], null], [['targetPrice'], null]]),
      ok('limit order with limitPrice', [[['orderType'], 'limit'], [['limitPrice'], 62_250]]),
      ok('close a short', [[['action'], 'close'], [['side'], 'buy'], [['stopPrice'], null], [['targetPrice'], null]]),
    ],
  },
  RiskLimits: {
    invalid: [
      field(['riskPerTradePct'], 0, 'zero'),
      field(['riskPerTradePct'], 100.5, 'above 100'),
      field(['maxDailyLossPct'], -3, 'negative'),
      field(['maxDrawdownPct'], 101, 'above 100'),
      field(['priceCollarPct'], 0, 'zero'),
      field(['maxOrderNotional'], -1, 'negative'),
      field(['maxPositionNotional'], -0.01, 'negative'),
      field(['maxGrossExposure'], -1, 'negative'),
      field(['maxNetExposure'], -1, 'negative'),
      field(['requireApprovalAboveNotional'], -1, 'negative'),
      field(['maxLeverage'], 0, 'zero'),
      field(['maxOpenPositions'], -1, 'negative'),
      field(['maxOpenPositions'], 1.5, 'not a whole number'),
      field(['maxOrdersPerMinute'], 0.5, 'not a whole number'),
      field(['minConfidence'], 1.1, 'above 1'),
      field(['minConfidence'], -0.1, 'negative'),
      field(['maxDataAgeMs'], 0, 'zero'),
      field(['maxDataAgeMs'], 1.5, 'not whole ms'),
      field(['allowedSymbols', 1], 'eth-usdt', 'not a ccxt symbol'),
      field(['requireStopLoss'], 'yes', 'not a boolean'),
    ],
    valid: [
      ok('percentages at 100', [[['riskPerTradePct'], 100], [['maxDrawdownPct'], 100]]),
      ok('zero notional caps (block everything)', [[['maxOrderNotional'], 0], [['maxOpenPositions'], 0]]),
      ok('a limit omitted means no limit', [[['maxLeverage'], DELETE], [['maxDailyLossPct'], DELETE]]),
    ],
  },
  RiskVerdict: {
    invalid: [
      bad('approvedQuantity > requestedQuantity', [[['approvedQuantity'], 0.05]], ['approvedQuantity']),
      bad('rejected with an approved quantity', [[['status'], 'rejected']], ['approvedQuantity']),
      bad('approved with nothing approved', [[['approvedQuantity'], 0]], ['approvedQuantity']),
      bad('resized to nothing', [[['status'], 'resized'], [['approvedQuantity'], 0]], ['approvedQuantity']),
      field(['requestedQuantity'], -0.04, 'negative'),
      field(['limitsVersion'], -1, 'negative'),
      field(['limitsVersion'], 3.5, 'not an integer'),
      field(['decisionId'], UUID_LIKE_BUT_NOT, 'not a lowercase UUID'),
      field(['checks', 0, 'check'], 'vibes', 'not a known check'),
      field(['checks', 0, 'passed'], 'true', 'not a boolean'),
      field(['checks', 0, 'message'], '', 'empty'),
      field(['checks', 2, 'limit'], { value: 1 }, 'neither number nor text'),
      field(['reasons', 0], 1, 'not text'),
    ],
    valid: [
      ok('rejected with its reasons', [
        [['status'], 'rejected'],
        [['approvedQuantity'], 0],
        [['reasons'], ['maxOrderNotional: order notional 9000.00 > 5000']],
      ]),
      ok('resized down', [[['status'], 'resized'], [['approvedQuantity'], 0.02]]),
      ok('pending a human approval', [[['status'], 'pending_approval'], [['approvedQuantity'], 0.04]]),
    ],
  },
  TradingState: {
    invalid: [field(['reason'], '', 'empty'), field(['actor'], '', 'empty')],
    valid: [ok('halted until the next UTC day', [[['state'], 'HALTED'], [['until'], Date.UTC(2024, 2, 2)]])],
  },
  Approval: {
    invalid: [
      field(['signature'], '9F2C4E7A1B3D5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8', 'uppercase hex'),
      field(['signature'], 'ab'.repeat(31), '62 characters'),
      field(['signature'], `${'ab'.repeat(32)}00`, '66 characters'),
      field(['keyId'], '', 'empty'),
      field(['limitsVersion'], -1, 'negative'),
    ],
    valid: [],
  },
  OrderRequest: {
    invalid: [
      bad('limit order without limitPrice', [[['type'], 'limit']], ['limitPrice']),
      bad('market order with a limitPrice', [[['limitPrice'], 62_300]], ['limitPrice']),
      field(['quantity'], 0, 'zero'),
      field(['quantity'], -0.04, 'negative'),
      field(['stopPrice'], 0, 'zero'),
      field(['orderId'], 'abc', 'not a UUID'),
      field(['reduceOnly'], 0, 'not a boolean'),
      bad('unsigned (no approval)', [[['approval'], DELETE]], ['approval']),
      field(['approval', 'signature'], 'not-hex', 'not a hex HMAC'),
      field(['approval', 'expiresAt'], -1, 'negative'),
    ],
    valid: [ok('limit order with limitPrice', [[['type'], 'limit'], [['limitPrice'], 62_250]]), ok('reduce-only sell', [[['side'], 'sell'], [['reduceOnly'], true], [['stopPrice'], null]])],
  },
  ExecutionReport: {
    invalid: [
      field(['filledQuantity'], -0.01, 'negative'),
      field(['avgFillPrice'], 0, 'zero'),
      field(['exchangeOrderId'], '', 'empty'),
      field(['orderId'], 'abc', 'not a UUID'),
      field(['fills', 0, 'price'], 0, 'zero'),
      field(['fills', 0, 'fee'], -0.1, 'negative'),
      field(['fills', 0, 'schemaVersion'], 2, 'wrong version'),
      field(['fills', 0, 'ts'], 1.5, 'not an integer'),
    ],
    valid: [
      ok('accepted, nothing filled yet', [
        [['status'], 'OPEN'],
        [['previousStatus'], 'SUBMITTING'],
        [['filledQuantity'], 0],
        [['avgFillPrice'], null],
        [['fills'], []],
      ]),
      ok('first report (no previous status, no exchange id)', [[['previousStatus'], null], [['exchangeOrderId'], null]]),
    ],
  },
  Order: {
    invalid: [
      bad('filled more than ordered', [[['filledQuantity'], 0.05]], ['filledQuantity']),
      bad('filled without an average price', [[['avgFillPrice'], null]], ['avgFillPrice']),
      field(['quantity'], 0, 'zero'),
      field(['fees'], -0.5, 'negative'),
      field(['limitPrice'], -1, 'negative'),
      field(['exchangeOrderId'], '', 'empty'),
    ],
    valid: [
      ok('new, unfilled', [[['status'], 'NEW'], [['filledQuantity'], 0], [['avgFillPrice'], null], [['exchangeOrderId'], null], [['fees'], 0]]),
      // a venue may round the last fill by a hair; the schema tolerates 1e-9 relative
      ok('filled within rounding of quantity', [[['filledQuantity'], 0.04 * (1 + 1e-12)]]),
    ],
  },
  Fill: {
    invalid: [
      field(['quantity'], 0, 'zero'),
      field(['price'], -62_318.4, 'negative'),
      field(['fee'], -0.1, 'negative'),
      field(['fillId'], '', 'empty'),
      field(['feeCurrency'], '', 'empty'),
      field(['orderId'], 'x', 'not a UUID'),
    ],
    valid: [ok('fee-free, liquidity unknown', [[['fee'], 0], [['liquidity'], null]])],
  },
  Position: {
    invalid: [
      field(['avgEntryPrice'], -1, 'negative'),
      field(['markPrice'], -1, 'negative'),
      field(['notional'], -2_492.4, 'negative'),
    ],
    valid: [
      ok('short (negative quantity) with a loss', [[['quantity'], -0.04], [['unrealizedPnl'], 0.336]]),
      ok('flat', [[['quantity'], 0], [['avgEntryPrice'], 0], [['notional'], 0], [['unrealizedPnl'], 0], [['openedAt'], null]]),
    ],
  },
  PortfolioSnapshot: {
    invalid: [
      field(['grossExposure'], -1, 'negative'),
      field(['feesPaid'], -0.01, 'negative'),
      field(['ordersLastMinute'], -1, 'negative'),
      field(['ordersLastMinute'], 1.5, 'not an integer'),
      field(['quoteCurrency'], '', 'empty'),
      field(['positions', 0, 'notional'], -1, 'negative'),
      field(['positions', 0, 'symbol'], 'BTCUSDT', 'not a ccxt symbol'),
    ],
    valid: [
      ok('short book: negative net exposure', [[['netExposure'], -2_492.4]]),
      ok('empty book', [[['positions'], []], [['grossExposure'], 0], [['netExposure'], 0]]),
    ],
  },
  DecisionTrace: {
    invalid: [
      bad("outcome 'order' without an orderRequest", [[['orderRequest'], null]], ['orderRequest']),
      bad("outcome 'approved_by_officer' without an orderRequest", [[['outcome'], 'approved_by_officer'], [['orderRequest'], null]], ['orderRequest']),
      bad("outcome 'hold' with an orderRequest", [[['outcome'], 'hold']], ['orderRequest']),
      bad("outcome 'rejected' without the verdict", [[['outcome'], 'rejected'], [['orderRequest'], null], [['verdict'], null]], ['verdict']),
      bad("outcome 'order' over a rejected verdict", [[['verdict'], exampleRiskVerdict({ status: 'rejected', approvedQuantity: 0 })]], ['outcome']),
      bad("outcome 'rejected' over an approved verdict", [[['outcome'], 'rejected'], [['orderRequest'], null]], ['outcome']),
      bad("outcome 'denied' over an approved verdict", [[['outcome'], 'denied'], [['orderRequest'], null]], ['outcome']),
      bad('verdict about another decision', [[['verdict', 'decisionId'], EXAMPLE_IDS.orderId]], ['verdict', 'decisionId']),
      bad('order request for another decision', [[['orderRequest', 'decisionId'], EXAMPLE_IDS.orderId]], ['orderRequest', 'decisionId']),
      bad('decision node about another decision', [[['nodes', 3, 'output', 'decisionId'], EXAMPLE_IDS.orderId]], ['nodes', 3, 'output', 'decisionId']),
      field(['nodes', 0, 'node'], 'sentiment', 'not a graph node'),
      bad('analysis node carrying a decision', [[['nodes', 0, 'output'], exampleTradeDecision()]], ['nodes', 0, 'output']),
      field(['nodes', 1, 'durationMs'], -1, 'negative'),
      field(['nodes', 1, 'version'], '', 'empty'),
      field(['nodes', 2, 'output', 'stop'], 62_500, 'above a long entry'),
      field(['recalledMemoryIds', 0], 'm1', 'not a UUID'),
      field(['runScope'], '', 'empty'),
      bad('resolution by nobody', [[['resolution'], { by: '', reason: 'ok', at: T.asOf }]], ['resolution', 'by']),
      bad('resolution at a negative time', [[['resolution'], { by: 'alice', reason: 'ok', at: -5 }]], ['resolution', 'at']),
    ],
    valid: [
      ok('hold without verdict or order', [
        [['outcome'], 'hold'],
        [['verdict'], null],
        [['orderRequest'], null],
        [['nodes'], holdNodes()],
      ]),
      ok('rejected', [
        [['outcome'], 'rejected'],
        [['orderRequest'], null],
        [['verdict'], exampleRiskVerdict({ status: 'rejected', approvedQuantity: 0, reasons: ['drawdown: 12% > 10%'] })],
      ]),
      ok('approved by a risk officer after a pending verdict', [
        [['outcome'], 'approved_by_officer'],
        [['verdict'], exampleRiskVerdict({ status: 'pending_approval' })],
        [['resolution'], { by: 'risk-officer:alice', reason: 'size fine for this market', at: T.asOf + 45_000 }],
      ]),
      ok('fast runner in a backtest', [[['runner'], 'fast'], [['runScope'], 'bt-2024-03-01']]),
      ok('a node input may be anything', [[['nodes', 0, 'input'], null]]),
    ],
  },
  DecisionLine: {
    invalid: [
      bad("outcome 'order' without an orderRequest", [[['orderRequest'], null]], ['orderRequest']),
      bad("outcome 'hold' with an orderRequest", [[['outcome'], 'hold']], ['orderRequest']),
      bad("outcome 'rejected' without the verdict", [[['outcome'], 'rejected'], [['orderRequest'], null], [['verdict'], null]], ['verdict']),
      bad('a distance missing for a recalled memory', [[['recall', 'distances'], []]], ['recall', 'distances']),
      field(['recall', 'memoryIds', 0], 'm1', 'not a UUID'),
      field(['signal', 'stop'], 62_500, 'above a long entry'),
      bad('a hold with a quantity', [[['decision', 'action'], 'hold']], ['decision', 'action']),
      bad('a resize that grows the order', [[['verdict', 'approvedQuantity'], 1e9]], ['verdict', 'approvedQuantity']),
      bad('the subject repeated in an agent message', [[['analysis', 'symbol'], 'BTC/USDT']], ['analysis']),
      bad('a node input', [[['nodes'], []]], []),
      field(['analysis', 'features'], [], 'empty'),
      bad('memory evidence half left out', [[['signal', 'evidence', 'memoryIds'], []]], ['signal', 'evidence']),
      bad('memory evidence left out without the recall', [[['recall'], null]], ['signal', 'evidence', 'memoryIds']),
    ],
    valid: [
      ok('hold without verdict or order', [
        [['outcome'], 'hold'],
        [['verdict'], null],
        [['orderRequest'], null],
      ]),
      ok('memory off', [
        [['recall'], null],
        [['signal', 'evidence', 'memoryIds'], []],
        [['signal', 'evidence', 'memoryStats'], null],
      ]),
      ok('evidence citing other memories than the recall', [
        [['signal', 'evidence', 'memoryIds'], []],
        [['signal', 'evidence', 'memoryStats'], null],
      ]),
    ],
  },
};

describe.each(Object.keys(RULES) as MessageName[])('%s', (name) => {
  const { invalid, valid } = RULES[name];
  it.each(invalid.map((c) => [c.name, c] as const))('rejects: %s', (_label, c) => {
    const r = MESSAGE_SCHEMAS[name].safeParse(edited(name, c.edits));
    expect(r.success).toBe(false);
    const expected = c.path ?? c.edits[0]?.[0];
    expect(r.error?.issues.map((i) => i.path)).toContainEqual(expected);
  });
  if (valid.length > 0)
    it.each(valid.map((c) => [c.name, c] as const))('accepts: %s', (_label, c) => {
      const r = MESSAGE_SCHEMAS[name].safeParse(edited(name, c.edits));
      expect(r.error?.issues).toBeUndefined();
    });
});

it('has a rules table for every message in MESSAGE_SCHEMAS', () => {
  expect(Object.keys(RULES).sort()).toEqual(Object.keys(MESSAGE_SCHEMAS).sort());
});

describe('error messages say what is wrong', () => {
  it.each([
    ['Candle', [[['high'], 62_000]], 'high must be ≥ max(open, close)'],
    ['Candle', [[['ts'], T.barOpen + 60_000]], 'ts must be aligned to the 1h timeframe (UTC)'],
    ['MemoryRecall', [[['neighbours', 0, 'resolvedAt'], T.asOf + 1]], 'a recalled memory must be resolved by asOf (no look-ahead)'],
    ['SignalProposal', [[['stop'], 62_500]], 'a long needs stop < entry < target'],
    ['TradeDecision', [[['orderType'], 'limit']], 'a limit order needs limitPrice'],
    ['RiskVerdict', [[['approvedQuantity'], 1]], 'resizing can never increase quantity'],
    ['RiskLimits', [[['riskPerTradePct'], 0]], 'riskPerTradePct must be a percentage in (0, 100]'],
    ['Order', [[['fees'], -1]], 'must be ≥ 0'],
    ['Fill', [[['price'], 0]], 'must be > 0'],
    ['Candle', [[['ts'], 1.5]], 'must be an integer epoch-ms timestamp'],
    ['DecisionTrace', [[['orderRequest'], null]], 'outcome order needs an orderRequest'],
  ] as const)('%s: %j → %s', (name, edits, message) => {
    const r = MESSAGE_SCHEMAS[name].safeParse(edited(name, edits));
    expect(r.error?.issues.map((i) => i.message)).toContain(message);
  });
});
