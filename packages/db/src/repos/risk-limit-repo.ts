import { AppError } from '@meridian/core';
import { RiskLimitsSchema, type RiskLimits, type RiskLimitsInput } from '@meridian/contracts';
import { jsonParam, type Db } from '../db.ts';
import { parseWith } from '../validate.ts';

export interface RiskLimitVersion {
  readonly version: number;
  readonly limits: RiskLimits;
  readonly author: string;
  readonly reason: string;
  readonly createdAt: number;
}

interface Row {
  version: number;
  document: unknown;
  author: string;
  reason: string;
  created_at: number;
}

const toVersion = (r: Row): RiskLimitVersion => ({
  version: r.version,
  limits: parseWith(RiskLimitsSchema, r.document, `risk limits version ${r.version}`, 'DATA_INTEGRITY'),
  author: r.author,
  reason: r.reason,
  createdAt: r.created_at,
});

export interface AppendRiskLimits {
  readonly limits: RiskLimitsInput;
  readonly author: string;
  readonly reason: string;
  readonly createdAt: number;
  /**
   * The version the author edited (0 when there was none). If another version was appended
   * since, the append fails with CONFLICT instead of silently overwriting that change.
   */
  readonly expectedLatest?: number;
}

/**
 * Append a new version (versions are gapless: 1, 2, 3 …). The table is append-only;
 * cross-field checks are packages/risk's `validateRiskLimits`, run before this.
 */
export async function appendRiskLimits(db: Db, a: AppendRiskLimits): Promise<RiskLimitVersion> {
  const limits = parseWith(RiskLimitsSchema, a.limits, 'risk limits', 'VALIDATION');
  return db.transaction(async (tx) => {
    // EXCLUSIVE blocks concurrent appends (version = max + 1) but not readers
    await tx.exec('LOCK TABLE risk_limit_versions IN EXCLUSIVE MODE');
    const cur = await tx.query<{ v: number }>('SELECT coalesce(max(version), 0) AS v FROM risk_limit_versions');
    const latest = cur.rows[0]?.v ?? 0;
    if (a.expectedLatest !== undefined && a.expectedLatest !== latest) {
      throw new AppError('CONFLICT', `risk limits changed meanwhile: the latest version is ${latest}, not ${a.expectedLatest}`, {
        hint: 'reload the current limits, reapply your change and save again',
      });
    }
    const r = await tx.query<Row>(
      `INSERT INTO risk_limit_versions (version, document, author, reason, created_at) VALUES ($1, $2::jsonb, $3, $4, $5)
       RETURNING version, document, author, reason, created_at`,
      [latest + 1, jsonParam(limits), a.author, a.reason, a.createdAt],
    );
    const row = r.rows[0];
    if (!row) throw new AppError('INTERNAL', 'risk limits insert returned no row');
    return toVersion(row);
  });
}

export async function latestRiskLimits(db: Db): Promise<RiskLimitVersion | undefined> {
  const r = await db.query<Row>('SELECT version, document, author, reason, created_at FROM risk_limit_versions ORDER BY version DESC LIMIT 1');
  return r.rows[0] ? toVersion(r.rows[0]) : undefined;
}

export async function getRiskLimits(db: Db, version: number): Promise<RiskLimitVersion | undefined> {
  const r = await db.query<Row>('SELECT version, document, author, reason, created_at FROM risk_limit_versions WHERE version = $1', [version]);
  return r.rows[0] ? toVersion(r.rows[0]) : undefined;
}

/** Newest first. */
export async function listRiskLimitVersions(db: Db, opts: { limit?: number } = {}): Promise<RiskLimitVersion[]> {
  const r = await db.query<Row>('SELECT version, document, author, reason, created_at FROM risk_limit_versions ORDER BY version DESC LIMIT $1', [
    opts.limit ?? 100,
  ]);
  return r.rows.map(toVersion);
}
