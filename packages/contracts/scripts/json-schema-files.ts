/**
 * Renders the committed JSON Schema files (`packages/contracts/json-schema/<Name>.json`) in memory,
 * so the export script writes them and a test proves the committed copies are current.
 */
import { MESSAGE_SCHEMAS, jsonSchemaOf, type MessageName } from '../src/index.ts';

/** Where the files live, relative to this script. */
export const JSON_SCHEMA_DIR = new URL('../json-schema/', import.meta.url);

/**
 * Object keys sorted at every depth, so a file only changes when a schema does (not when zod
 * reorders its output). Arrays keep their order: `required` and `enum` order is meaningful.
 */
export function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeysDeep((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

export function renderJsonSchemaFile(name: MessageName): string {
  return `${JSON.stringify(sortKeysDeep(jsonSchemaOf(name)), null, 2)}\n`;
}

/** File name → file contents, one per message in MESSAGE_SCHEMAS. */
export function renderJsonSchemaFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of Object.keys(MESSAGE_SCHEMAS) as MessageName[]) files.set(`${name}.json`, renderJsonSchemaFile(name));
  return files;
}
