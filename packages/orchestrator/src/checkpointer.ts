import { MemorySaver, type BaseCheckpointSaver } from '@langchain/langgraph';
import type { DbConfig } from '@meridian/db';

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
  if (db.kind === 'pglite') return { saver: new MemorySaver(), durable: false, close: () => Promise.resolve() };
  const [{ PostgresSaver }, { default: pg }] = await Promise.all([import('@langchain/langgraph-checkpoint-postgres'), import('pg')]);
  // our own pool (fromConnString's has no 'error' listener): an idle connection the server drops —
  // a Postgres restart, a dropped test database — must not crash the process; the next use reconnects
  const pool = new pg.Pool({ connectionString: db.url, application_name: 'meridian-checkpointer' });
  pool.on('error', () => undefined);
  const saver = new PostgresSaver(pool, undefined, { schema: CHECKPOINT_SCHEMA });
  try {
    await saver.setup();
  } catch (e) {
    await saver.end().catch(() => undefined);
    const { AppError } = await import('@meridian/core');
    throw new AppError('DB_UNAVAILABLE', `cannot set up the LangGraph checkpoint tables: ${(e as Error).message}`, { cause: e, hint: 'check DATABASE_URL and that the user may create a schema' });
  }
  return { saver, durable: true, close: () => saver.end() };
}

/** An in-process checkpointer (tests, benchmarks, embedded mode): interrupted runs die with the process. */
export function memoryCheckpointer(): BaseCheckpointSaver {
  return new MemorySaver();
}

export type { BaseCheckpointSaver };
