import { analysisNode } from './analysis-node.ts';
import { decisionNode } from './decision-node.ts';
import type { NodeDef } from './node-def.ts';
import { recallNode } from './recall-node.ts';
import { riskNode } from './risk-node.ts';
import { signalNode } from './signal-node.ts';

/** Any node, as the runners loop over them: each node's input only ever meets its own functions. */
export type AnyNodeDef = NodeDef<unknown, unknown>;
const erase = <I, O>(d: NodeDef<I, O>): AnyNodeDef => d as unknown as AnyNodeDef;

/** The decision nodes in the order both runners run them (contracts GRAPH_NODES). */
export const DECISION_NODES: readonly AnyNodeDef[] = [erase(analysisNode), erase(recallNode), erase(signalNode), erase(decisionNode), erase(riskNode)];

export { analysisNode, recallNode, signalNode, decisionNode, riskNode, erase };
