import { describe, expect, it } from 'vitest';
import { NAMED_STATEMENT_LIMIT, namedStatement, sqlText } from './db.ts';

describe('namedStatement', () => {
  it('names a text by its hash: the same text gets the same name, another text another name', () => {
    const a = namedStatement('SELECT 1');
    expect(a.name).toMatch(/^meridian_[0-9a-f]{24}$/);
    expect(namedStatement('SELECT 1').name).toBe(a.name);
    expect(namedStatement('SELECT 2').name).not.toBe(a.name);
    expect(namedStatement('SELECT  1').name).not.toBe(a.name); // the text itself, not a normalised form
  });

  it('keeps the text as given; sqlText reads it from either form', () => {
    const s = namedStatement('SELECT $1::int');
    expect(s.text).toBe('SELECT $1::int');
    expect(sqlText(s)).toBe('SELECT $1::int');
    expect(sqlText('SELECT 3')).toBe('SELECT 3');
  });

  it('past NAMED_STATEMENT_LIMIT texts, a new text runs unnamed; texts named before keep their names', () => {
    const early = namedStatement('SELECT 41');
    for (let i = 0; i <= NAMED_STATEMENT_LIMIT; i++) namedStatement(`SELECT ${i} AS filler`);
    expect(namedStatement('SELECT 42 AS late')).toEqual({ name: '', text: 'SELECT 42 AS late' });
    expect(namedStatement('SELECT 41')).toBe(early);
    expect(early.name).toMatch(/^meridian_/);
  });
});
