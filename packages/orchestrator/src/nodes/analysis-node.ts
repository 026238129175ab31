import type { AnalysisInput } from '@meridian/agents';
import { AnalysisReportSchema, type AnalysisReport } from '@meridian/contracts';
import { required, syncOnly, type NodeDef } from './node-def.ts';

/** analysis: the analysis agent on the bar's window, indicators and features. */
export const analysisNode: NodeDef<AnalysisInput, AnalysisReport> = {
  node: 'analysis',
  schema: AnalysisReportSchema,
  input: (s) => {
    const c = s.context;
    return { subject: c.subject, window: c.window, indicators: c.indicators, featureVersion: c.featureVersion, features: c.features };
  },
  version: (d) => d.agents.analysis.version,
  // the window is up to hundreds of bars: the trace keeps its extent, the indicators are in the output
  summarise: (i) => {
    const first = i.window[0];
    const last = i.window[i.window.length - 1];
    return { bars: i.window.length, from: first ? first.ts : null, to: last ? last.ts : null, featureVersion: i.featureVersion };
  },
  run: (i, d, s) => d.agents.analysis.run(i, { decisionId: s.context.decisionId }),
  runSync: (i, d, s) => syncOnly(d.agents.analysis, 'analysis')(i, { decisionId: s.context.decisionId }),
  patch: (analysis) => ({ analysis }),
};

export const analysisOf = (s: { analysis: AnalysisReport | null }, node: 'recall' | 'signal'): AnalysisReport => required(s.analysis, 'an analysis report', node);
