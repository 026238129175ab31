/**
 * Rules every boundary message shares, checked mechanically on every schema in MESSAGE_SCHEMAS:
 * the example parses; schemaVersion is required and pinned; objects are strict at every depth;
 * every number rejects NaN/±Infinity; timestamps are non-negative integer epoch ms; enums are closed.
 * Per-message rules (signs, cross-field checks) are in message-rules.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { MESSAGE_SCHEMAS, type MessageName } from './json-schema.ts';
import { MESSAGE_EXAMPLES } from './fixtures.ts';

type Path = ReadonlyArray<string | number>;
const NAMES = Object.keys(MESSAGE_SCHEMAS) as MessageName[];

/** Parts always embedded in a versioned message (MarketSnapshot.market, OrderRequest.approval); that message's version covers them. */
const EMBEDDED_PARTS: readonly MessageName[] = ['MarketInfo', 'Approval'];
/** Risk limits are written by hand: a file without schemaVersion means version 1 (any other version is refused). */
const VERSION_DEFAULTED: readonly MessageName[] = ['RiskLimits'];

/** Top-level epoch-ms fields of each message (nested ones are covered in message-rules.test.ts). */
const TIMESTAMPS: { readonly [N in MessageName]: readonly string[] } = {
  Candle: ['ts'],
  MarketInfo: [],
  MarketSnapshot: ['asOf', 'lastCandleTs', 'dataTs'],
  AnalysisReport: ['asOf'],
  MemoryRecall: ['asOf'],
  SignalProposal: ['asOf'],
  TradeDecision: ['asOf'],
  RiskLimits: [],
  RiskVerdict: ['evaluatedAt'],
  TradingState: ['since', 'until'],
  Approval: ['expiresAt'],
  OrderRequest: ['createdAt'],
  ExecutionReport: ['ts'],
  Order: ['createdAt', 'updatedAt'],
  Fill: ['ts'],
  Position: ['openedAt', 'updatedAt'],
  PortfolioSnapshot: ['asOf'],
  DecisionTrace: ['asOf'],
  DecisionLine: ['asOf'],
};

/** Top-level closed enums of each message. */
const ENUMS: { readonly [N in MessageName]: readonly string[] } = {
  Candle: ['timeframe'],
  MarketInfo: [],
  MarketSnapshot: ['timeframe'],
  AnalysisReport: ['timeframe', 'policy', 'trend', 'regime', 'volatilityState'],
  MemoryRecall: ['timeframe', 'scope'],
  SignalProposal: ['timeframe', 'policy', 'direction'],
  TradeDecision: ['timeframe', 'policy', 'action', 'side', 'orderType'],
  RiskLimits: [],
  RiskVerdict: ['status', 'tradingState'],
  TradingState: ['state'],
  Approval: [],
  OrderRequest: ['side', 'type'],
  ExecutionReport: ['status', 'previousStatus'],
  Order: ['side', 'type', 'status'],
  Fill: ['side', 'liquidity'],
  Position: [],
  PortfolioSnapshot: [],
  DecisionTrace: ['timeframe', 'runner', 'outcome'],
  DecisionLine: ['timeframe', 'outcome'],
};

function issuePaths(name: MessageName, value: unknown): Path[] | null {
  const r = MESSAGE_SCHEMAS[name].safeParse(value);
  return r.success ? null : r.error.issues.map((i) => i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)));
}

function example(name: MessageName): Record<string, unknown> {
  return MESSAGE_EXAMPLES[name]() as Record<string, unknown>;
}

/** Every leaf (or object) of a JSON-like value with its path; `input` of trace nodes is free-form and skipped. */
function walk(value: unknown, visit: (path: Path, v: unknown) => void, path: Path = []): void {
  visit(path, value);
  if (Array.isArray(value)) value.forEach((v, i) => walk(v, visit, [...path, i]));
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) if (!(k === 'input' && path.at(-2) === 'nodes')) walk(v, visit, [...path, k]);
}

function setAt(root: unknown, path: Path, value: unknown): void {
  let target = root as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) target = target[key] as Record<string | number, unknown>;
  target[path.at(-1) as string | number] = value;
}

describe.each(NAMES)('%s', (name) => {
  it('accepts its example, unchanged', () => {
    const value = example(name);
    const r = MESSAGE_SCHEMAS[name].safeParse(value);
    expect(r.error?.issues).toBeUndefined();
    expect(r.data).toEqual(value);
  });

  it('is strict: an unknown field is rejected at every depth', () => {
    const objects: Path[] = [];
    walk(example(name), (path, v) => {
      // records (indicator values by name) are open by design
      if (v !== null && typeof v === 'object' && !Array.isArray(v) && path.at(-1) !== 'indicators') objects.push(path);
    });
    expect(objects.length).toBeGreaterThan(0);
    for (const path of objects) {
      const value = example(name);
      const target = path.length === 0 ? value : (path.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], value) as object);
      Object.assign(target, { unexpectedField: 1 });
      const r = MESSAGE_SCHEMAS[name].safeParse(value);
      expect(r.success, `extra field at ${path.join('.') || '(root)'}`).toBe(false);
      expect(r.error?.issues).toContainEqual(expect.objectContaining({ code: 'unrecognized_keys', keys: ['unexpectedField'], path }));
    }
  });

  it('rejects NaN and ±Infinity in every number, at that number', () => {
    const numbers: Path[] = [];
    walk(example(name), (path, v) => {
      if (typeof v === 'number') numbers.push(path);
    });
    expect(numbers.length).toBeGreaterThan(0);
    for (const path of numbers)
      for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
        const value = example(name);
        setAt(value, path, bad);
        expect(issuePaths(name, value), `${bad} at ${path.join('.')}`).toContainEqual(path);
      }
  });

  if (TIMESTAMPS[name].length > 0)
    it('takes timestamps as non-negative integer UTC epoch ms', () => {
    for (const field of TIMESTAMPS[name])
      for (const bad of [-1, 1_709_298_000_000.5, '2024-03-01T13:00:00Z', 8.64e15 + 1]) {
        expect(issuePaths(name, { ...example(name), [field]: bad }), `${field} = ${bad}`).toContainEqual([field]);
      }
  });

  if (ENUMS[name].length > 0)
    it('has closed enums', () => {
    for (const field of ENUMS[name])
      for (const bad of ['bogus', '', 'BUY', 1]) expect(issuePaths(name, { ...example(name), [field]: bad }), `${field} = ${bad}`).toContainEqual([field]);
  });

  if (EMBEDDED_PARTS.includes(name)) {
    it('has no schemaVersion of its own (it is embedded in a versioned message)', () => {
      expect(issuePaths(name, { ...example(name), schemaVersion: 1 })).toContainEqual([]);
    });
  } else if (VERSION_DEFAULTED.includes(name)) {
    it('defaults a missing schemaVersion to 1 and refuses any other', () => {
      const { schemaVersion: _omit, ...rest } = example(name);
      expect(MESSAGE_SCHEMAS[name].parse(rest)).toMatchObject({ schemaVersion: 1 });
      for (const bad of [2, 0, '1', null]) expect(issuePaths(name, { ...rest, schemaVersion: bad })).toContainEqual(['schemaVersion']);
    });
  } else {
    it('requires schemaVersion 1', () => {
      const { schemaVersion, ...rest } = example(name);
      expect(schemaVersion).toBe(1);
      expect(issuePaths(name, rest)).toContainEqual(['schemaVersion']);
      for (const bad of [2, 0, '1', null, 1.5]) expect(issuePaths(name, { ...rest, schemaVersion: bad }), `schemaVersion ${bad}`).toContainEqual(['schemaVersion']);
    });
  }
});

it('lists every message in MESSAGE_SCHEMAS exactly once in MESSAGE_EXAMPLES', () => {
  expect(Object.keys(MESSAGE_EXAMPLES).sort()).toEqual([...NAMES].sort());
});
