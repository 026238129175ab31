import { describe, expect, it } from 'vitest';
import { namedStatement, sqlText } from './db.ts';

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
});
