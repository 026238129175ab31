import { BaseCallbackHandler } from '@langchain/core/callbacks/base';
import { RunnableLambda } from '@langchain/core/runnables';
import { AsyncLocalStorageProviderSingleton } from '@langchain/core/singletons';
import { Annotation, END, START, StateGraph, getConfig } from '@langchain/langgraph';
import { describe, expect, it } from 'vitest';
import { installLeanRunContext } from './lean-run-context.ts';

const store = () => AsyncLocalStorageProviderSingleton.getInstance().getStore() as object | undefined;

/** stands in for LangSmith's tracer: the original runWithConfig asks it for the run tree to enter */
class FakeTracer extends BaseCallbackHandler {
  name = 'langchain_tracer';
  readonly tree = { fromFakeTracer: true, extra: {} };
  getRunTreeWithTracingConfig(): object {
    return this.tree;
  }
}

describe('installLeanRunContext', () => {
  installLeanRunContext();
  installLeanRunContext(); // idempotent

  it('a graph node still finds its run config (getConfig), carried by a plain object instead of a langsmith RunTree', async () => {
    const seen: { tenant?: unknown; storeKind?: string } = {};
    const S = Annotation.Root({ n: Annotation<number>() });
    const g = new StateGraph(S)
      .addNode('step', (s: typeof S.State) => {
        seen.tenant = getConfig().configurable?.['tenant'];
        seen.storeKind = store()?.constructor.name;
        return { n: s.n + 1 };
      })
      .addEdge(START, 'step')
      .addEdge('step', END)
      .compile();
    const out = await g.invoke({ n: 1 }, { configurable: { tenant: 'desk-7' } });
    expect(out.n).toBe(2);
    expect(seen.tenant).toBe('desk-7');
    expect(seen.storeKind).toBe('Object');
  });

  it('a call traced by a LangSmith tracer goes through the original method (its run tree is entered)', async () => {
    const tracer = new FakeTracer();
    let inside: object | undefined;
    await RunnableLambda.from((x: number) => {
      inside = store();
      return x;
    }).invoke(1, { callbacks: [tracer] });
    expect(inside).toBe(tracer.tree);
  });

  it('without a tracer the same runnable enters the lean store, which carries its config', async () => {
    let inside: Record<symbol, unknown> & { extra?: Record<symbol, { metadata?: Record<string, unknown> }> } = {};
    await RunnableLambda.from((x: number) => {
      inside = store() as typeof inside;
      return x;
    }).invoke(1, { metadata: { desk: 'rates' } });
    expect(inside.constructor.name).toBe('Object');
    expect(inside.extra?.[Symbol.for('lc:child_config')]?.metadata?.['desk']).toBe('rates');
  });
});
