import type { Candle } from '@meridian/contracts';
import { isAppError, toIso, type Logger } from '@meridian/core';
import { candleClosedJob, FinalJobError, type JobConsumer, type JobQueue } from '@meridian/queue';
import type { CandleDecider, CandleOutcome } from './candle-decider.ts';
import { EventPhases } from './event-phases.ts';

export interface WorkerServiceOptions {
  readonly queue: JobQueue;
  readonly decider: CandleDecider;
  readonly logger: Logger;
  /** candle events handled at once by this process (different series run in parallel; one series is serialised by its lock) */
  readonly concurrency?: number;
  /** called after every handled event (tests, benchmarks, metrics): its wall time in ms, and where it went */
  readonly onHandled?: (candle: Candle, outcome: CandleOutcome, ms: number, phases: EventPhases) => void;
  /** periodic housekeeping (expiring overdue approvals); errors are logged */
  readonly housekeeping?: { readonly everyMs: number; readonly run: () => Promise<void> };
}

/**
 * The worker loop: consumes `candleClosed` jobs from the queue (BullMQ in services mode, the
 * in-process queue in embedded mode) and hands each to the CandleDecider. Errors the next attempt
 * cannot fix (bad configuration, invalid data) fail the job at once; anything else (database or
 * Redis hiccups) is retried by the queue with backoff — safe, because a decided bar is never
 * decided twice. `stop()` stops taking jobs and waits for the running ones to finish.
 */
export class WorkerService {
  readonly #o: WorkerServiceOptions;
  #consumer: JobConsumer | undefined;
  #timer: NodeJS.Timeout | undefined;
  #housekeeping: Promise<void> | undefined;
  #failed = 0;

  constructor(o: WorkerServiceOptions) {
    this.#o = o;
  }

  /** events that failed for good (every attempt used, or not retryable) since start */
  get failedEvents(): number {
    return this.#failed;
  }

  start(): void {
    if (this.#consumer) return;
    const { logger } = this.#o;
    this.#consumer = this.#o.queue.process(candleClosedJob, (c) => this.#handle(c), {
      concurrency: this.#o.concurrency ?? 2,
      onInvalidPayload: (jobId, _raw, error) => logger.error({ jobId }, `candle event is invalid, dropped: ${error}`),
      onFailed: (jobId, e, final) => {
        if (final) this.#failed++;
        logger.error({ jobId, err: e.message, final }, 'candle event failed');
      },
    });
    const hk = this.#o.housekeeping;
    if (hk) {
      this.#timer = setInterval(() => {
        if (this.#housekeeping) return;
        this.#housekeeping = hk
          .run()
          .catch((e: unknown) => logger.warn({ err: (e as Error).message }, 'housekeeping failed'))
          .finally(() => (this.#housekeeping = undefined));
      }, hk.everyMs);
      this.#timer.unref();
    }
  }

  async #handle(candle: Candle): Promise<void> {
    const t0 = performance.now();
    const phases = new EventPhases();
    let outcome: CandleOutcome;
    try {
      outcome = await this.#o.decider.handle(candle, phases);
    } catch (e) {
      if (isAppError(e) && !e.retryable && e.code !== 'CONFLICT' && e.code !== 'INTERNAL') throw new FinalJobError(e.toUserMessage());
      throw e;
    }
    const ms = performance.now() - t0;
    const at = { symbol: candle.symbol, timeframe: candle.timeframe, close: toIso(candle.ts) };
    switch (outcome.status) {
      case 'decided':
        for (const t of outcome.traces) this.#o.logger.info({ ...at, asOf: toIso(t.asOf), outcome: t.outcome, decisionId: t.decisionId, ms: Math.round(ms * 10) / 10, phases }, 'decided');
        break;
      case 'duplicate':
        this.#o.logger.debug(at, 'candle already decided (redelivered); nothing to do');
        break;
      case 'late':
        this.#o.logger.warn(at, 'candle arrived after a later one was decided: stored, not decided');
        break;
      case 'warming':
        this.#o.logger.info({ ...at, bars: outcome.bars }, 'not enough history for the indicators yet: stored, not decided');
        break;
    }
    this.#o.onHandled?.(candle, outcome, ms, phases);
  }

  /** Stop taking jobs; resolves when the running ones have finished. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#consumer?.close();
    this.#consumer = undefined;
    await this.#housekeeping;
  }
}
