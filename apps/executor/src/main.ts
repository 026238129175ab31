/**
 * The executor process: `node --conditions=@meridian/source --import tsx apps/executor/src/main.ts [flags]`.
 * The only process with exchange credentials. Configuration comes from the environment (packages/config:
 * DATABASE_URL, REDIS_URL, MERIDIAN_QUEUE_PREFIX, MERIDIAN_RISK_SIGNING_KEY / _VERIFY_KEYS, MERIDIAN_EXCHANGE,
 * MERIDIAN_EXCHANGE_API_KEY / _SECRET / _PASSWORD / _SANDBOX / _URL); flags tune the loop (see USAGE).
 * SIGTERM / SIGINT stop it gracefully; a missing signing key stops it at once with one line on stderr.
 */
import { parseArgs } from 'node:util';
import { loadConfig, requireSigningKey, type Config } from '@meridian/config';
import { createLogger, isAppError, systemClock, toAppError } from '@meridian/core';
import { latestCandleClose, migrate, openDb } from '@meridian/db';
import { PaperExchange } from '@meridian/execution';
import { BullMqQueue, InProcessQueue, OutboxRelay, listenForOutbox, type JobQueue } from '@meridian/queue';
import { createExchange, PAPER_MARKETS } from './exchange-factory.ts';
import { ExecutorService } from './executor-service.ts';
import { startPaperPriceFeed } from './paper-price-feed.ts';

const USAGE = `usage: executor [--concurrency N] [--exchange-timeout-ms N] [--no-relay] [--relay-poll-ms N]
                [--redeliver-after-ms N] [--lock-duration-ms N] [--stalled-interval-ms N]
                [--sync-open-orders-ms N] [--paper-tick-ms N]`;

function fail(message: string, code: number): never {
  process.stderr.write(`executor: ${message}\n`);
  process.exit(code);
}

function intFlag(v: string | undefined, name: string, def: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) fail(`--${name} must be a whole number ≥ 0, got "${v}"\n${USAGE}`, 2);
  return n;
}

async function main(): Promise<void> {
  let args: ReturnType<typeof parseFlags>;
  try {
    args = parseFlags();
  } catch (e) {
    fail(`${(e as Error).message}\n${USAGE}`, 2);
  }
  let config: Config;
  try {
    config = loadConfig();
    requireSigningKey(config);
  } catch (e) {
    const a = toAppError(e);
    fail(a.toUserMessage(), a.exitCode);
  }
  const flags = {
    concurrency: intFlag(args['concurrency'], 'concurrency', 4),
    exchangeTimeoutMs: args['exchange-timeout-ms'] === undefined ? undefined : intFlag(args['exchange-timeout-ms'], 'exchange-timeout-ms', 10_000),
    relay: !args['no-relay'],
    relayPollMs: intFlag(args['relay-poll-ms'], 'relay-poll-ms', 1000),
    redeliverAfterMs: intFlag(args['redeliver-after-ms'], 'redeliver-after-ms', 60_000),
    lockDurationMs: intFlag(args['lock-duration-ms'], 'lock-duration-ms', 30_000),
    stalledIntervalMs: intFlag(args['stalled-interval-ms'], 'stalled-interval-ms', 30_000),
    syncOpenOrdersMs: intFlag(args['sync-open-orders-ms'], 'sync-open-orders-ms', 5000),
    paperTickMs: intFlag(args['paper-tick-ms'], 'paper-tick-ms', 1000),
  };

  const logger = createLogger({ name: 'executor', level: config.logLevel, secretValues: config.secretValues });
  const clock = systemClock;
  const db = await openDb(config.db, { applicationName: 'meridian-executor', max: flags.concurrency + 4 });
  await migrate(db);
  const queue: JobQueue = config.redisUrl
    ? new BullMqQueue({
        url: config.redisUrl,
        prefix: config.queuePrefix,
        lockDurationMs: flags.lockDurationMs,
        stalledIntervalMs: flags.stalledIntervalMs,
        onError: (e) => logger.warn({ err: e.message }, 'queue connection error'),
      })
    : new InProcessQueue();
  const exchange = await createExchange(
    {
      id: config.exchange.id,
      apiKey: config.exchange.apiKey,
      secret: config.exchange.secret,
      password: config.exchange.password,
      sandbox: config.exchange.sandbox,
      url: config.exchange.url,
      ...(flags.exchangeTimeoutMs !== undefined ? { timeoutMs: flags.exchangeTimeoutMs } : {}),
    },
    clock,
  );
  const service = new ExecutorService({
    db,
    queue,
    exchange,
    verifyKeys: config.risk.verifyKeys,
    logger,
    clock,
    concurrency: flags.concurrency,
    syncOpenOrdersMs: flags.syncOpenOrdersMs,
  });

  let feed: ReturnType<typeof startPaperPriceFeed> | undefined;
  if (exchange instanceof PaperExchange) {
    feed = startPaperPriceFeed({
      paper: exchange,
      symbols: PAPER_MARKETS.map((m) => m.symbol),
      source: async (symbol) => (await latestCandleClose(db, symbol))?.price,
      clock,
      intervalMs: flags.paperTickMs,
      onUpdate: (o) => service.applyExchangeUpdate(o),
      logger,
    });
    await feed.tick(); // market orders need a price before the first order
  }

  const summary = await service.start();
  // the relay runs here by default (embedded mode needs it in-process); --no-relay when it runs elsewhere
  const relay = flags.relay
    ? new OutboxRelay({ db, queue, clock, pollMs: flags.relayPollMs, redeliverAfterMs: flags.redeliverAfterMs, logger })
    : undefined;
  let unlisten: (() => Promise<void>) | undefined;
  if (relay) {
    relay.start();
    if (config.db.kind === 'postgres') {
      unlisten = await listenForOutbox(config.db.url, () => relay.wake(), (e) => logger.warn({ err: e.message }, 'outbox LISTEN connection error'));
    }
  }
  logger.info(
    { exchange: exchange.id, queue: queue.kind, prefix: config.queuePrefix, db: db.location, relay: Boolean(relay), reconciled: summary },
    'executor started',
  );

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'executor stopping');
    await unlisten?.();
    await relay?.stop();
    await service.stop();
    await feed?.stop();
    await exchange.close();
    await queue.close();
    await db.close();
    logger.info('executor stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

function parseFlags(): Record<string, string | undefined> & { 'no-relay'?: boolean } {
  const { values } = parseArgs({
    options: {
      concurrency: { type: 'string' },
      'exchange-timeout-ms': { type: 'string' },
      'no-relay': { type: 'boolean' },
      'relay-poll-ms': { type: 'string' },
      'redeliver-after-ms': { type: 'string' },
      'lock-duration-ms': { type: 'string' },
      'stalled-interval-ms': { type: 'string' },
      'sync-open-orders-ms': { type: 'string' },
      'paper-tick-ms': { type: 'string' },
    },
    strict: true,
  });
  return values as Record<string, string | undefined> & { 'no-relay'?: boolean };
}

main().catch((e: unknown) => {
  const a = toAppError(e);
  fail(isAppError(e) ? a.toUserMessage() : `unexpected error: ${a.message}`, a.exitCode);
});
