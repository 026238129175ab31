import type { MemoryRecall } from '@meridian/contracts';
import type { MemoryRecaller, MemoryRecallOptions } from '@meridian/orchestrator';

interface Pending {
  readonly vector: readonly number[];
  readonly options: MemoryRecallOptions;
  readonly result: Promise<MemoryRecall>;
}

const OPTION_KEYS = ['asOf', 'k', 'scope', 'exchange', 'symbol', 'timeframe', 'featureVersion', 'horizonBars'] as const;

const keyOf = (o: MemoryRecallOptions): string => `${o.exchange}|${o.symbol}|${o.timeframe}|${o.asOf}`;

function sameRequest(p: Pending, vector: ArrayLike<number>, o: MemoryRecallOptions): boolean {
  for (const k of OPTION_KEYS) if (!Object.is(p.options[k], o[k])) return false;
  if (p.vector.length !== vector.length) return false;
  for (let i = 0; i < vector.length; i++) if (!Object.is(p.vector[i], vector[i])) return false;
  return true;
}

/**
 * A memory recaller that can start a bar's recall before the decision run asks for it, so the
 * database answers while the worker's CPU runs the graph's first steps (the analysis agent, LangGraph's
 * set-up) instead of after them. The query is the one the recall node would send — the same store,
 * the same connection (the event's transaction, where this bar's memory writes are queued before it) —
 * and the recall node gets its result only when it asks for exactly the prefetched request (every
 * option and every number of the vector, compared with Object.is). Anything else — another vector, a run
 * that resumed after its recall, a bar that failed before it — goes to the store as before, and
 * `release` drops the unused answer. An error of a prefetched query is the recall node's error when it
 * asks, and never an unhandled rejection when it does not.
 * Keyed by the bar (exchange, symbol, timeframe, asOf): events of different series run concurrently.
 */
export class RecallPrefetch implements MemoryRecaller {
  readonly #store: MemoryRecaller;
  readonly #pending = new Map<string, Pending>();
  /** recalls answered by a prefetch / sent to the store when asked (tests, diagnostics) */
  readonly counts = { hits: 0, misses: 0 };

  constructor(store: MemoryRecaller) {
    this.#store = store;
  }

  /** Start the recall of `vector` now; returns a function that drops its answer if it was not used. */
  prefetch(vector: ArrayLike<number>, options: MemoryRecallOptions): () => void {
    const key = keyOf(options);
    const result = this.#store.recall(vector, options);
    result.catch(() => undefined); // reported to the recall node that asks for it, if one does
    const entry: Pending = { vector: Array.from(vector), options: { ...options }, result };
    this.#pending.set(key, entry);
    return () => {
      if (this.#pending.get(key) === entry) this.#pending.delete(key);
    };
  }

  recall(vector: ArrayLike<number>, options: MemoryRecallOptions): Promise<MemoryRecall> {
    const key = keyOf(options);
    const p = this.#pending.get(key);
    if (p !== undefined) {
      this.#pending.delete(key);
      if (sameRequest(p, vector, options)) {
        this.counts.hits++;
        return p.result;
      }
    }
    this.counts.misses++;
    return this.#store.recall(vector, options);
  }

  /** prefetched answers not asked for yet (0 between events) */
  get pending(): number {
    return this.#pending.size;
  }
}
