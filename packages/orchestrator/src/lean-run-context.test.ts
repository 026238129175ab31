import { BaseCallbackHandler } from '@langchain/core/callbacks/base';
import { getContextVariable, setContextVariable } from '@langchain/core/context';
import { RunnableLambda, type RunnableConfig } from '@langchain/core/runnables';
import { AsyncLocalStorageProviderSingleton } from '@langchain/core/singletons';
import { Annotation, END, START, StateGraph, getConfig } from '@langchain/langgraph';
import { describe, expect, it, vi } from 'vitest';
import { installLeanRunContext, onLeanRunContext } from './lean-run-context.ts';

const store = () => AsyncLocalStorageProviderSingleton.getInstance().getStore() as object | undefined;

/** stands in for LangSmith's tracer: the original runWithConfig asks it for the run tree to enter */
class FakeTracer extends BaseCallbackHandler {
  name = 'langchain_tracer';
  readonly tree = { fromFakeTracer: true, extra: {} };
  getRunTreeWithTracingConfig(): object {
    return this.tree;
  }
}

/** a one-node graph whose node reports what it sees of the run context */
function probeGraph(body: () => void = () => undefined) {
  const seen: { tenant?: unknown; storeKind?: string; desk?: unknown } = {};
  const S = Annotation.Root({ n: Annotation<number>() });
  const graph = new StateGraph(S)
    .addNode('step', (s: typeof S.State) => {
      body();
      seen.tenant = getConfig().configurable?.['tenant'];
      seen.storeKind = store()?.constructor.name;
      seen.desk = getContextVariable('desk');
      return { n: s.n + 1 };
    })
    .addEdge(START, 'step')
    .addEdge('step', END)
    .compile();
  return { graph, seen };
}

describe('installLeanRunContext', () => {
  // LangSmith tracing switched on in the environment would leave it uninstalled (as designed)
  for (const name of ['LANGSMITH_TRACING_V2', 'LANGCHAIN_TRACING_V2', 'LANGSMITH_TRACING', 'LANGCHAIN_TRACING']) vi.stubEnv(name, '');
  installLeanRunContext();
  installLeanRunContext(); // idempotent

  it('a run on the lean context: its node finds its config (getConfig) in a plain object, not a langsmith RunTree', async () => {
    const { graph, seen } = probeGraph();
    const out = await graph.invoke({ n: 1 }, onLeanRunContext({ configurable: { tenant: 'desk-7' } }));
    expect(out.n).toBe(2);
    expect(seen.tenant).toBe('desk-7');
    expect(seen.storeKind).toBe('Object');
  });

  it('context variables set around a lean run reach its nodes', async () => {
    const { graph, seen } = probeGraph();
    await RunnableLambda.from(async () => {
      setContextVariable('desk', 'rates');
      return graph.invoke({ n: 1 }, onLeanRunContext({ configurable: { tenant: 'desk-7' } }));
    }).invoke(null);
    expect(seen.desk).toBe('rates');
    expect(seen.storeKind).toBe('Object');
  });

  it('a run that does not ask for it keeps the original run context — setContextVariable inside a node keeps the config there', async () => {
    const { graph, seen } = probeGraph(() => setContextVariable('desk', 'fx'));
    await graph.invoke({ n: 1 }, { configurable: { tenant: 'desk-9' } });
    expect(seen.storeKind).toBe('RunTree');
    expect(seen.tenant).toBe('desk-9');
    expect(seen.desk).toBe('fx');
  });

  it('a call traced by a LangSmith tracer goes through the original method (its run tree is entered), lean context or not', async () => {
    const tracer = new FakeTracer();
    let inside: object | undefined;
    await RunnableLambda.from((x: number) => {
      inside = store();
      return x;
    }).invoke(1, onLeanRunContext<RunnableConfig>({ callbacks: [tracer] }));
    expect(inside).toBe(tracer.tree);
  });
});
