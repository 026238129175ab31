import { createHash, randomBytes } from 'node:crypto';
import { AppError, uuidv7 } from '@meridian/core';
import type { Db } from '../db.ts';
import type { User, UserRole } from './user-repo.ts';

export interface ApiTokenRecord {
  readonly id: string;
  readonly userId: string;
  readonly label: string;
  readonly createdAt: number;
  readonly lastUsedAt: number | null;
  readonly revokedAt: number | null;
}

interface Row {
  id: string;
  user_id: string;
  label: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

const COLUMNS = 'id, user_id, label, created_at, last_used_at, revoked_at';

const toRecord = (r: Row): ApiTokenRecord => ({
  id: r.id,
  userId: r.user_id,
  label: r.label,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
  revokedAt: r.revoked_at,
});

/** SHA-256 hex of a token: the only form in which tokens are stored. */
export function hashApiToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Make a token (256 random bits, "mrd_" prefix so leaked tokens are recognisable) and store its hash. The token is returned only here. */
export async function createApiToken(
  db: Db,
  t: { userId: string; label: string; createdAt: number; id?: string },
): Promise<{ token: string; record: ApiTokenRecord }> {
  const token = `mrd_${randomBytes(32).toString('base64url')}`;
  const r = await db.query<Row>(`INSERT INTO api_tokens (id, user_id, token_hash, label, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`, [
    t.id ?? uuidv7(t.createdAt),
    t.userId,
    hashApiToken(token),
    t.label,
    t.createdAt,
  ]);
  if (!r.rows[0]) throw new AppError('INTERNAL', 'api token insert returned no row');
  return { token, record: toRecord(r.rows[0]) };
}

/** The user behind a presented token, if it exists and is not revoked; records its use. */
export async function authenticateApiToken(db: Db, token: string, now: number): Promise<{ user: User; tokenId: string } | undefined> {
  const r = await db.query<{ token_id: string; id: string; name: string; role: UserRole; created_at: number }>(
    `UPDATE api_tokens t SET last_used_at = $2 FROM users u
      WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.id = t.user_id
      RETURNING t.id AS token_id, u.id, u.name, u.role, u.created_at`,
    [hashApiToken(token), now],
  );
  const x = r.rows[0];
  return x ? { tokenId: x.token_id, user: { id: x.id, name: x.name, role: x.role, createdAt: x.created_at } } : undefined;
}

/** Returns false if the token was already revoked or does not exist. */
export async function revokeApiToken(db: Db, id: string, at: number): Promise<boolean> {
  const r = await db.query('UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL', [id, at]);
  return r.rowCount === 1;
}

export async function listApiTokens(db: Db, userId: string): Promise<ApiTokenRecord[]> {
  const r = await db.query<Row>(`SELECT ${COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY created_at, id`, [userId]);
  return r.rows.map(toRecord);
}
