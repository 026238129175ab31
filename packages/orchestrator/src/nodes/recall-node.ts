import { MemoryRecallSchema, type MemoryRecall } from '@meridian/contracts';
import { AppError } from '@meridian/core';
import type { MemoryRecaller, MemoryRecallOptions, MemorySettings, OrchestratorDeps } from '../orchestrator-deps.ts';
import { analysisOf } from './analysis-node.ts';
import type { NodeDef } from './node-def.ts';

export const RECALL_NODE_VERSION = 'recall@1.0.0';

interface RecallInput {
  readonly vector: ArrayLike<number>;
  readonly options: MemoryRecallOptions;
}

/**
 * recall: the k nearest resolved situations as of the bar's close (the store enforces
 * resolvedAt ≤ asOf). With memory off it does not run: no record, `recall` stays null and the
 * signal agent is told there is no memory — an empty MemoryRecall would read as "memory found
 * nothing", which is a different statement.
 */
/**
 * What the recall node asks the memory for, for a bar (its subject and feature version) under the
 * memory settings — also what a caller that starts a bar's recall early must ask (the worker's
 * RecallPrefetch), so the two requests are the same.
 */
export function recallOptions(
  bar: { readonly asOf: number; readonly exchange: string; readonly symbol: string; readonly timeframe: MemoryRecallOptions['timeframe']; readonly featureVersion: number },
  m: Pick<MemorySettings, 'k' | 'scope' | 'horizonBars'>,
): MemoryRecallOptions {
  return {
    asOf: bar.asOf,
    k: m.k,
    scope: m.scope,
    exchange: bar.exchange,
    symbol: bar.symbol,
    timeframe: bar.timeframe,
    featureVersion: bar.featureVersion,
    ...(m.horizonBars === undefined ? {} : { horizonBars: m.horizonBars }),
  };
}

export const recallNode: NodeDef<RecallInput, MemoryRecall> = {
  node: 'recall',
  schema: MemoryRecallSchema,
  input: (s, d) => {
    if (d.memory === null) return null;
    const a = analysisOf(s, 'recall');
    return { vector: a.features, options: recallOptions(a, d.memory) };
  },
  version: () => RECALL_NODE_VERSION,
  summarise: (i) => ({ features: 'analysis.output.features', ...i.options }),
  run: (i, d) => memoryOf(d).recall(i.vector, i.options),
  runSync: (i, d) => {
    const m = memoryOf(d);
    if (!m.recallSync) throw new AppError('CONFIG', 'the memory store has no synchronous recall, so the fast runner cannot use decideSync with memory on', { hint: 'call fastRunner.decide (async) instead' });
    return m.recallSync(i.vector, i.options);
  },
  patch: (recall) => ({ recall }),
};

function memoryOf(d: OrchestratorDeps): MemoryRecaller {
  if (d.memory === null) throw new AppError('INTERNAL', 'the recall node ran with memory off');
  return d.memory.recaller;
}
