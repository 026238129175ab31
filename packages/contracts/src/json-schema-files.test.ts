/**
 * The JSON Schema files committed under packages/contracts/json-schema/ are what API consumers
 * read: they must match what the schemas produce today. If this fails, run
 * `pnpm --filter @meridian/contracts export-schemas` and commit the result.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { JSON_SCHEMA_DIR, renderJsonSchemaFiles, sortKeysDeep } from '../scripts/json-schema-files.ts';
import { MESSAGE_SCHEMAS } from './json-schema.ts';

const FIX = 'run `pnpm --filter @meridian/contracts export-schemas` and commit packages/contracts/json-schema/';

describe('committed JSON Schema files', () => {
  const rendered = renderJsonSchemaFiles();

  it('exist for exactly the messages in MESSAGE_SCHEMAS', () => {
    const committed = readdirSync(fileURLToPath(JSON_SCHEMA_DIR)).filter((f) => f.endsWith('.json'));
    expect(committed.sort(), FIX).toEqual(Object.keys(MESSAGE_SCHEMAS).map((n) => `${n}.json`).sort());
  });

  it.each([...rendered.keys()])('%s is up to date', (file) => {
    const committed = readFileSync(new URL(file, JSON_SCHEMA_DIR), 'utf8');
    expect(committed, `${file} is stale: ${FIX}`).toBe(rendered.get(file));
  });

  it('are stable: sorted keys, two-space indent, one trailing newline', () => {
    for (const text of rendered.values()) {
      expect(text.endsWith('}\n')).toBe(true);
      expect(text.endsWith('\n\n')).toBe(false);
      const parsed: unknown = JSON.parse(text);
      expect(`${JSON.stringify(sortKeysDeep(parsed), null, 2)}\n`).toBe(text);
    }
    expect(renderJsonSchemaFiles()).toEqual(rendered);
  });
});

describe('sortKeysDeep', () => {
  it('sorts object keys at every depth and keeps array order', () => {
    const sorted = sortKeysDeep({ b: 1, a: { d: [3, { z: 1, y: 2 }, 1], c: null } });
    expect(JSON.stringify(sorted)).toBe('{"a":{"c":null,"d":[3,{"y":2,"z":1},1]},"b":1}');
  });
});
