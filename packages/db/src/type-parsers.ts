import { AppError } from '@meridian/core';

/** OIDs of the built-in types whose parsing both engines must agree on. */
export const INT8_OID = 20;

/**
 * bigint columns hold epoch-ms timestamps, counts and ids: numbers in JS. Refuse values
 * that a double cannot hold exactly instead of silently rounding them.
 */
export function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) {
    throw new AppError('DATA_INTEGRITY', `bigint value ${text} does not fit a JavaScript number exactly`, {
      hint: 'cast it to text in the query (`col::text`) and parse it as a BigInt',
    });
  }
  return n;
}
