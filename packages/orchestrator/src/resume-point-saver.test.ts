import { MemorySaver } from '@langchain/langgraph';
import type { ChannelVersions, Checkpoint, CheckpointMetadata } from '@langchain/langgraph-checkpoint';
import type { RunnableConfig } from '@langchain/core/runnables';
import { SimulatedClock } from '@meridian/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { comparableTrace } from './decision-trace-builder.ts';
import type { DecisionContext } from './decision-context.ts';
import { GraphRunner } from './graph-runner.ts';
import { backtestDeps } from './orchestrator-deps.ts';
import { ResumePointSaver } from './resume-point-saver.ts';
import { orderContexts } from './test/replay-contexts.ts';

/** A MemorySaver that records what it is asked to store and can be made to fail. */
class RecordingSaver extends MemorySaver {
  readonly puts: { id: string; source: string; versions: ChannelVersions }[] = [];
  failPuts = false;
  failReads = false;
  tupleReads = 0;
  override async put(config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata, newVersions: ChannelVersions = {}): Promise<RunnableConfig> {
    if (this.failPuts) throw new Error('connection terminated unexpectedly');
    this.puts.push({ id: checkpoint.id, source: metadata.source, versions: { ...newVersions } });
    return super.put(config, checkpoint, metadata);
  }
  override getTuple(config: RunnableConfig) {
    this.tupleReads++;
    if (this.failReads) return Promise.reject(new Error('connection refused'));
    return super.getTuple(config);
  }
  override list(config: RunnableConfig, options?: Parameters<MemorySaver['list']>[1]) {
    if (this.failReads) throw new Error('connection refused');
    return super.list(config, options);
  }
}

/** A checkpoint before `next` (its branch channel written at `v`), with the given channel versions. */
function checkpoint(id: string, next: string | null, versions: Record<string, number>): Checkpoint {
  const channel_versions: Record<string, number> = { ...versions };
  const channel_values: Record<string, unknown> = Object.fromEntries(Object.keys(versions).map((k) => [k, `${k}@${versions[k]}`]));
  if (next !== null) {
    channel_versions[`branch:to:${next}`] = 99;
    channel_values[`branch:to:${next}`] = null;
  }
  return { v: 4, id, ts: '2026-11-22T00:00:00Z', channel_values, channel_versions, versions_seen: {} } as unknown as Checkpoint;
}
const cfg = (thread: string, parent?: string): RunnableConfig => ({ configurable: { thread_id: thread, checkpoint_ns: '', ...(parent ? { checkpoint_id: parent } : {}) } });
const meta = (source: string, step: number) => ({ source, step, parents: {} }) as unknown as CheckpointMetadata;

describe('ResumePointSaver', () => {
  it('stores only resume points, with the versions the skipped checkpoints before them wrote', async () => {
    const inner = new RecordingSaver();
    const s = new ResumePointSaver(inner, { resumeBefore: ['recall'] });
    await s.put(cfg('t'), checkpoint('c0', 'analysis', { context: 1 }), meta('input', -1), { context: 1 });
    await s.put(cfg('t', 'c0'), checkpoint('c1', 'recall', { context: 1, analysis: 2 }), meta('loop', 0), { analysis: 2, 'branch:to:recall': 99 });
    await s.put(cfg('t', 'c1'), checkpoint('c2', 'decision', { context: 1, analysis: 2, signal: 3 }), meta('loop', 1), { signal: 3 });
    expect(inner.puts).toEqual([{ id: 'c1', source: 'loop', versions: { context: 1, analysis: 2, 'branch:to:recall': 99 } }]);
    expect(s.counts).toEqual({ offered: 3, stored: 1, failed: 0 });
  });

  it('writes every channel of a resume point whose previous checkpoint it did not see (another process, or forgotten)', async () => {
    const inner = new RecordingSaver();
    const s = new ResumePointSaver(inner, { resumeBefore: ['recall'] });
    await s.put(cfg('t', 'elsewhere'), checkpoint('c1', 'recall', { context: 1, analysis: 2 }), meta('loop', 0), { analysis: 2 });
    expect(inner.puts[0]?.versions).toEqual({ context: 1, analysis: 2, 'branch:to:recall': 99 });
  });

  it('a resume point that cannot be written is reported and skipped; its changes go with the next stored one', async () => {
    const inner = new RecordingSaver();
    const errors: string[] = [];
    const s = new ResumePointSaver(inner, { resumeBefore: ['recall', 'signal'], onError: (e) => errors.push(e.message) });
    inner.failPuts = true;
    await s.put(cfg('t'), checkpoint('c0', 'analysis', { context: 1 }), meta('input', -1), { context: 1 });
    const skipped = await s.put(cfg('t', 'c0'), checkpoint('c1', 'recall', { context: 1, analysis: 2 }), meta('loop', 0), { analysis: 2 });
    expect(skipped.configurable?.['checkpoint_id']).toBe('c1');
    expect(errors).toEqual(['connection terminated unexpectedly']);
    inner.failPuts = false;
    await s.put(cfg('t', 'c1'), checkpoint('c2', 'signal', { context: 1, analysis: 2, recall: 3 }), meta('loop', 1), { recall: 3 });
    expect(inner.puts).toEqual([{ id: 'c2', source: 'loop', versions: { context: 1, analysis: 2, recall: 3 } }]);
    expect(s.counts).toEqual({ offered: 3, stored: 1, failed: 1 });
  });

  it('leaves the notStored channels out of a resume point, and keeps them in a fork', async () => {
    const inner = new RecordingSaver();
    const s = new ResumePointSaver(inner, { resumeBefore: ['recall'], notStored: ['context'] });
    await s.put(cfg('t'), checkpoint('c0', 'analysis', { context: 1 }), meta('input', -1), { context: 1 });
    await s.put(cfg('t', 'c0'), checkpoint('c1', 'recall', { context: 1, analysis: 2 }), meta('loop', 0), { analysis: 2 });
    await s.put(cfg('t', 'c1'), checkpoint('c2', 'recall', { context: 3, analysis: 2 }), meta('update', 1), { context: 3 });
    expect(inner.puts).toEqual([
      { id: 'c1', source: 'loop', versions: { analysis: 2 } },
      { id: 'c2', source: 'update', versions: { context: 3 } },
    ]);
  });

  it('a fork (updateState) that cannot be written fails: the run would start from it', async () => {
    const inner = new RecordingSaver();
    const s = new ResumePointSaver(inner, { resumeBefore: ['recall'] });
    inner.failPuts = true;
    await expect(s.put(cfg('t', 'c1'), checkpoint('c9', 'decision', { context: 5 }), meta('update', 3), { context: 5 })).rejects.toThrow('connection terminated unexpectedly');
  });
});

describe('GraphRunner reads', () => {
  it('a run on a thread just probed empty does not ask the store for its latest checkpoint; one on a thread with checkpoints does', async () => {
    const [ctx] = (await orderContexts(1)) as [DecisionContext];
    const saver = new RecordingSaver();
    const g = new GraphRunner(backtestDeps(new SimulatedClock(ctx.subject.asOf)), { checkpointer: saver, checkpointRuns: true });
    await g.decide(ctx);
    expect(saver.tupleReads).toBe(0);
    // the thread now holds the run's resume point: the next attempt reads it
    const r = await g.decide(ctx);
    expect(r.resumedAfter).not.toBeNull();
    expect(saver.tupleReads).toBeGreaterThan(0);
  }, 120_000);
});

/** A RecordingSaver that probes threads itself (as LeanPostgresSaver does) and counts the probes; each can be held back or failed. */
class ProbingSaver extends RecordingSaver {
  probes: string[] = [];
  failProbes = false;
  hasThread(threadId: string): Promise<boolean> {
    this.probes.push(threadId);
    if (this.failProbes) return Promise.reject(new Error('probe: connection reset'));
    return Promise.resolve(this.storage[threadId] !== undefined && Object.keys(this.storage[threadId]).length > 0);
  }
}

describe('GraphRunner.expect', () => {
  let ctx: DecisionContext;
  beforeAll(async () => {
    [ctx] = (await orderContexts(1)) as [DecisionContext];
  }, 120_000);
  const runner = (saver: ProbingSaver, errors: string[] = [], checkpointRuns = true) =>
    new GraphRunner(backtestDeps(new SimulatedClock(ctx.subject.asOf)), { checkpointer: saver, checkpointRuns, onCheckpointError: (e, what) => errors.push(`${what}: ${e.message}`) });
  const unchecked = async () => (await new GraphRunner(backtestDeps(new SimulatedClock(ctx.subject.asOf))).decide(ctx)).trace;

  it("starts the bar's thread probe at once, and the run uses it instead of probing again — fresh and resumed", async () => {
    const saver = new ProbingSaver();
    const g = runner(saver);
    g.expect(ctx);
    expect(saver.probes).toEqual([g.threadIdOf(ctx)]);
    const fresh = await g.decide(ctx);
    expect(saver.probes).toHaveLength(1);
    expect(fresh.resumedAfter).toBeNull();
    expect(comparableTrace(fresh.trace)).toEqual(comparableTrace(await unchecked()));
    // the thread keeps the run's resume point (not settled): an announced retry finds it and resumes
    g.expect(ctx);
    const again = await g.decide(ctx);
    expect(saver.probes).toHaveLength(2);
    expect(again.resumedAfter).not.toBeNull();
    // a run that was not announced probes when it starts
    await g.decide(ctx);
    expect(saver.probes).toHaveLength(3);
  });

  it('a probe that fails is a failed read: the run goes on from the start without checkpoints, and it is reported', async () => {
    const saver = new ProbingSaver();
    saver.failProbes = true;
    const errors: string[] = [];
    const g = runner(saver, errors);
    g.expect(ctx);
    const r = await g.decide(ctx);
    expect(r.resumedAfter).toBeNull();
    expect(comparableTrace(r.trace)).toEqual(comparableTrace(await unchecked()));
    expect(errors).toEqual(['read: probe: connection reset']);
  });

  it('does nothing on a runner that does not checkpoint its runs', () => {
    const saver = new ProbingSaver();
    runner(saver, [], false).expect(ctx);
    expect(saver.probes).toEqual([]);
  });
});

describe('GraphRunner when the checkpointer fails', () => {
  let ctx: DecisionContext;
  beforeAll(async () => {
    [ctx] = (await orderContexts(1)) as [DecisionContext];
  }, 120_000);

  const runner = (saver: RecordingSaver, errors: string[]) => {
    const clock = new SimulatedClock(ctx.subject.asOf);
    return new GraphRunner(backtestDeps(clock), { checkpointer: saver, checkpointRuns: true, onCheckpointError: (e, what) => errors.push(`${what}: ${e.message}`) });
  };
  const unchecked = async () => (await new GraphRunner(backtestDeps(new SimulatedClock(ctx.subject.asOf))).decide(ctx)).trace;

  it('checkpoints that cannot be written: the decision is made all the same, and the failures are reported', async () => {
    const saver = new RecordingSaver();
    saver.failPuts = true;
    const errors: string[] = [];
    const g = runner(saver, errors);
    const r = await g.decide(ctx);
    expect(comparableTrace(r.trace)).toEqual(comparableTrace(await unchecked()));
    // the run's one resume point (after the signal agent)
    expect(errors).toEqual(['write: connection terminated unexpectedly']);
    expect(g.checkpointCounts).toMatchObject({ stored: 0, failed: 1 });
  });

  it('checkpoints that cannot be read: the decision runs from the start without them, and the failure is reported', async () => {
    const saver = new RecordingSaver();
    const errors: string[] = [];
    // a thread with checkpoints (so the history is read), then the store stops answering
    await runner(saver, errors).decide(ctx);
    saver.failReads = true;
    const g = runner(saver, errors);
    const r = await g.decide(ctx);
    expect(r.resumedAfter).toBeNull();
    expect(comparableTrace(r.trace)).toEqual(comparableTrace(await unchecked()));
    expect(errors).toEqual(['read: connection refused']);
  });
});
