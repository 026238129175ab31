import type { AnalysisReport, SignalProposal, TradeDecision } from '@meridian/contracts';
import { deterministicPolicy } from './agent-policy.ts';
import { ANALYSIS_AGENT_VERSION, analyse } from './analysis-agent.ts';
import type { AnalysisInput } from './analysis-input.ts';
import { DECISION_AGENT_VERSION, decide, type DecisionInput } from './decision-agent.ts';
import { SIGNAL_AGENT_VERSION, proposeSignal, type SignalInput } from './signal-agent.ts';

/** The three deterministic policies. `runSync` is the allocation-light path the fast runner uses. */
export const analysisPolicy = deterministicPolicy<AnalysisInput, AnalysisReport>(ANALYSIS_AGENT_VERSION, (input) => analyse(input));
export const signalPolicy = deterministicPolicy<SignalInput, SignalProposal>(SIGNAL_AGENT_VERSION, (input) => proposeSignal(input));
export const decisionPolicy = deterministicPolicy<DecisionInput, TradeDecision>(DECISION_AGENT_VERSION, (input, ctx) => decide(input, ctx.decisionId));
