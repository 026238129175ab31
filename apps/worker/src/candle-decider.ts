import { SPOT_LONG_ONLY, type AnalysisSubject } from '@meridian/agents';
import { TIMEFRAME_MS, type Candle, type DecisionTrace, type TradingState } from '@meridian/contracts';
import { AppError, isAppError, uuidv7, type Clock, type Logger } from '@meridian/core';
import { GLOBAL_SCOPE, changeTradingState, latestRiskLimits, namedStatement, readCandles, readTradingState, upsertCandles, type Db } from '@meridian/db';
import { decisionInputsColumns, parseDecisionInputs, readDecisionInputs, type DecisionInputs, type DecisionInputsRow } from './decision-inputs.ts';
import { FEATURE_VERSION, type Bar } from '@meridian/market';
import type { MemoryStore } from '@meridian/memory';
import { closedBarMarket, type DecisionContext } from '@meridian/orchestrator';
import { assessTradingState, initialTradingState, type VersionedLimits } from '@meridian/risk';
import type { EventPhases } from './event-phases.ts';
import { splitSymbol, type MarketCatalog } from './market-catalog.ts';
import type { PortfolioView } from './portfolio-view.ts';
import { SeriesState, WARMUP_BARS, seriesName, type SeriesKey } from './series-state.ts';

/** The part of the orchestrator's runners (GraphRunner, FastRunner) the worker calls. */
export interface DecisionRunner {
  decide(context: DecisionContext): Promise<{ readonly trace: DecisionTrace; readonly inserted: boolean }>;
  /** after the transaction that stored these traces committed: drop what was kept to resume their runs (GraphRunner) */
  settle?(traces: readonly DecisionTrace[]): Promise<void>;
  /** the bar whose run comes next, said as soon as its series is locked (GraphRunner starts its checkpoint probe) */
  expect?(run: { readonly runScope: string; readonly subject: AnalysisSubject; readonly featureVersion: number }): void;
}

export interface CandleDeciderOptions {
  readonly db: Db;
  readonly runner: DecisionRunner;
  /** where situations and outcomes are written (the runner's recall reads the same store); null: memory off */
  readonly memory: MemoryStore | null;
  readonly horizonBars: number;
  readonly clock: Clock;
  readonly portfolio: PortfolioView;
  readonly markets: MarketCatalog;
  /** default 'live' */
  readonly runScope?: string;
  /** at most this many stored-but-undecided bars are decided before the event's bar (default 100) */
  readonly maxCatchUpBars?: number;
  readonly logger?: Logger;
  /**
   * Start the recall of a decision's context before its run asks for it (RecallPrefetch), once `after`
   * (the bar's outcome write) is done; returns what drops the answer if the run did not use it. Without
   * it the recall node queries when it runs.
   */
  readonly recallPrefetch?: (ctx: DecisionContext, after: Promise<unknown> | null) => () => void;
}

export type CandleOutcome =
  /** decided: the event's bar and any stored bars between it and the last decided one, in time order */
  | { readonly status: 'decided'; readonly traces: readonly DecisionTrace[] }
  /** the bar already has its decision (a redelivered event, or a catch-up by another worker) */
  | { readonly status: 'duplicate' }
  /** older than the series' last decision and never decided: stored, not decided (decisions run in time order) */
  | { readonly status: 'late' }
  /** not enough stored history for the indicators yet: stored, not decided */
  | { readonly status: 'warming'; readonly bars: number };

/** the portfolio's `ordersLastMinute` counts outbox rows created within this much wall-clock time */
const ORDER_RATE_WINDOW_MS = 60_000;

/** advisory-lock class for "one decider per series" (two-key form, so it cannot collide with single-key locks) */
const SERIES_LOCK_CLASS = 0x4d455249;

/** the series lock, taken first in the event's transaction (named statements: run on every event, see NamedStatement) */
const SERIES_LOCK = namedStatement('SELECT pg_advisory_xact_lock($1::int, hashtext($2))');

/**
 * The event's head statement (CandleDecider.#handle): the series' last decided bar, whether this bar is decided,
 * the undecided stored bars up to this one and the first decision's inputs. Parameters: $1 exchange, $2 symbol,
 * $3 timeframe, $4 run scope, $5 the bar's close time, $6 the warm-up span (ms), $7 the earliest bar a catch-up
 * decides, $8 the quote currency, $9 the start of the order-rate window, $10 the global scope.
 */
const HEAD = namedStatement(
  `WITH l AS (SELECT max(as_of) AS last FROM decision_traces WHERE exchange = $1 AND symbol = $2 AND timeframe = $3 AND run_scope = $4)
         SELECT l.last,
                EXISTS (SELECT 1 FROM decision_traces WHERE exchange = $1 AND symbol = $2 AND timeframe = $3 AND as_of = $5 AND run_scope = $4) AS had,
                (SELECT coalesce(json_agg(json_build_array(c.ts, c.o, c.h, c.l, c.c, c.v) ORDER BY c.ts), '[]'::json) FROM candles c
                  WHERE c.exchange = $1 AND c.symbol = $2 AND c.timeframe = $3 AND c.ts < $5
                    AND (l.last IS NULL OR $5 > l.last)
                    AND c.ts >= CASE WHEN l.last IS NULL
                                     THEN GREATEST((SELECT min(ts) FROM candles WHERE exchange = $1 AND symbol = $2 AND timeframe = $3) + $6::bigint, $7::bigint)
                                     ELSE GREATEST(l.last, $7::bigint) END) AS bars,
                ${decisionInputsColumns({ exchange: '$1', markSymbol: '$2', quote: '$8', ordersSince: '$9', scope: '$10' })}
           FROM l`,
);

/**
 * Handles one closed-candle event; everything after the candle upsert is ONE database transaction:
 * 1. (before the transaction, committed on its own) upsert the candle; then take the series'
 *    transaction-scoped advisory lock, so workers serialise per series and run series in parallel;
 * 2. compare with the series' last decided bar: already decided → `duplicate`; older → `late`.
 *    A series never decided starts at its first stored bar with a full warm-up window behind it
 *    (at most maxCatchUp bars back): a function of the stored candles, not of which event a worker
 *    happens to take first, so an overtaken first event is decided, not lost as `late`;
 * 3. bring this worker's SeriesState up to the bar before the first undecided one from stored
 *    candles (warm-up of WARMUP_BARS on first sight, or the bars other workers decided meanwhile);
 * 4. for each undecided stored bar up to the event's, in time order: update features and memory
 *    (store the situation, resolve the outcome h bars back), build the portfolio, assess the
 *    trading state against the loss limits (persisting any transition), and run the graph — whose
 *    recorder stores the trace, its outbox row and any pending approval inside this transaction.
 * A failure rolls everything back and drops the in-memory state of the series (rebuilt next time).
 */
export class CandleDecider {
  readonly #o: CandleDeciderOptions;
  readonly #states = new Map<string, SeriesState>();
  readonly #runScope: string;
  readonly #maxCatchUp: number;
  #limitsCache: VersionedLimits | undefined;

  constructor(o: CandleDeciderOptions) {
    this.#o = o;
    this.#runScope = o.runScope ?? 'live';
    this.#maxCatchUp = o.maxCatchUpBars ?? 100;
    if (!Number.isInteger(this.#maxCatchUp) || this.#maxCatchUp < 1) throw new AppError('VALIDATION', `maxCatchUpBars must be a whole number ≥ 1, got ${this.#maxCatchUp}`);
  }

  /** series this worker holds state for */
  get seriesCount(): number {
    return this.#states.size;
  }

  /** `phases`: told where the event's time goes (EventPhases), when given */
  async handle(candle: Candle, phases?: EventPhases): Promise<CandleOutcome> {
    const key: SeriesKey = { exchange: candle.exchange, symbol: candle.symbol, timeframe: candle.timeframe };
    const name = seriesName(key);
    phases?.start();
    try {
      // committed on its own, before the decision reads the series, so a worker deciding a later bar of the
      // series can already see it. On server Postgres it is sent on its own connection while the transaction
      // begins and takes the series lock, and awaited before the first read (#handle); PGlite has one
      // connection, so there it is stored first
      const stored = upsertCandles(this.#o.db, [candle]).then(() => undefined);
      if (this.#o.db.kind === 'postgres') stored.catch(() => undefined); // awaited in #handle
      else {
        await stored;
        phases?.mark('store');
      }
      const outcome = await this.#o.db.transaction((tx) => this.#handle(tx, key, name, candle, phases, stored));
      if (outcome.status === 'decided') await this.#settle(outcome.traces);
      phases?.mark('commit');
      return outcome;
    } catch (e) {
      this.#states.delete(name);
      throw e;
    }
  }

  /** The traces are committed: the runner may forget how to resume their runs. A failure here loses nothing: the checkpoints are only kept longer. */
  async #settle(traces: readonly DecisionTrace[]): Promise<void> {
    try {
      await this.#o.runner.settle?.(traces);
    } catch (e) {
      this.#o.logger?.warn({ err: (e as Error).message, decisions: traces.map((t) => t.decisionId) }, 'could not delete the checkpoints of committed decision runs');
    }
  }

  /** `stored`: the event's candle upsert, committed before the head statement reads the series */
  async #handle(tx: Db, key: SeriesKey, name: string, candle: Candle, phases: EventPhases | undefined, stored: Promise<void>): Promise<CandleOutcome> {
    const tf = TIMEFRAME_MS[key.timeframe];
    await tx.query(SERIES_LOCK, [SERIES_LOCK_CLASS, name]);
    phases?.mark('lock');
    await stored;
    phases?.mark('store');
    const close = candle.ts + tf;
    const { quote } = splitSymbol(key.symbol);
    // one round trip after the lock (it must come after it: the snapshot is taken per statement): the series'
    // last decided bar, whether this bar is decided, the stored bars from the first undecided one (`last` = the
    // close time of the last decided bar = the open time of the first undecided one) to this one, and the
    // inputs of the first decision (limits version, trading state, positions, fees, order count — what
    // readDecisionInputs reads; later decisions of a catch-up read them again, after this event's own writes)
    const head = (
      await tx.query<{ last: number | null; had: boolean; bars: [number, number, number, number, number, number][] } & DecisionInputsRow>(
        HEAD,
        [key.exchange, key.symbol, key.timeframe, this.#runScope, close, WARMUP_BARS * tf, candle.ts - (this.#maxCatchUp - 1) * tf, quote, this.#o.clock.now() - ORDER_RATE_WINDOW_MS, GLOBAL_SCOPE],
      )
    ).rows[0];
    const last = head?.last === null || head?.last === undefined ? null : Number(head.last);
    if (last !== null && close <= last) {
      phases?.mark('prepare');
      return head?.had ? { status: 'duplicate' } : { status: 'late' };
    }
    const bars: Bar[] = (head?.bars ?? []).map(([ts, open, high, low, c, volume]) => ({ ts: Number(ts), open, high, low, close: c, volume }));
    const first = bars[0]?.ts ?? candle.ts;
    const state = await this.#syncState(tx, key, name, first);
    if (bars.length === 0 && last === null) {
      // a never-decided series still inside its warm-up window: nothing is decided before the series'
      // start (see above), the bar only feeds the state
      state.feed({ ts: candle.ts, open: candle.open, high: candle.high, low: candle.low, close: candle.close, volume: candle.volume });
      phases?.mark('prepare');
      return { status: 'warming', bars: state.engine.bars };
    }

    const traces: DecisionTrace[] = [];
    let prefetched: DecisionInputs | null = head ? parseDecisionInputs(head) : null;
    for (const bar of bars) {
      const step = state.feed(bar);
      // a bar the indicators are still warming up for is not decided: no run, no probe
      if (step.features !== null) this.#o.runner.expect?.({ runScope: this.#runScope, subject: { ...key, asOf: bar.ts + tf }, featureVersion: FEATURE_VERSION });
      const memory = this.#o.memory;
      // the bar's memory writes are sent without waiting and awaited with its decision, so the database
      // works on them while this process builds the decision context and starts the run. The recall is
      // sent once the outcome this bar resolves is written (recallPrefetch waits for `resolved`), so it sees
      // it; the bar's own situation (unresolved: never recalled at its own bar) may be written after it
      const writes = memory !== null && step.memory !== null ? writeMemory(memory, step.memory) : null;
      // the next bar of a catch-up is decided only after this one's writes are done (#decide awaits them)
      if (step.features === null) {
        await writes?.written;
        continue;
      }
      traces.push(await this.#decide(tx, { state, bar, features: step.features, prefetched, phases, writes }));
      prefetched = null;
    }
    phases?.mark('prepare');
    if (traces.length === 0) return { status: 'warming', bars: state.engine.bars };
    return { status: 'decided', traces };
  }

  /** The series state, fed up to (not including) the bar opening at `first`. */
  async #syncState(tx: Db, key: SeriesKey, name: string, first: number): Promise<SeriesState> {
    let st = this.#states.get(name);
    const tf = TIMEFRAME_MS[key.timeframe];
    // ahead (a redelivered warming bar) or far behind: rebuilding from the warm-up window is simpler and cheaper
    if (st !== undefined && st.lastTs !== null && (st.lastTs >= first || first - st.lastTs > WARMUP_BARS * tf)) st = undefined;
    const since = st !== undefined && st.lastTs !== null ? st.lastTs + tf : first - WARMUP_BARS * tf;
    if (st === undefined) {
      st = new SeriesState(key, this.#o.memory === null ? null : this.#o.horizonBars);
      this.#states.set(name, st);
    }
    // bars decided by someone else (or history): they update the state only; their memory was written when they were decided
    if (since < first) for (const b of await readCandles(tx, { ...key, from: since, to: first })) st.feed(b);
    return st;
  }

  /**
   * A failed memory write of the bar is the error reported: the statements queued after it fail only
   * because the transaction is aborted.
   */
  async #decide(tx: Db, d: BarDecision): Promise<DecisionTrace> {
    try {
      return await this.#decideAfterWrites(tx, d);
    } catch (e) {
      await d.writes?.written;
      throw e;
    }
  }

  async #decideAfterWrites(tx: Db, { state, bar, features, prefetched, phases, writes }: BarDecision): Promise<DecisionTrace> {
    const { key } = state;
    const asOf = bar.ts + state.tf;
    const now = this.#o.clock.now();
    const { quote } = splitSymbol(key.symbol);
    // limits version, trading state and the portfolio's rows in one statement, read for every decision
    const inputs = prefetched ?? (await readDecisionInputs(tx, { exchange: key.exchange, quote, ordersSince: now - ORDER_RATE_WINDOW_MS, markSymbol: key.symbol }));
    const limits = await this.#limits(tx, inputs.limitsVersion);
    const portfolio = this.#o.portfolio.fromInputs({ exchange: key.exchange, quote, asOf, now, mark: { symbol: key.symbol, price: bar.close } }, inputs);
    const tradingState = await this.#assessTradingState(tx, portfolio, limits, now, inputs.tradingState ?? { state: initialTradingState(now), version: 0 });
    const subject = { ...key, asOf };
    const market = closedBarMarket(subject, bar, this.#o.markets.get(key.symbol, bar.close, this.#o.portfolio.capitalOf(quote)));
    const ctx: DecisionContext = {
      decisionId: uuidv7(now),
      runScope: this.#runScope,
      subject,
      window: state.window,
      indicators: state.engine.indicators,
      featureVersion: FEATURE_VERSION,
      features,
      portfolio,
      market,
      limits,
      tradingState,
      account: SPOT_LONG_ONLY,
    };
    phases?.mark('prepare');
    const release = this.#o.recallPrefetch?.(ctx, writes?.resolved ?? null);
    try {
      // both settled before anything is thrown: the transaction must not end (roll back) while the run
      // still uses it — a statement sent after that would not be part of it (the Db refuses it)
      const [w, run] = await Promise.allSettled([writes?.written, this.#o.runner.decide(ctx)]);
      if (w.status === 'rejected') throw w.reason;
      if (run.status === 'rejected') throw run.reason;
      phases?.mark('decide');
      return run.value.trace;
    } finally {
      release?.();
    }
  }

  /**
   * The limits of the newest version: the document is read again only when the version changed (versions
   * are append-only, so a version number names one document forever).
   */
  async #limits(tx: Db, version: number | null): Promise<VersionedLimits> {
    if (version !== null && this.#limitsCache?.version === version) return this.#limitsCache;
    const stored = version === null ? undefined : await latestRiskLimits(tx);
    if (!stored)
      throw new AppError('CONFIG', 'no risk limits are stored, so no decision can pass the risk gate', {
        hint: 'a risk officer sets them with `meridian risk set <limits.json>`',
      });
    this.#limitsCache = { version: stored.version, limits: stored.limits };
    return this.#limitsCache;
  }

  /** The loss limits' verdict on the trading state now; transitions are stored (with their audit entries) in this transaction. */
  async #assessTradingState(
    tx: Db,
    portfolio: DecisionContext['portfolio'],
    limits: VersionedLimits,
    now: number,
    current: { readonly state: TradingState; readonly version: number },
  ): Promise<TradingState> {
    const a = assessTradingState(portfolio, limits.limits, current.state, now);
    let version = current.version;
    for (const t of a.transitions) {
      try {
        const r = await changeTradingState(tx, { kind: t.kind, to: t.to, actor: t.actor, reason: t.reason, at: t.at, until: t.until, expectedVersion: version });
        version = r.state.version;
        this.#o.logger?.warn({ from: t.from, to: t.to, kind: t.kind, reason: t.reason }, 'trading state changed by the loss limits');
      } catch (e) {
        // someone changed the state meanwhile (an officer, another worker): decide on what is stored now
        if (!isAppError(e) || e.code !== 'CONFLICT') throw e;
        return (await readTradingState(tx, initialTradingState(now))).state;
      }
    }
    return a.state;
  }
}

/** One bar to decide in an event's transaction. */
interface BarDecision {
  readonly state: SeriesState;
  readonly bar: Bar;
  readonly features: Float64Array;
  /** the inputs read by this event's first statement (its first decision), else null: read them now */
  readonly prefetched: DecisionInputs | null;
  readonly phases: EventPhases | undefined;
  /** the bar's memory writes, sent before this decision and awaited with it (null: memory off) */
  readonly writes: MemoryWrites | null;
}

interface MemoryWrites {
  /** the outcome this bar resolves is written (the bar's recall must see it) */
  readonly resolved: Promise<void>;
  /** both writes are done */
  readonly written: Promise<void>;
}

/**
 * A bar's memory writes, started now, in order: the outcome it resolves, then its own situation. Their
 * errors are reported where they are awaited (#decide); until then they do not count as unhandled.
 */
function writeMemory(memory: MemoryStore, m: NonNullable<ReturnType<SeriesState['feed']>['memory']>): MemoryWrites {
  const resolved = m.outcome === null ? Promise.resolve() : memory.resolve([m.outcome]).then(() => undefined);
  const written = resolved.then(async () => {
    if (m.situation !== null) await memory.store([m.situation]);
  });
  resolved.catch(() => undefined);
  written.catch(() => undefined);
  return { resolved, written };
}
