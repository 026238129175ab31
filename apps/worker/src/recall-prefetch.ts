import type { MemoryRecall } from '@meridian/contracts';
import type { MemoryRecaller, MemoryRecallOptions } from '@meridian/orchestrator';

interface Pending {
  readonly vector: readonly number[];
  readonly options: MemoryRecallOptions;
  readonly result: Promise<MemoryRecall>;
  /** what the recall of this bar must come after (its memory writes) */
  readonly after: Promise<unknown>;
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
 * the same connection (the event's transaction) — sent once the bar's outcome write is done, so it sees
 * that outcome. The recall node gets its result only when it asks for exactly the prefetched request
 * (every option and every number of the vector, compared with Object.is). Anything else — another vector
 * (sent after the same write), a run that resumed after its recall, a bar that failed before it — goes to
 * the store, and `release` drops the unused answer. An error of a prefetched query (or of the write it
 * waits for) is the recall node's error when it asks, and never an unhandled rejection when it does not.
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

  /**
   * Start the recall of `vector` once `after` is done (the bar's outcome write: the recall must see it;
   * if it fails, no recall is sent and the recall node gets its error); returns a function that drops the
   * answer if it was not used. A recall of the same bar that asks for something else also waits for `after`.
   */
  prefetch(vector: ArrayLike<number>, options: MemoryRecallOptions, after: Promise<unknown> | null = null): () => void {
    const key = keyOf(options);
    const copy = Array.from(vector);
    const opts = { ...options };
    const before = after ?? Promise.resolve();
    const result = before.then(() => this.#store.recall(copy, opts));
    result.catch(() => undefined); // reported to the recall node that asks for it, if one does
    const entry: Pending = { vector: copy, options: opts, result, after: before };
    this.#pending.set(key, entry);
    return () => {
      if (this.#pending.get(key) === entry) this.#pending.delete(key);
    };
  }

  recall(vector: ArrayLike<number>, options: MemoryRecallOptions): Promise<MemoryRecall> {
    const key = keyOf(options);
    const p = this.#pending.get(key);
    if (p === undefined) {
      this.counts.misses++;
      return this.#store.recall(vector, options);
    }
    this.#pending.delete(key);
    if (sameRequest(p, vector, options)) {
      this.counts.hits++;
      return p.result;
    }
    this.counts.misses++;
    return p.after.then(() => this.#store.recall(vector, options));
  }

  /** prefetched answers not asked for yet (0 between events) */
  get pending(): number {
    return this.#pending.size;
  }
}
