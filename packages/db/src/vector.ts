import pgvector from 'pgvector';

/** A JS number array as a pgvector text literal, for a `$n::vector` parameter. */
export function vectorParam(v: readonly number[]): string {
  if (v.length === 0) throw new RangeError('a vector needs at least one dimension');
  if (!v.every(Number.isFinite)) throw new RangeError('a vector must hold finite numbers only');
  const s: unknown = pgvector.toSql([...v]);
  if (typeof s !== 'string') throw new TypeError('pgvector.toSql did not return text');
  return s;
}

/** Parse a pgvector text value ('[1,2,3]'), as both engines return it. */
export function parseVector(text: string): number[] {
  const v: unknown = pgvector.fromSql(text);
  if (!Array.isArray(v) || !v.every((x): x is number => typeof x === 'number')) throw new TypeError(`not a vector: ${text.slice(0, 40)}`);
  return v;
}
