import { MemoryRecallSchema, type MemoryRecall } from '@meridian/contracts';
import { AppError } from '@meridian/core';
import type { MemoryRecaller, MemoryRecallOptions, OrchestratorDeps } from '../orchestrator-deps.ts';
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
export const recallNode: NodeDef<RecallInput, MemoryRecall> = {
  node: 'recall',
  schema: MemoryRecallSchema,
  input: (s, d) => {
    if (d.memory === null) return null;
    const a = analysisOf(s, 'recall');
    const options: MemoryRecallOptions = {
      asOf: a.asOf,
      k: d.memory.k,
      scope: d.memory.scope,
      exchange: a.exchange,
      symbol: a.symbol,
      timeframe: a.timeframe,
      featureVersion: a.featureVersion,
      ...(d.memory.horizonBars === undefined ? {} : { horizonBars: d.memory.horizonBars }),
    };
    return { vector: a.features, options };
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
