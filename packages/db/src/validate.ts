import { AppError, type ErrorCode } from '@meridian/core';

/** The part of a zod schema this package needs (keeps zod itself out of our imports). */
export interface Parser<T> {
  safeParse(value: unknown):
    | { success: true; data: T }
    | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } };
}

/**
 * Parse with a contracts schema. On write a failure is the caller's VALIDATION error;
 * on read it is DATA_INTEGRITY (a stored row no longer matches its schema).
 */
export function parseWith<T>(schema: Parser<T>, value: unknown, what: string, code: Extract<ErrorCode, 'VALIDATION' | 'DATA_INTEGRITY'>): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ');
  throw new AppError(code, `${what} is invalid: ${issues}`, {
    hint: code === 'VALIDATION' ? 'fix the value and retry' : 'the stored row does not match its schema; a migration may be missing',
  });
}
