import { SimulatedClock } from '@meridian/core';
import { describe } from 'vitest';
import { memoryCheckpointer } from './checkpointer.ts';
import { InMemoryDecisionRecorder } from './decision-recorder.ts';
import { runCheckpointSpec } from './test/run-checkpoint-spec.ts';

describe('checkpointed decision runs on a MemorySaver (embedded mode)', () => {
  const saver = memoryCheckpointer();
  runCheckpointSpec({ openSaver: () => Promise.resolve(saver), recorder: () => new InMemoryDecisionRecorder(new SimulatedClock(0)) });
});
