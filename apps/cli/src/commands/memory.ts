import type { Command } from 'commander';

/**
 * `meridian memory …`: build the historical memory (packages/memory) from stored candles.
 * Heavy modules load inside the handler so `meridian --help` stays fast.
 */
export function registerMemoryCommands(program: Command): void {
  const memory = program.command('memory').description('historical memory: feature vectors of past situations and their outcomes, for point-in-time recall');

  memory
    .command('build')
    .description(
      'build memories from stored candles: one per closed bar after the indicator warm-up, resolved after --horizon bars (idempotent); on server Postgres, then build the all-symbols time tiers recall needs (docs/memory.md)',
    )
    .requiredOption('--symbol <symbol>', 'market, e.g. BTC/USDT')
    .requiredOption('--timeframe <tf>', 'bar size, e.g. 5m')
    .option('--exchange <id>', 'exchange the candles come from', 'binance')
    .option('--horizon <bars>', 'outcome horizon in bars (forward return, MFE, MAE)', '12')
    .option('--tier-base <n>', 'memories in the first time tier (server Postgres; each next tier holds 3 times more)', '16384')
    .option('--json', 'print the report as JSON')
    .action(async (o: { symbol: string; timeframe: string; exchange: string; horizon: string; tierBase: string; json?: boolean }) => {
      const m = await import('@meridian/market');
      const { AppError } = await import('@meridian/core');
      const { loadConfig } = await import('@meridian/config');
      const { openDb, migrate } = await import('@meridian/db');
      const { buildMemories, PgMemoryStore } = await import('@meridian/memory');
      const key = { exchange: m.parseExchangeId(o.exchange), symbol: m.parseSymbol(o.symbol), timeframe: m.parseTimeframe(o.timeframe) };
      const horizon = Number(o.horizon);
      if (!Number.isInteger(horizon) || horizon < 1 || horizon > 10_000) {
        throw new AppError('VALIDATION', `--horizon must be a whole number of bars from 1 to 10000, got "${o.horizon}"`);
      }
      const tierBase = Number(o.tierBase);
      if (!Number.isInteger(tierBase) || tierBase < 100) {
        throw new AppError('VALIDATION', `--tier-base must be a whole number of memories ≥ 100, got "${o.tierBase}"`);
      }
      const db = await openDb(loadConfig().db, { applicationName: 'meridian memory' });
      try {
        await migrate(db);
        const tty = Boolean(process.stdout.isTTY && process.stderr.isTTY);
        const t0 = performance.now();
        const store = new PgMemoryStore(db);
        const r = await buildMemories({
          candles: new m.DbCandleStore(db),
          memory: store,
          key,
          horizonBars: horizon,
          onProgress: tty
            ? (p) => {
                const f = p.last > p.first ? (p.ts - p.first) / (p.last - p.first) : 1;
                process.stderr.write(`\rmemory build: ${(f * 100).toFixed(0).padStart(3)}% ${p.bars.toLocaleString('en-US')} bars, up to ${iso(p.ts)}\x1b[K`);
              }
            : undefined,
        });
        if (tty) process.stderr.write('\n');
        // time tiers (server only; nothing on PGlite) for all symbols of this timeframe and horizon: same-symbol
        // recall has the series' own index, and more partial indexes cost every recall planning time (docs/memory.md)
        const tiers = await store.ensureTimeTiers({ timeframe: key.timeframe, horizonBars: horizon }, { base: tierBase });
        const timeTiers = { built: tiers.filter((t) => t.created).length, total: tiers.length };
        const secs = (performance.now() - t0) / 1000;
        if (o.json) return print(JSON.stringify({ ...r, timeTiers, seconds: Number(secs.toFixed(2)) }));
        print(`memory ${r.exchange} ${r.symbol} ${r.timeframe}, feature version ${r.featureVersion}, horizon ${r.horizonBars} bars`);
        print(`  candles ${r.bars} (${r.first === null ? '-' : iso(r.first)} → ${r.last === null ? '-' : iso(r.last)}), warm-up ${r.warmupBars}, situations ${r.situations}`);
        print(`  new memories ${r.inserted}, resolved now ${r.resolved}, awaiting their outcome ${r.unresolved}; ${secs.toFixed(1)} s`);
        if (db.kind === 'postgres') print(`  time tiers: ${timeTiers.built} built now, ${timeTiers.total} in all (all symbols of ${key.timeframe}, horizon ${horizon})`);
      } finally {
        await db.close();
      }
    });
}

function print(s: string): void {
  process.stdout.write(`${s}\n`);
}

function iso(t: number): string {
  return new Date(t).toISOString().replace('.000Z', 'Z');
}
