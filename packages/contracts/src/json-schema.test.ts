/**
 * The JSON Schema export, checked with a real draft 2020-12 validator (Ajv): every message's
 * schema compiles, accepts the example as JSON, and refuses structurally invalid variants, so an
 * API consumer validating with the published schema agrees with zod on everything JSON Schema
 * can express. (Cross-field rules and NaN/Infinity live in zod only; JSON has no NaN.)
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { MESSAGE_SCHEMAS, allJsonSchemas, jsonSchemaOf, type MessageName } from './json-schema.ts';
import { MESSAGE_EXAMPLES } from './fixtures.ts';

const NAMES = Object.keys(MESSAGE_SCHEMAS) as MessageName[];
/** Embedded parts without a version of their own, and RiskLimits (schemaVersion defaults to 1 on input). */
const NOT_VERSION_REQUIRED: readonly MessageName[] = ['MarketInfo', 'Approval', 'RiskLimits'];

interface ObjectSchema {
  type: 'object';
  properties: Record<string, Record<string, unknown>>;
  required?: string[];
  additionalProperties: false;
}

const validators = new Map<MessageName, ValidateFunction>();

beforeAll(() => {
  // strict: unknown keywords or formats in zod's output would throw here instead of being ignored;
  // union types (`"type": ["string", "null"]`, zod's nullable) are valid 2020-12, so they are allowed
  const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
  for (const name of NAMES) validators.set(name, ajv.compile(jsonSchemaOf(name)));
});

/** The example as an API consumer receives it: through JSON. */
function asJson(name: MessageName): Record<string, unknown> {
  return JSON.parse(JSON.stringify(MESSAGE_EXAMPLES[name]())) as Record<string, unknown>;
}

function jsonErrors(name: MessageName, data: unknown): ErrorObject[] {
  const validate = validators.get(name);
  if (!validate) throw new Error(`no validator for ${name}`);
  return validate(data) ? [] : (validate.errors ?? []);
}

describe.each(NAMES)('%s JSON Schema', (name) => {
  const schema = jsonSchemaOf(name) as unknown as ObjectSchema & Record<string, unknown>;

  it('is a draft 2020-12 object schema with an $id and title, closed to extra fields', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toBe(`https://meridian.local/schemas/${name}.json`);
    expect(schema.title).toBe(name);
    expect(schema.type).toBe('object');
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties).sort()).toEqual(Object.keys(asJson(name)).sort());
  });

  if (!NOT_VERSION_REQUIRED.includes(name))
    it('requires schemaVersion, pinned to 1', () => {
      expect(schema.required).toContain('schemaVersion');
      expect(schema.properties.schemaVersion).toMatchObject({ const: 1 });
    });

  it('validates the example', () => {
    expect(jsonErrors(name, asJson(name))).toEqual([]);
  });

  it('rejects a missing required field, an extra field and a wrong type, like zod does', () => {
    const required = schema.required ?? [];
    for (const field of required) {
      const { [field]: _omit, ...rest } = asJson(name);
      expect(jsonErrors(name, rest).map((e) => e.keyword), `without ${field}`).toContain('required');
      expect(MESSAGE_SCHEMAS[name].safeParse(rest).success, `zod without ${field}`).toBe(false);
    }
    const extra = { ...asJson(name), unexpectedField: 1 };
    expect(jsonErrors(name, extra).map((e) => e.keyword)).toContain('additionalProperties');
    for (const [field, value] of Object.entries(asJson(name))) {
      // a value of the wrong JSON type: object where a scalar is expected, a string otherwise
      const wrong = value !== null && typeof value === 'object' ? 'not-an-object' : { wrong: true };
      const data = { ...asJson(name), [field]: wrong };
      expect(jsonErrors(name, data).length, `${field} = ${JSON.stringify(wrong)}`).toBeGreaterThan(0);
      expect(MESSAGE_SCHEMAS[name].safeParse(data).success, `zod ${field} = ${JSON.stringify(wrong)}`).toBe(false);
    }
  });

  const enumFields = Object.entries(schema.properties).filter(([, p]) => Array.isArray(p.enum));
  if (enumFields.length > 0)
    it('rejects a value outside each enum', () => {
      for (const [field] of enumFields) {
        const data = { ...asJson(name), [field]: 'bogus' };
        expect(jsonErrors(name, data), field).toContainEqual(expect.objectContaining({ instancePath: `/${field}`, keyword: 'enum' }));
      }
    });
});

describe('bounds reach the JSON Schema (not only zod)', () => {
  it.each([
    ['Candle', 'open', 0, 'exclusiveMinimum'],
    ['Candle', 'volume', -1, 'minimum'],
    ['Candle', 'ts', -1, 'minimum'],
    ['Candle', 'ts', 1.5, 'type'],
    ['Candle', 'timeframe', '2m', 'enum'],
    ['Candle', 'symbol', 'btc-usdt', 'pattern'],
    ['AnalysisReport', 'momentum', 1.5, 'maximum'],
    ['SignalProposal', 'confidence', 1.01, 'maximum'],
    ['TradeDecision', 'quantity', -0.04, 'minimum'],
    ['TradeDecision', 'decisionId', 'not-a-uuid', 'pattern'],
    ['RiskLimits', 'riskPerTradePct', 0, 'exclusiveMinimum'],
    ['RiskLimits', 'maxDrawdownPct', 101, 'maximum'],
    ['RiskLimits', 'maxOpenPositions', 1.5, 'type'],
    ['RiskLimits', 'schemaVersion', 2, 'const'],
    ['RiskVerdict', 'limitsVersion', -1, 'minimum'],
    ['Approval', 'signature', 'ABC', 'pattern'],
    ['OrderRequest', 'quantity', 0, 'exclusiveMinimum'],
    ['Fill', 'fee', -0.1, 'minimum'],
    ['PortfolioSnapshot', 'ordersLastMinute', -1, 'minimum'],
    ['DecisionTrace', 'outcome', 'maybe', 'enum'],
  ] as const)('%s.%s = %j fails %s', (name, field, value, keyword) => {
    const data = { ...asJson(name), [field]: value };
    expect(jsonErrors(name, data)).toContainEqual(expect.objectContaining({ instancePath: `/${field}`, keyword }));
    expect(MESSAGE_SCHEMAS[name].safeParse(data).success).toBe(false);
  });

  it('checks nested messages too (a trace with a negative order quantity)', () => {
    const data = asJson('DecisionTrace');
    (data.orderRequest as Record<string, unknown>).quantity = -1;
    expect(jsonErrors('DecisionTrace', data).map((e) => e.instancePath)).toContain('/orderRequest/quantity');
  });
});

it('allJsonSchemas gives the same schema per message as jsonSchemaOf', () => {
  const all = allJsonSchemas();
  expect(Object.keys(all).sort()).toEqual([...NAMES].sort());
  for (const name of NAMES) expect(all[name]).toEqual(jsonSchemaOf(name));
});
