import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { decisionLineOf, DecisionLineSchema, type DecisionLine, type DecisionTrace } from '@meridian/contracts';
import { exampleDecisionLine, exampleDecisionTrace } from '@meridian/contracts/fixtures';
import { DecisionLinesWriter } from './decision-lines.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'meridian-decision-lines-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const file = () => path.join(tmp, `decisions-${n++}.jsonl`);
const reference = (lines: readonly DecisionLine[]) => lines.map((l) => `${JSON.stringify(l)}\n`).join('');

async function written(lines: readonly DecisionLine[], options: { batchLines?: number; maxInFlight?: number }): Promise<string> {
  const f = file();
  const w = new DecisionLinesWriter(f, options);
  for (const l of lines) {
    w.write(l);
    if (w.blocked) await w.ready();
  }
  await w.close();
  return readFileSync(f, 'utf8');
}

// the values the writer thread formats itself, at their edges: zero, -0, tiny, huge, many digits, odd keys and text
const number = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0, -0, 1e-7, 5e-324, 1.7976931348623157e308, 0.1 + 0.2, 15816.51, -1e21, 123456789012));
const text = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.constantFrom('—', '"quoted"\n\ttab', '\\', '\u2028', 'ρ≥1 🚀', '\u0000'));
const line = fc
  .record({
    indicators: fc.dictionary(fc.oneof(fc.string({ minLength: 1 }), fc.constantFrom('rsi14', 'ema20', 'ρ', '"k"', '10', '2', '__proto__', 'constructor')), number, { maxKeys: 25 }),
    features: fc.array(number, { minLength: 1, maxLength: 40 }),
    support: fc.array(number, { maxLength: 4 }),
    resistance: fc.array(number, { maxLength: 4 }),
    close: number,
    momentum: number,
    summary: text,
    fallbackReason: fc.option(text),
    symbolIdx: fc.nat(2),
    asOf: fc.integer({ min: 0, max: 2 ** 47 }),
    signal: fc.record({
      prices: fc.tuple(fc.option(number), fc.option(number), fc.option(number)),
      strength: number,
      rationale: text,
      fallbackReason: fc.option(text),
      entries: fc.array(fc.record({ name: text, value: number, reading: text }), { maxLength: 4 }),
      // 0 {indicators}; 1 memory off; 2 other memories cited; 3 an entry with its keys in another order
      shape: fc.nat(3),
    }),
    // the recall, whose numbers the writer thread formats: 0 none; 1 the contract's shape; 2 its keys in another
    // order; 3 a stats object with one more key (2 and 3 go through the plain serializer)
    // the decision, written field by field: 0 as the contract has it; 1 a price left null; 2 its keys in another order
    decision: fc.record({ kind: fc.nat(2), quantity: number, price: number, rationale: text, fallbackReason: fc.option(text) }),
    recall: fc.record({
      kind: fc.nat(3),
      k: number,
      ids: fc.array(fc.uuid(), { maxLength: 25 }),
      distances: fc.array(number, { maxLength: 25 }),
      stats: fc.tuple(number, number, number, number, number),
    }),
  })
  .map((g): DecisionLine => {
    const base = exampleDecisionLine();
    const sg = g.signal;
    const entries = sg.entries.map((e) => ({ ...e }));
    if (sg.shape === 3 && entries.length > 0) entries[0] = { reading: entries[0]!.reading, name: entries[0]!.name, value: entries[0]!.value };
    const evidence =
      sg.shape === 1
        ? { indicators: entries, memoryIds: [], memoryStats: null }
        : sg.shape === 2
          ? { indicators: entries, memoryIds: base.recall!.memoryIds.slice(1), memoryStats: base.recall!.stats }
          : { indicators: entries };
    const rc = g.recall;
    const [sn, mean, median, hit, disp] = rc.stats;
    const stats = { n: sn, meanReturn: mean, medianReturn: median, hitRate: hit, dispersion: disp };
    const recall =
      rc.kind === 0
        ? null
        : rc.kind === 1
          ? { scope: 'all-symbols' as const, k: rc.k, memoryIds: rc.ids, distances: rc.distances, stats }
          : rc.kind === 2
            ? ({ k: rc.k, scope: 'same-symbol', distances: rc.distances, memoryIds: rc.ids, stats } as unknown as DecisionLine['recall'])
            : ({ scope: 'same-symbol', k: rc.k, memoryIds: rc.ids, distances: rc.distances, stats: { ...stats, extra: rc.k } } as unknown as DecisionLine['recall']);
    const dg = g.decision;
    const baseDecision = { ...base.decision, quantity: dg.quantity, referencePrice: dg.price, rationale: dg.rationale, fallbackReason: dg.fallbackReason };
    const { agentVersion, ...afterVersion } = baseDecision;
    const decision =
      dg.kind === 0
        ? baseDecision
        : dg.kind === 1
          ? { ...baseDecision, stopPrice: null, targetPrice: null }
          : ({ ...afterVersion, agentVersion } as DecisionLine['decision']);
    return {
      ...base,
      decision,
      recall,
      signal: {
        ...base.signal,
        fallbackReason: sg.fallbackReason,
        strength: sg.strength,
        entry: sg.prices[0],
        stop: sg.prices[1],
        target: sg.prices[2],
        rationale: sg.rationale,
        evidence,
      },
      asOf: g.asOf,
      symbol: ['BTC/USDT', 'ETH/USDT', 'ETH/BTC'][g.symbolIdx]!,
      analysis: {
        ...base.analysis,
        fallbackReason: g.fallbackReason,
        close: g.close,
        momentum: g.momentum,
        indicators: g.indicators,
        keyLevels: { support: g.support, resistance: g.resistance },
        features: g.features,
        summary: g.summary,
      },
    };
  });

describe('DecisionLinesWriter', () => {
  it('writes exactly JSON.stringify of every line, in order, across batches and indicator key sets', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 7 }), async (lines, batchLines) => {
        expect(await written(lines, { batchLines, maxInFlight: 2 })).toBe(reference(lines));
      }),
      { numRuns: 40 },
    );
  });

  it('real lines (hold, order, memory off, decisionLineOf a trace) take the deferred path, are valid DecisionLines and byte-identical to the reference', async () => {
    const order = exampleDecisionLine();
    const hold: DecisionLine = {
      ...order,
      outcome: 'hold',
      verdict: null,
      orderRequest: null,
      recall: null,
      signal: { ...order.signal, evidence: { ...order.signal.evidence, memoryIds: [], memoryStats: null } },
    };
    const lines = [order, hold, { ...hold, asOf: hold.asOf + 300_000 }, decisionLineOf(exampleDecisionTrace())];
    const f = file();
    const w = new DecisionLinesWriter(f);
    for (const l of lines) w.write(l);
    // every recall, signal and decision of these (decisionLineOf's, the contract's shape) had its numbers left
    // to the writer thread: a field added to, or reordered in, the contract without the writer's shapes fails here
    expect(w.fallbacks).toBe(0);
    const { rationale, ...beforeRationale } = hold.decision;
    const reordered: DecisionLine = { ...hold, decision: { rationale, ...beforeRationale } };
    w.write(reordered);
    expect(w.fallbacks).toBe(1);
    await w.close();
    const text = readFileSync(f, 'utf8');
    expect(text).toBe(reference([...lines, reordered]));
    for (const l of text.trimEnd().split('\n')) expect(DecisionLineSchema.safeParse(JSON.parse(l)).success).toBe(true);
  });

  it('fills every batch: n lines go out in ceil(n / batchLines) batches, buffers reused after the transfer', async () => {
    const f = file();
    const w = new DecisionLinesWriter(f, { batchLines: 100, maxInFlight: 2 });
    const lines = Array.from({ length: 1050 }, (_, i) => ({ ...exampleDecisionLine(), asOf: 300_000 * (i + 1) }));
    for (const l of lines) {
      w.write(l);
      if (w.blocked) await w.ready();
    }
    await w.close();
    expect(w.batches).toBe(11);
    expect(readFileSync(f, 'utf8')).toBe(reference(lines));
  });

  it('a line larger than the batch buffer still goes out whole', async () => {
    const big = exampleDecisionLine();
    const lines = [{ ...big, analysis: { ...big.analysis, summary: 'x'.repeat(1999) } }, big];
    expect(await written(lines, { batchLines: 1 })).toBe(reference(lines));
  });

  it('holds the replay back while the writer thread has maxInFlight batches, and lets it go on after', async () => {
    const w = new DecisionLinesWriter(file(), { batchLines: 1, maxInFlight: 1 });
    w.write(exampleDecisionLine());
    expect(w.blocked).toBe(true);
    await w.ready();
    expect(w.blocked).toBe(false);
    await w.close();
  });

  it('replaces a file left by an earlier run (no stale tail)', async () => {
    const f = file();
    writeFileSync(f, 'x'.repeat(100_000));
    const w = new DecisionLinesWriter(f);
    w.write(exampleDecisionLine());
    await w.close();
    expect(readFileSync(f, 'utf8')).toBe(reference([exampleDecisionLine()]));
  });

  it('reports a failed write (a full disk) to the replay, which stops, and close still ends the thread', async () => {
    const w = new DecisionLinesWriter('/dev/full', { batchLines: 2 });
    const replay = async () => {
      for (let i = 0; i < 5000; i++) {
        w.write(exampleDecisionLine());
        if (w.blocked) await w.ready();
      }
      await w.close();
    };
    await expect(replay()).rejects.toThrow(/ENOSPC/);
    await expect(w.close()).rejects.toThrow(/ENOSPC/);
  });

  it('reports a file it cannot create instead of losing the lines silently', async () => {
    const w = new DecisionLinesWriter(path.join(tmp, 'no-such-dir', 'decisions.jsonl'));
    w.write(exampleDecisionLine());
    await expect(w.close()).rejects.toThrow(/ENOENT|no such file/);
  });
});

describe('a decisions.jsonl line (decisionLineOf + JSON.stringify, what the writer must reproduce)', () => {
  const traceLine = (t: DecisionTrace) => `${JSON.stringify(decisionLineOf(t))}\n`;
  const trace = exampleDecisionTrace();
  it('starts with asOf, leaves out wall-clock timings, the runner and node inputs, and is a valid DecisionLine', () => {
    const line = traceLine(trace);
    expect(line.startsWith(`{"asOf":${trace.asOf},`)).toBe(true);
    expect(line.endsWith('}\n')).toBe(true);
    for (const gone of ['durationMs', 'runner', '"input"', 'traceId', 'runScope']) expect(line, gone).not.toContain(gone);
    const parsed = DecisionLineSchema.parse(JSON.parse(line));
    // every agent output, the memory ids, the verdict and the order request are there
    const out = (node: string) => trace.nodes.find((n) => n.node === node)!.output as unknown as Record<string, unknown>;
    expect(parsed.analysis.features).toEqual(out('analysis')['features']);
    expect(parsed.signal.rationale).toBe(out('signal')['rationale']);
    expect(parsed.decision.quantity).toBe(out('decision')['quantity']);
    expect(parsed.recall?.memoryIds).toEqual(trace.recalledMemoryIds);
    // the signal cites exactly the recalled memories: stated once, in the recall
    expect(out('signal')['evidence']).toMatchObject({ memoryIds: trace.recalledMemoryIds });
    expect(parsed.signal.evidence).toEqual({ indicators: (out('signal')['evidence'] as { indicators: unknown }).indicators });
    expect(parsed.verdict?.checks).toEqual(trace.verdict!.checks);
    expect(parsed.orderRequest?.approval).toEqual(trace.orderRequest!.approval);
  });
  it('the fast and the graph runner write the same bytes; a different timing changes nothing', () => {
    const fast = { ...trace, runner: 'fast', nodes: trace.nodes.map((n) => ({ ...n, durationMs: n.durationMs + 0.001 })) } as DecisionTrace;
    expect(traceLine(fast)).toBe(traceLine(trace));
  });
  it('keeps the memory evidence when it is not exactly the recall', () => {
    const nodes = trace.nodes.map((n) => (n.node === 'signal' ? { ...n, output: { ...n.output, evidence: { ...n.output.evidence, memoryIds: n.output.evidence.memoryIds.slice(1) } } } : n));
    const parsed = DecisionLineSchema.parse(JSON.parse(traceLine({ ...trace, nodes } as DecisionTrace)));
    expect(parsed.signal.evidence.memoryIds).toEqual(trace.recalledMemoryIds.slice(1));
    expect(parsed.signal.evidence.memoryStats).not.toBeUndefined();
  });
  it('a trace without its decision node cannot be written', () => {
    expect(() => traceLine({ ...trace, nodes: trace.nodes.filter((n) => n.node !== 'decision') })).toThrow(/lacks the decision node/);
  });
});
