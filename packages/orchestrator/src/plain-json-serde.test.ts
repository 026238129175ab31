import { JsonPlusSerializer } from '@langchain/langgraph-checkpoint';
import { exampleAnalysisReport, exampleMemoryRecall, exampleSignalProposal, exampleTradeDecision } from '@meridian/contracts/fixtures';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PlainJsonSerde, isPlainJson } from './plain-json-serde.ts';

const jsonPlus = new JsonPlusSerializer();
const plain = new PlainJsonSerde();
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** both serialisers' output for `v`, as [type, text] */
async function both(v: unknown): Promise<[[string, string], [string, string]]> {
  const [ta, a] = await jsonPlus.dumpsTyped(v);
  const [tb, b] = await plain.dumpsTyped(v);
  return [
    [ta, text(a)],
    [tb, text(b)],
  ];
}

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

describe('PlainJsonSerde', () => {
  it.each([
    ['an analysis report', exampleAnalysisReport()],
    ['a memory recall', exampleMemoryRecall()],
    ['a signal proposal', exampleSignalProposal()],
    ['a trade decision', exampleTradeDecision()],
    ['node records', [{ node: 'analysis', output: exampleAnalysisReport(), input: { features: 'ctx.features' }, ms: 0.25 }]],
    ['null (an empty channel)', null],
    ['a boolean', true],
    ['edge numbers', [0, -0, 1e-7, 1e21, -1.5e-300, Number.MAX_VALUE, Number.MIN_VALUE, NaN, Infinity, -Infinity]],
    ['odd strings', ['', 'é ✓ 日本', '\u0000\n"\\', '\ud800 lone surrogate', '</script>']],
    ['odd keys', JSON.parse('{"__proto__": {"a": 1}, "constructor": 2, "": 3, "0": 4}') as unknown],
    ['an object without a prototype', Object.assign(Object.create(null) as object, { a: 1, b: [null] })],
    ['nesting', { a: [[[[{ b: [] }]]]], c: {} }],
  ])('writes %s exactly as JsonPlusSerializer does', async (_what, v) => {
    expect(isPlainJson(v)).toBe(true);
    const [a, b] = await both(v);
    expect(b).toEqual(a);
    // and it reads back as the value's JSON image (-0 → 0, NaN → null; JsonPlus's reader drops a "__proto__" key, whoever wrote it)
    const [type, bytes] = await plain.dumpsTyped(v);
    if (!(typeof v === 'object' && v !== null && Object.hasOwn(v, '__proto__'))) expect(await plain.loadsTyped(type, bytes)).toEqual(JSON.parse(a[1]));
  });

  it('writes any generated JSON value exactly as JsonPlusSerializer does', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (v) => {
        expect(isPlainJson(v)).toBe(true);
        const [a, b] = await both(v);
        expect(b).toEqual(a);
      }),
      { numRuns: 300 },
    );
  });

  it.each([
    ['an undefined member (JsonPlus keeps it as a marker)', { a: 1, b: undefined }],
    ['undefined in an array', [1, undefined]],
    ['undefined itself', undefined],
    ['a Date', { at: new Date(0) }],
    ['a Map', new Map([['a', 1]])],
    ['a Set inside', { s: new Set([1, 2]) }],
    ['a class instance', { p: new Point(1, 2) }],
    ['an object with toJSON', { t: { toJSON: () => 'x' } }],
    ['a plain object shaped as a LangGraph Send (JsonPlus keeps node and args only)', { lg_name: 'Send', node: 'n', args: { a: 1 }, extra: 2 }],
    ['nesting deeper than 32', JSON.parse('['.repeat(40) + ']'.repeat(40)) as unknown],
  ])('leaves %s to JsonPlusSerializer (same bytes, reads back the same)', async (_what, v) => {
    expect(isPlainJson(v)).toBe(false);
    const [a, b] = await both(v);
    expect(b).toEqual(a);
    const [type, bytes] = await plain.dumpsTyped(v);
    expect(await plain.loadsTyped(type, bytes)).toEqual(await jsonPlus.loadsTyped(...(await jsonPlus.dumpsTyped(v))));
  });

  it('leaves a cycle to JsonPlusSerializer instead of recursing forever', async () => {
    const a: Record<string, unknown> = { x: 1 };
    a['self'] = a;
    expect(isPlainJson(a)).toBe(false);
    const [x, y] = await both(a);
    expect(y).toEqual(x);
  });

  it('passes bytes through as bytes', async () => {
    const b = new Uint8Array([1, 2, 3]);
    expect(await plain.dumpsTyped(b)).toEqual(['bytes', b]);
  });
});
