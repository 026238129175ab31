import type { RunnableConfig } from '@langchain/core/runnables';
import { MemorySaver, type BaseCheckpointSaver } from '@langchain/langgraph';
import type { ChannelVersions, Checkpoint, CheckpointMetadata } from '@langchain/langgraph-checkpoint';
import type { PostgresSaver } from '@langchain/langgraph-checkpoint-postgres';
import type pg from 'pg';
import { namedStatement, type Db, type DbConfig } from '@meridian/db';
import { RUN_THREAD_PREFIX } from './graph-runner.ts';
import { PlainJsonSerde } from './plain-json-serde.ts';

/** Postgres schema the LangGraph checkpoint tables live in (kept apart from Meridian's own tables). */
export const CHECKPOINT_SCHEMA = 'langgraph';

export interface Checkpointer {
  readonly saver: BaseCheckpointSaver;
  /** true when interrupted runs survive a restart (server Postgres) */
  readonly durable: boolean;
  close(): Promise<void>;
}

/**
 * Server Postgres: a PostgresSaver (tables created by setup() in the `langgraph` schema), so a
 * run waiting for a risk officer survives restarts and can be resumed from another process (the
 * CLI). Embedded mode (PGlite): a MemorySaver — PostgresSaver needs node-postgres — so a waiting
 * run lives only as long as the process; the approval is then resolved from the stored trace.
 */
export async function openCheckpointer(db: DbConfig): Promise<Checkpointer> {
  if (db.kind === 'pglite') return { saver: memoryCheckpointer(), durable: false, close: () => Promise.resolve() };
  const [{ PostgresSaver }, { default: pg }] = await Promise.all([import('@langchain/langgraph-checkpoint-postgres'), import('pg')]);
  // our own pool (fromConnString's has no 'error' listener): an idle connection the server drops —
  // a Postgres restart, a dropped test database — must not crash the process; the next use reconnects
  // synchronous_commit off: a checkpoint is visible at once and on disk within a few wal_writer_delay
  // (200 ms), without each of a run's checkpoints waiting for its WAL flush. Only a crash of Postgres
  // itself can lose the newest ones, and a lost checkpoint costs recomputation only: a decision run
  // starts over (the trace, outbox row and progress are in the worker's own, synchronously committed
  // transaction), and a pending approval whose interrupt was lost is resolved from its stored trace.
  const pool = new pg.Pool({ connectionString: db.url, application_name: 'meridian-checkpointer', options: '-c synchronous_commit=off', idleTimeoutMillis: 120_000 });
  pool.on('error', () => undefined);
  const saver = new (leanPostgresSaver(PostgresSaver))(pool, new PlainJsonSerde(), { schema: CHECKPOINT_SCHEMA });
  try {
    await saver.setup();
    // the checkpoint blobs (a resume point's channels: ~15 kB per decision run) compressed with LZ4, not
    // pglz: half the time of the put's INSERT (as decision traces, migration 0009); only new values. An
    // optimisation only: the table is altered (a brief ACCESS EXCLUSIVE lock, waited for at most 2 s) only when
    // it is not LZ4 yet, and a role that does not own the table, a busy table or a server without LZ4 keeps pglz
    await pool.query(`DO $$ BEGIN
      IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals))
         AND NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '${CHECKPOINT_SCHEMA}.checkpoint_blobs'::regclass AND attname = 'blob' AND attcompression = 'l') THEN
        PERFORM set_config('lock_timeout', '2s', true);
        ALTER TABLE ${CHECKPOINT_SCHEMA}.checkpoint_blobs ALTER COLUMN blob SET COMPRESSION lz4;
      END IF;
    EXCEPTION WHEN insufficient_privilege OR lock_not_available THEN
      RAISE NOTICE 'checkpoint blobs stay pglz-compressed: %', SQLERRM;
    END $$`);
  } catch (e) {
    await saver.end().catch(() => undefined);
    const { AppError } = await import('@meridian/core');
    throw new AppError('DB_UNAVAILABLE', `cannot set up the LangGraph checkpoint tables: ${(e as Error).message}`, { cause: e, hint: 'check DATABASE_URL and that the user may create a schema' });
  }
  return { saver, durable: true, close: () => saver.end() };
}

const HAS_THREAD = namedStatement(`SELECT EXISTS (SELECT 1 FROM ${CHECKPOINT_SCHEMA}.checkpoints WHERE thread_id = $1) AS e`);

/**
 * PostgresSaver with `put` as ONE statement (the blobs of the changed channels and the checkpoint row,
 * same tables, same rows, same conflict rules) instead of BEGIN, one INSERT per blob, the checkpoint
 * INSERT and COMMIT — a decision run stores a checkpoint on every candle (ResumePointSaver), and the
 * round trips were most of their cost. Reading is PostgresSaver's own.
 */
function leanPostgresSaver(Base: typeof PostgresSaver) {
  return class LeanPostgresSaver extends Base {
    readonly #pool: pg.Pool;
    constructor(...args: ConstructorParameters<typeof PostgresSaver>) {
      super(...args);
      this.#pool = args[0];
    }

    /** whether the thread has any checkpoint: one index probe (PostgresSaver's list/getTuple load blobs and writes too) */
    async hasThread(threadId: string): Promise<boolean> {
      const r = await this.#pool.query<{ e: boolean }>({ ...HAS_THREAD, values: [threadId] });
      return r.rows[0]?.e === true;
    }

    override async put(config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata, newVersions: ChannelVersions): Promise<RunnableConfig> {
      const conf = config.configurable;
      if (conf === undefined) throw new Error('Missing "configurable" field in "config" param');
      const threadId = String(conf['thread_id']);
      const ns = typeof conf['checkpoint_ns'] === 'string' ? conf['checkpoint_ns'] : '';
      const parentId = typeof conf['checkpoint_id'] === 'string' ? conf['checkpoint_id'] : null;
      const [blobs, meta] = await Promise.all([this._dumpBlobs(threadId, ns, checkpoint.channel_values, newVersions), this._dumpMetadata(metadata)]);
      const params: unknown[] = [threadId, ns, checkpoint.id, parentId, this._dumpCheckpoint(checkpoint), meta];
      const rows = blobs.map(([, , channel, version, type, blob]) => {
        params.push(channel, version, type, blob === undefined ? null : Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength));
        const i = params.length - 3;
        return `($1, $2, $${i}, $${i + 1}, $${i + 2}, $${i + 3})`;
      });
      const S = CHECKPOINT_SCHEMA;
      const insertBlobs =
        rows.length === 0
          ? ''
          : `WITH blobs AS (INSERT INTO ${S}.checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob) VALUES ${rows.join(', ')}
                            ON CONFLICT (thread_id, checkpoint_ns, channel, version) DO NOTHING) `;
      // named (parsed once per connection): one text per number of changed channels, a handful in all
      const put = namedStatement(
        `${insertBlobs}INSERT INTO ${S}.checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id) DO UPDATE SET checkpoint = EXCLUDED.checkpoint, metadata = EXCLUDED.metadata`,
      );
      await this.#pool.query({ ...put, values: params });
      return { configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: checkpoint.id } };
    }
  };
}

/** An in-process checkpointer (tests, benchmarks, embedded mode): interrupted runs die with the process. */
export function memoryCheckpointer(): BaseCheckpointSaver {
  return new MemorySaver(new PlainJsonSerde());
}

export type { BaseCheckpointSaver };

/**
 * Delete the checkpoints of decision runs that can never be resumed: their bar has a stored decision,
 * or lies behind the series' newest decision (decisions run in time order, so it will not be decided).
 * On Postgres the worker deletes a committed run's checkpoints only through this (its housekeeping
 * timer): one statement for every run settled since the last call, off the events' path; it also
 * takes what an event that failed for good left behind. Server Postgres with the PostgresSaver tables
 * (CHECKPOINT_SCHEMA) only; at most `limit` threads per call (the next call takes the rest); thread
 * ids whose bar time is not a number are left alone. Returns the count.
 */
export async function sweepSettledRunThreads(db: Db, limit = 1000): Promise<number> {
  const S = CHECKPOINT_SCHEMA;
  const part = (n: number) => `split_part(c.thread_id, '|', ${n})`;
  const r = await db.query<{ n: number }>(
    `WITH dead AS (
       SELECT DISTINCT c.thread_id FROM ${S}.checkpoints c
        WHERE c.thread_id LIKE $1 AND ${part(6)} ~ '^[0-9]{1,18}$'
          AND EXISTS (SELECT 1 FROM decision_traces t
                       WHERE t.run_scope = ${part(2)} AND t.exchange = ${part(3)} AND t.symbol = ${part(4)}
                         AND t.timeframe = ${part(5)} AND t.as_of >= ${part(6)}::bigint)
        LIMIT $2),
     b AS (DELETE FROM ${S}.checkpoint_blobs x USING dead d WHERE x.thread_id = d.thread_id),
     w AS (DELETE FROM ${S}.checkpoint_writes x USING dead d WHERE x.thread_id = d.thread_id),
     c AS (DELETE FROM ${S}.checkpoints x USING dead d WHERE x.thread_id = d.thread_id)
     SELECT count(*)::int AS n FROM dead`,
    [`${RUN_THREAD_PREFIX}|%`, limit],
  );
  return r.rows[0]?.n ?? 0;
}
