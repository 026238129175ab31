import { migrate, openDb, type Db } from '@meridian/db';
import { freshPgDatabase, probePostgres } from '@meridian/test/support';
import { SimulatedClock } from '@meridian/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKPOINT_SCHEMA, openCheckpointer, sweepSettledRunThreads, type Checkpointer } from './checkpointer.ts';
import { DbDecisionRecorder } from './decision-recorder.ts';
import { FastRunner } from './fast-runner.ts';
import { runThreadId } from './graph-runner.ts';
import { backtestDeps } from './orchestrator-deps.ts';
import { orderContexts } from './test/replay-contexts.ts';
import { runCheckpointSpec } from './test/run-checkpoint-spec.ts';

const pg = await probePostgres();

describe.skipIf(!pg.ok)(`checkpointed decision runs on PostgresSaver, server Postgres${pg.skipNote}`, () => {
  let fresh: Awaited<ReturnType<typeof freshPgDatabase>>;
  let db: Db;
  const opened: Checkpointer[] = [];

  beforeAll(async () => {
    fresh = await freshPgDatabase('orchestrator_run_checkpoints');
    db = await openDb({ kind: 'postgres', url: fresh.url });
    await migrate(db);
  }, 60_000);

  afterAll(async () => {
    for (const c of opened) await c.close();
    await db?.close();
    await fresh?.[Symbol.asyncDispose]();
  });

  // every "process" opens its own PostgresSaver (its own pool) onto the same database
  runCheckpointSpec({
    openSaver: async () => {
      const cp = await openCheckpointer({ kind: 'postgres', url: fresh.url });
      opened.push(cp);
      return cp.saver;
    },
    recorder: () => new DbDecisionRecorder(db, new SimulatedClock(0)),
  });

});

describe.skipIf(!pg.ok)(`the sweep of settled run checkpoints, server Postgres${pg.skipNote}`, () => {
  let fresh: Awaited<ReturnType<typeof freshPgDatabase>>;
  let db: Db;
  let cp: Checkpointer;

  beforeAll(async () => {
    fresh = await freshPgDatabase('orchestrator_run_sweep');
    db = await openDb({ kind: 'postgres', url: fresh.url });
    await migrate(db);
    cp = await openCheckpointer({ kind: 'postgres', url: fresh.url }); // creates the checkpoint tables
  }, 60_000);

  afterAll(async () => {
    await cp?.close();
    await db?.close();
    await fresh?.[Symbol.asyncDispose]();
  });

  it('openCheckpointer stores checkpoint blobs LZ4-compressed; a table busy with a reader stays as it is and the checkpointer still opens', async () => {
    const compression = async () =>
      (await db.query<{ c: string }>(`SELECT attcompression::text AS c FROM pg_attribute WHERE attrelid = '${CHECKPOINT_SCHEMA}.checkpoint_blobs'::regclass AND attname = 'blob'`)).rows[0]?.c;
    const lz4 = (await db.query<{ ok: boolean }>(`SELECT 'lz4' = ANY (enumvals) AS ok FROM pg_settings WHERE name = 'default_toast_compression'`)).rows[0]?.ok === true;
    // a server built without LZ4 keeps pglz (the attribute's default, '')
    expect(await compression()).toBe(lz4 ? 'l' : '');
    if (!lz4) return;
    await db.exec(`ALTER TABLE ${CHECKPOINT_SCHEMA}.checkpoint_blobs ALTER COLUMN blob SET COMPRESSION pglz`);
    // another session reads the table (ACCESS SHARE until its COMMIT): the ALTER would wait for it
    const reader = await openDb({ kind: 'postgres', url: fresh.url });
    try {
      await reader.transaction(async (tx) => {
        await tx.query(`SELECT count(*) FROM ${CHECKPOINT_SCHEMA}.checkpoint_blobs`);
        const busy = await openCheckpointer({ kind: 'postgres', url: fresh.url });
        await busy.close();
        expect(await compression()).toBe('p');
      });
    } finally {
      await reader.close();
    }
    const again = await openCheckpointer({ kind: 'postgres', url: fresh.url });
    await again.close();
    expect(await compression()).toBe('l');
  });

  it('the sweep deletes the run threads of bars that have a stored decision or lie behind the series’ newest one, and keeps the rest', async () => {
    const S = CHECKPOINT_SCHEMA;
    const [ctx] = await orderContexts(1);
    const clock = new SimulatedClock(ctx!.subject.asOf);
    // the series' newest stored decision
    await new FastRunner(backtestDeps(clock, { recorder: new DbDecisionRecorder(db, clock) })).decide({ ...ctx!, runScope: 'sweep' });
    const at = (asOf: number, symbol = 'ETH/BTC') => runThreadId({ runScope: 'sweep', subject: { ...ctx!.subject, symbol, asOf } }, 'c0de0000');
    const tf = 300_000;
    const decided = at(ctx!.subject.asOf);
    const behind = at(ctx!.subject.asOf - tf);
    const ahead = at(ctx!.subject.asOf + tf);
    const otherSeries = at(ctx!.subject.asOf - tf, 'BTC/USDT');
    const otherScope = runThreadId({ runScope: 'live', subject: ctx!.subject }, 'c0de0000');
    const malformed = `decision-run|sweep|binance|ETH/BTC|5m|soon|c0de0000`;
    for (const t of [decided, behind, ahead, otherSeries, otherScope, malformed]) {
      await db.query(`INSERT INTO ${S}.checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata) VALUES ($1, '', 'c1', NULL, '{}'::jsonb, '{}'::jsonb), ($1, '', 'c2', 'c1', '{}'::jsonb, '{}'::jsonb)`, [t]);
      await db.query(`INSERT INTO ${S}.checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob) VALUES ($1, '', 'context', '1', 'empty', NULL)`, [t]);
      await db.query(`INSERT INTO ${S}.checkpoint_writes (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob) VALUES ($1, '', 'c1', 'task', 0, 'analysis', 'empty', ''::bytea)`, [t]);
    }
    const left = async (table: string) => (await db.query<{ t: string }>(`SELECT DISTINCT thread_id AS t FROM ${S}.${table} WHERE thread_id = ANY($1) ORDER BY 1`, [[decided, behind, ahead, otherSeries, otherScope, malformed]])).rows.map((r) => r.t);

    expect(await sweepSettledRunThreads(db)).toBe(2);
    const kept = [ahead, otherSeries, otherScope, malformed].sort();
    for (const table of ['checkpoints', 'checkpoint_blobs', 'checkpoint_writes']) expect(await left(table)).toEqual(kept);
    expect(await sweepSettledRunThreads(db)).toBe(0);
  });
});
