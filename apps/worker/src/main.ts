/**
 * The worker process: `node --conditions=@meridian/source --import tsx apps/worker/src/main.ts [flags]`.
 * Consumes closed-candle events and runs the decision graph (docs/worker.md). Configuration from the
 * environment (packages/config): DATABASE_URL, REDIS_URL, MERIDIAN_QUEUE_PREFIX, MERIDIAN_RISK_SIGNING_KEY,
 * MERIDIAN_APPROVAL_TTL_MS, MERIDIAN_PENDING_APPROVAL_TTL_MS, MERIDIAN_LOG_LEVEL; flags in worker-flags.ts.
 * SIGTERM / SIGINT: stop taking jobs, finish the running one, close queue and database, exit 0.
 * A missing signing key, missing risk limits or a bad flag stop it at once with one line on stderr.
 */
import { loadConfig, requireSigningKey, type Config } from '@meridian/config';
import { createLogger, isAppError, toAppError, type Logger } from '@meridian/core';
import { latestRiskLimits, migrate, openDb, readCandles, type Db } from '@meridian/db';
import { replayCandles } from '@meridian/market';
import { BullMqQueue, InProcessQueue, candleClosedJob, type JobQueue } from '@meridian/queue';
import { openWorker, type WorkerSettings } from './open-worker.ts';
import { parseWorkerFlags, type WorkerReplay } from './worker-flags.ts';

function fail(message: string, code: number): never {
  process.stderr.write(`worker: ${message}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  let config: Config;
  let settings: ReturnType<typeof parseWorkerFlags>;
  try {
    settings = parseWorkerFlags(process.argv.slice(2));
    config = loadConfig();
    requireSigningKey(config);
  } catch (e) {
    const a = toAppError(e);
    fail(a.toUserMessage(), a.exitCode);
  }
  if (settings.replay !== null && config.redisUrl)
    fail('--replay feeds the worker its own in-process queue (embedded mode); with REDIS_URL set, publish with `meridian feed replay` to the worker processes instead', 64);
  const logger = createLogger({ name: 'worker', level: config.logLevel, secretValues: config.secretValues });
  const db = await openDb(config.db, { applicationName: 'meridian-worker', max: settings.concurrency + 4 });
  await migrate(db);
  if (!(await latestRiskLimits(db))) {
    await db.close();
    fail('no risk limits are stored, so no decision could pass the risk gate — set them first with `meridian risk set <limits.json>`', 78);
  }
  if (settings.replay !== null) {
    await replayEmbedded(config, db, settings, settings.replay, logger);
    return;
  }
  if (!config.redisUrl)
    logger.warn('embedded mode: the in-process queue only sees events published in this process — use --replay to feed it stored candles, or set REDIS_URL and DATABASE_URL');
  const queue: JobQueue = config.redisUrl
    ? new BullMqQueue({ url: config.redisUrl, prefix: config.queuePrefix, onError: (e) => logger.warn({ err: e.message }, 'queue connection error') })
    : new InProcessQueue();
  const worker = await openWorker({ config, db, queue, logger, settings });
  worker.service.start();
  logger.info({ queue: queue.kind, prefix: config.queuePrefix, db: db.location, runner: settings.runner, concurrency: settings.concurrency, memory: settings.memory !== null }, 'worker started');

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'worker stopping: finishing the running events');
    try {
      await worker.stop();
      await queue.close();
      await db.close();
    } catch (e) {
      logger.error({ err: (e as Error).message }, 'error while stopping');
      process.exit(1);
    }
    logger.info('worker stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/**
 * Embedded mode with --replay: the stored candles of one series go, in time order, into this process's
 * in-process queue (the same `replayCandles` as `meridian feed replay`); the worker decides them as it
 * would events from Redis (same handler, same transaction per candle); once the queue is empty it prints
 * what happened and exits. A second replay of the same candles decides nothing again (duplicates).
 */
async function replayEmbedded(config: Config, db: Db, settings: WorkerSettings, r: WorkerReplay, logger: Logger): Promise<void> {
  const key = { exchange: r.exchange, symbol: r.symbol, timeframe: r.timeframe };
  const candles = await readCandles(db, { ...key, ...(r.from === null ? {} : { from: r.from }), ...(r.to === null ? {} : { to: r.to }) });
  if (candles.length === 0) {
    await db.close();
    fail(`no stored candles for ${key.exchange} ${key.symbol} ${key.timeframe} in that range — import or fetch them first (meridian data import|fetch)`, 66);
  }
  const queue = new InProcessQueue();
  const count = { decided: 0, order: 0, pending: 0, rejected: 0, hold: 0, duplicate: 0, late: 0, warming: 0 };
  // what a risk officer needs to answer the pending ones (no dashboard in embedded mode)
  const pending: string[] = [];
  const worker = await openWorker({
    config,
    db,
    queue,
    logger,
    settings,
    onHandled: (_c, o) => {
      if (o.status !== 'decided') {
        count[o.status]++;
        return;
      }
      for (const t of o.traces) {
        count.decided++;
        if (t.outcome === 'order') count.order++;
        else if (t.outcome === 'pending_approval') {
          count.pending++;
          const v = t.verdict;
          pending.push(`  pending approval: ${t.decisionId} ${t.symbol} at ${new Date(t.asOf).toISOString()}, quantity ${v?.approvedQuantity ?? '?'}: ${(v?.reasons ?? []).join('; ')}`);
        }
        else if (t.outcome === 'rejected') count.rejected++;
        else if (t.outcome === 'hold') count.hold++;
      }
    },
  });
  worker.service.start();
  logger.info({ series: key, candles: candles.length, runner: settings.runner }, 'embedded replay started');
  const ac = new AbortController();
  process.once('SIGTERM', () => ac.abort());
  process.once('SIGINT', () => ac.abort());
  try {
    const fed = await replayCandles({ candles, publish: (c) => queue.add(candleClosedJob, c), speed: null, signal: ac.signal });
    // every published event decided (or failed for good), unless stopped by a signal
    if (!ac.signal.aborted) await Promise.race([queue.whenEmpty(candleClosedJob), new Promise((resolve) => ac.signal.addEventListener('abort', resolve, { once: true }))]);
    const failed = worker.service.failedEvents;
    process.stdout.write(
      `replayed ${key.exchange} ${key.symbol} ${key.timeframe} through the embedded worker${ac.signal.aborted ? ' (stopped early)' : ''}: ` +
        `${fed.published} events, ${count.decided} decisions (${count.order} orders to the outbox, ${count.pending} pending approval, ${count.rejected} rejected, ${count.hold} holds); ` +
        `${count.duplicate} already decided, ${count.warming} warming up, ${count.late} late, ${failed} failed\n`,
    );
    if (pending.length > 0)
      process.stdout.write(`${pending.join('\n')}\nanswer each with: meridian risk approve|deny DECISION_ID --author NAME --reason TEXT (before it expires: MERIDIAN_PENDING_APPROVAL_TTL_MS)\n`);
  } finally {
    await worker.stop();
    await queue.close();
    await db.close();
  }
  // a replay stopped by a signal is not a complete one (130, as a shell reports an interrupt); a failed event is 1
  process.exit(ac.signal.aborted ? 130 : worker.service.failedEvents > 0 ? 1 : 0);
}

main().catch((e: unknown) => {
  const a = toAppError(e);
  fail(isAppError(e) ? a.toUserMessage() : `unexpected error: ${a.message}`, a.exitCode);
});
