import { DecisionTraceSchema } from '@meridian/contracts';
import { exampleDecisionTrace } from '@meridian/contracts/fixtures';
import { SimulatedClock } from '@meridian/core';
import { getDecisionTrace, migrate, openDb, type Db } from '@meridian/db';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DbDecisionRecorder } from './decision-recorder.ts';
import { validateTrace } from './decision-trace-builder.ts';

describe('DbDecisionRecorder: validation at the database door (PGlite)', () => {
  let db: Db;
  let recorder: DbDecisionRecorder;
  // a database of its own per case
  beforeEach(async () => {
    db = await openDb({ kind: 'pglite', dataDir: 'memory' });
    await migrate(db);
    recorder = new DbDecisionRecorder(db, new SimulatedClock(Date.UTC(2026, 0, 2)));
  }, 60_000);
  afterEach(async () => {
    vi.restoreAllMocks();
    await db?.close();
  });

  const hold = () => exampleDecisionTrace({ outcome: 'hold', orderRequest: null });

  it('a trace the orchestrator validated (validateTrace) is stored without being parsed again', async () => {
    const trace = validateTrace(hold());
    const parse = vi.spyOn(DecisionTraceSchema, 'safeParse');
    const r = await recorder.record(trace, null);
    expect(parse).not.toHaveBeenCalled();
    expect(r.inserted).toBe(true);
    expect((await getDecisionTrace(db, trace.decisionId))?.trace).toEqual(trace);
  });

  it('any other trace is parsed — a copy of a validated one too — and an invalid one is refused with nothing stored', async () => {
    const parse = vi.spyOn(DecisionTraceSchema, 'safeParse');
    const bad = { ...hold(), outcome: 'sideways' } as unknown as Parameters<typeof recorder.record>[0];
    await expect(recorder.record(bad, null)).rejects.toMatchObject({ code: 'VALIDATION' });
    expect(parse).toHaveBeenCalledTimes(1);
    expect(await getDecisionTrace(db, hold().decisionId)).toBeUndefined();

    const copy = { ...validateTrace(hold()) };
    parse.mockClear();
    expect((await recorder.record(copy, null)).inserted).toBe(true);
    expect(parse).toHaveBeenCalledTimes(1);
  });
});
