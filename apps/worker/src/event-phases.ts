/** The phases of a handled candle event, in the order they run. */
export const EVENT_PHASES = ['store', 'lock', 'prepare', 'decide', 'commit'] as const;
export type EventPhase = (typeof EVENT_PHASES)[number];

/**
 * Where a candle event's time went, in milliseconds of wall time (performance.now), for the worker's
 * log line and the benchmark's latency breakdown:
 * - `store`: upserting the candle (its own statement, committed before the decision reads the series) —
 *   on server Postgres it runs beside BEGIN and the lock, and `store` is only the wait after the lock;
 * - `lock`: BEGIN and the wait for the series lock (another worker deciding the same series waits here);
 * - `prepare`: the head statement, the series state, features, memory writes and decision inputs — for
 *   every bar the event decides;
 * - `decide`: the runner's decide calls (the nodes, the memory recall, the run checkpoint, the trace insert);
 * - `commit`: COMMIT, then forgetting the committed runs' checkpoints.
 * An event that decides nothing (a duplicate, a late or warming bar) has zero `decide`. A phase an event
 * did not reach (it failed) stays zero. Wall time: a phase that waited for a core includes the wait.
 */
export class EventPhases {
  store = 0;
  lock = 0;
  prepare = 0;
  decide = 0;
  commit = 0;
  #t = performance.now();

  /** start timing now (the phase marked next begins here) */
  start(): void {
    this.#t = performance.now();
  }

  /** the time since the previous mark (or start) belongs to `phase` (added: a catch-up prepares and decides several bars) */
  mark(phase: EventPhase): void {
    const t = performance.now();
    this[phase] += t - this.#t;
    this.#t = t;
  }

  /** the phases in ms, rounded to 0.01 ms, for a log line */
  toJSON(): Record<EventPhase, number> {
    const r = (x: number) => Math.round(x * 100) / 100;
    return { store: r(this.store), lock: r(this.lock), prepare: r(this.prepare), decide: r(this.decide), commit: r(this.commit) };
  }
}
