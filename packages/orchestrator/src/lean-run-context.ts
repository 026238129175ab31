import { AsyncLocalStorageProviderSingleton } from '@langchain/core/singletons';
import { getEnvironmentVariable } from '@langchain/core/utils/env';

/** the keys @langchain/core keeps a runnable's config and context variables under (global symbols) */
const LC_CHILD_KEY = Symbol.for('lc:child_config');
const CONTEXT_VARIABLES_KEY = Symbol.for('lc:context_variables');
const INSTALLED = Symbol.for('meridian:lean-run-context');

/** the variables @langchain/core's isTracingEnabled() reads, read the way it reads them (LangChain's own settings, not Meridian's config) */
const TRACING_ENV = ['LANGSMITH_TRACING_V2', 'LANGCHAIN_TRACING_V2', 'LANGSMITH_TRACING', 'LANGCHAIN_TRACING'];

type RunWithConfig = typeof AsyncLocalStorageProviderSingleton.runWithConfig;
type Store = Record<symbol, unknown> & { extra?: Record<symbol, unknown> };

type Handlers = { name?: string }[];

/** callbacks as a RunnableConfig carries them: a list of handlers, or a callback manager with its handlers */
function hasTracer(callbacks: unknown): boolean {
  if (callbacks === undefined || callbacks === null) return false;
  const list = (Array.isArray(callbacks) ? callbacks : ((callbacks as { handlers?: Handlers }).handlers ?? [])) as Handlers;
  return list.some((h) => h?.name === 'langchain_tracer');
}

/** the configurable key that puts a run (and every call inside it) on the lean run context */
export const LEAN_RUN_CONTEXT = 'meridian_lean_run_context';

/** `config` with the key that puts its run on the lean run context (see installLeanRunContext) */
export function onLeanRunContext<C extends { configurable?: Record<string, unknown> }>(config?: C): C & { configurable: Record<string, unknown> } {
  return { ...(config as C), configurable: { ...config?.configurable, [LEAN_RUN_CONTEXT]: true } };
}

/**
 * LangGraph enters LangChain's AsyncLocalStorage around every node, writer and router it calls
 * (`AsyncLocalStorageProviderSingleton.runWithConfig`), so that `getConfig()` and `interrupt()` find
 * the run's config. When no LangSmith tracer is configured, @langchain/core builds a full langsmith
 * `RunTree` for each of those calls only to carry that config: a uuid7, a dotted-order timestamp,
 * the env read for the endpoint, API key and project, ~40 property definitions — about 60 µs each, a
 * dozen times per decision run.
 *
 * For the runs that ask for it — their config's configurable carries LEAN_RUN_CONTEXT (onLeanRunContext;
 * LangGraph passes configurable on to every call inside the run) — this replaces that untraced RunTree
 * with a plain object that carries the same two things the store is read for: the config
 * (`extra[lc:child_config]`, what getConfig(), interrupt() and LangGraph's nested configs read) and the
 * context variables. The GraphRunner's decision graph asks for it; every other run in the process
 * (the approval graph, an LLM policy's chains) is untouched. Traced runs are unchanged too: with
 * LangSmith tracing switched on in the environment (LANGSMITH_TRACING and the like, read once when
 * installed) it is not installed, and a call whose callbacks carry a LangSmith tracer goes to the
 * original method.
 *
 * One thing differs inside a lean run: @langchain/core's `setContextVariable` keeps the store only when it
 * is a RunTree, so calling it inside a lean run drops the run config from the store (getConfig() then
 * fails in that call). The decision nodes do not call it; a node that needs context variables must run
 * without LEAN_RUN_CONTEXT.
 *
 * Installed once per process (idempotent), by the GraphRunner.
 */
export function installLeanRunContext(): void {
  const provider = AsyncLocalStorageProviderSingleton as typeof AsyncLocalStorageProviderSingleton & { [INSTALLED]?: true };
  if (provider[INSTALLED]) return;
  const original: RunWithConfig = provider.runWithConfig.bind(provider);
  // tracing switched on by the environment: every call may get a tracer, keep the original throughout
  if (TRACING_ENV.some((name) => getEnvironmentVariable(name) === 'true')) return;
  const lean: RunWithConfig = (config, callback, avoidCreatingRootRunTree) => {
    if (config?.configurable?.[LEAN_RUN_CONTEXT] !== true || hasTracer(config.callbacks)) return original(config, callback, avoidCreatingRootRunTree);
    const storage = provider.getInstance();
    const previous = storage.getStore() as Store | undefined;
    let store: Store | undefined = avoidCreatingRootRunTree === true ? undefined : { extra: { [LC_CHILD_KEY]: config } };
    if (previous?.[CONTEXT_VARIABLES_KEY] !== undefined) (store ??= {})[CONTEXT_VARIABLES_KEY] = previous[CONTEXT_VARIABLES_KEY];
    return storage.run(store, callback);
  };
  provider.runWithConfig = lean;
  provider[INSTALLED] = true;
}
