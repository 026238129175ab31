import { AppError, uuidv7 } from '@meridian/core';
import type { Db } from '../db.ts';
import { isUniqueViolation } from '../db-errors.ts';

export const USER_ROLES = ['trader', 'quant', 'risk_officer', 'admin'] as const;
export type UserRole = (typeof USER_ROLES)[number];

export interface User {
  readonly id: string;
  readonly name: string;
  readonly role: UserRole;
  readonly createdAt: number;
}

interface Row {
  id: string;
  name: string;
  role: UserRole;
  created_at: number;
}

const toUser = (r: Row): User => ({ id: r.id, name: r.name, role: r.role, createdAt: r.created_at });

/** Create a user; CONFLICT if the name is taken. */
export async function createUser(db: Db, u: { name: string; role: UserRole; createdAt: number; id?: string }): Promise<User> {
  try {
    const r = await db.query<Row>('INSERT INTO users (id, name, role, created_at) VALUES ($1, $2, $3, $4) RETURNING id, name, role, created_at', [
      u.id ?? uuidv7(u.createdAt),
      u.name,
      u.role,
      u.createdAt,
    ]);
    if (!r.rows[0]) throw new AppError('INTERNAL', 'user insert returned no row');
    return toUser(r.rows[0]);
  } catch (e) {
    if (isUniqueViolation(e)) throw new AppError('CONFLICT', `a user named ${u.name} already exists`, { hint: 'pick another name', cause: e });
    throw e;
  }
}

export async function getUser(db: Db, id: string): Promise<User | undefined> {
  const r = await db.query<Row>('SELECT id, name, role, created_at FROM users WHERE id = $1', [id]);
  return r.rows[0] ? toUser(r.rows[0]) : undefined;
}

export async function getUserByName(db: Db, name: string): Promise<User | undefined> {
  const r = await db.query<Row>('SELECT id, name, role, created_at FROM users WHERE name = $1', [name]);
  return r.rows[0] ? toUser(r.rows[0]) : undefined;
}

export async function listUsers(db: Db): Promise<User[]> {
  const r = await db.query<Row>('SELECT id, name, role, created_at FROM users ORDER BY name');
  return r.rows.map(toUser);
}
