/**
 * The worker process: `node --conditions=@meridian/source --import tsx apps/worker/src/main.ts [flags]`.
 * Consumes closed-candle events and runs the decision graph (docs/worker.md). Configuration from the
 * environment (packages/config): DATABASE_URL, REDIS_URL, MERIDIAN_QUEUE_PREFIX, MERIDIAN_RISK_SIGNING_KEY,
 * MERIDIAN_APPROVAL_TTL_MS, MERIDIAN_PENDING_APPROVAL_TTL_MS, MERIDIAN_LOG_LEVEL; flags in worker-flags.ts.
 * SIGTERM / SIGINT: stop taking jobs, finish the running one, close queue and database, exit 0.
 * A missing signing key, missing risk limits or a bad flag stop it at once with one line on stderr.
 */
import { loadConfig, requireSigningKey, type Config } from '@meridian/config';
import { createLogger, isAppError, toAppError } from '@meridian/core';
import { latestRiskLimits, migrate, openDb } from '@meridian/db';
import { BullMqQueue, InProcessQueue, type JobQueue } from '@meridian/queue';
import { openWorker } from './open-worker.ts';
import { parseWorkerFlags } from './worker-flags.ts';

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
  const logger = createLogger({ name: 'worker', level: config.logLevel, secretValues: config.secretValues });
  const db = await openDb(config.db, { applicationName: 'meridian-worker', max: settings.concurrency + 4 });
  await migrate(db);
  if (!(await latestRiskLimits(db))) {
    await db.close();
    fail('no risk limits are stored, so no decision could pass the risk gate — set them first with `meridian risk set <limits.json>`', 78);
  }
  if (config.mode === 'embedded')
    logger.warn('embedded mode: the in-process queue only sees events published in this process; run `meridian start` or set REDIS_URL and DATABASE_URL');
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

main().catch((e: unknown) => {
  const a = toAppError(e);
  fail(isAppError(e) ? a.toUserMessage() : `unexpected error: ${a.message}`, a.exitCode);
});
