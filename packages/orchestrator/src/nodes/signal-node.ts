import type { SignalInput } from '@meridian/agents';
import { SignalProposalSchema, type SignalProposal } from '@meridian/contracts';
import { analysisOf } from './analysis-node.ts';
import { syncOnly, type NodeDef } from './node-def.ts';

/** signal: the signal agent on the analysis and the recall (null with memory off). */
export const signalNode: NodeDef<SignalInput, SignalProposal> = {
  node: 'signal',
  schema: SignalProposalSchema,
  input: (s) => ({ analysis: analysisOf(s, 'signal'), recall: s.recall }),
  version: (d) => d.agents.signal.version,
  // both inputs are earlier nodes' outputs, already in the trace
  summarise: (i) => ({ analysis: 'analysis.output', recall: i.recall === null ? null : 'recall.output' }),
  run: (i, d, s) => d.agents.signal.run(i, { decisionId: s.context.decisionId }),
  runSync: (i, d, s) => syncOnly(d.agents.signal, 'signal')(i, { decisionId: s.context.decisionId }),
  patch: (signal) => ({ signal }),
};
