import { AppError } from '@meridian/core';
import { jsonParam, type Db } from '../db.ts';

export type BacktestRunStatus = 'running' | 'completed' | 'failed';

export interface BacktestRun {
  readonly id: string;
  readonly status: BacktestRunStatus;
  readonly params: unknown;
  readonly summary: unknown;
  readonly outDir: string | null;
  readonly createdAt: number;
  readonly finishedAt: number | null;
}

interface Row {
  id: string;
  status: BacktestRunStatus;
  params: unknown;
  summary: unknown;
  out_dir: string | null;
  created_at: number;
  finished_at: number | null;
}

const COLUMNS = 'id, status, params, summary, out_dir, created_at, finished_at';

const toRun = (r: Row): BacktestRun => ({
  id: r.id,
  status: r.status,
  params: r.params,
  summary: r.summary,
  outDir: r.out_dir,
  createdAt: r.created_at,
  finishedAt: r.finished_at,
});

/** Record a run as it starts. Its id is also the run_scope of its decision traces. */
export async function createBacktestRun(db: Db, r: { id: string; params: unknown; outDir?: string | null; createdAt: number }): Promise<BacktestRun> {
  const res = await db.query<Row>(
    `INSERT INTO backtest_runs (id, params, out_dir, created_at) VALUES ($1, $2::jsonb, $3, $4) RETURNING ${COLUMNS}`,
    [r.id, jsonParam(r.params), r.outDir ?? null, r.createdAt],
  );
  if (!res.rows[0]) throw new AppError('INTERNAL', 'backtest run insert returned no row');
  return toRun(res.rows[0]);
}

/** Close a running run with its summary (metrics) or failure. */
export async function finishBacktestRun(
  db: Db,
  id: string,
  f: { status: Exclude<BacktestRunStatus, 'running'>; summary: unknown; finishedAt: number },
): Promise<BacktestRun> {
  const res = await db.query<Row>(
    `UPDATE backtest_runs SET status = $2, summary = $3::jsonb, finished_at = $4 WHERE id = $1 AND status = 'running' RETURNING ${COLUMNS}`,
    [id, f.status, jsonParam(f.summary), f.finishedAt],
  );
  if (res.rows[0]) return toRun(res.rows[0]);
  const cur = await getBacktestRun(db, id);
  throw cur
    ? new AppError('CONFLICT', `backtest run ${id} is already ${cur.status}`)
    : new AppError('NOT_FOUND', `backtest run ${id} does not exist`, { hint: 'list runs with `meridian backtest list`' });
}

export async function getBacktestRun(db: Db, id: string): Promise<BacktestRun | undefined> {
  const r = await db.query<Row>(`SELECT ${COLUMNS} FROM backtest_runs WHERE id = $1`, [id]);
  return r.rows[0] ? toRun(r.rows[0]) : undefined;
}

/** Newest first. */
export async function listBacktestRuns(db: Db, opts: { limit?: number } = {}): Promise<BacktestRun[]> {
  const r = await db.query<Row>(`SELECT ${COLUMNS} FROM backtest_runs ORDER BY created_at DESC, id DESC LIMIT $1`, [opts.limit ?? 50]);
  return r.rows.map(toRun);
}
