/**
 * Writes packages/contracts/json-schema/<Name>.json for every message, and removes files of
 * messages that no longer exist. Run after changing a schema: `pnpm --filter @meridian/contracts export-schemas`.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { JSON_SCHEMA_DIR, renderJsonSchemaFiles } from './json-schema-files.ts';

const dir = fileURLToPath(JSON_SCHEMA_DIR);
mkdirSync(dir, { recursive: true });
const files = renderJsonSchemaFiles();
let changed = 0;
for (const [file, text] of files) {
  const path = new URL(file, JSON_SCHEMA_DIR);
  let old: string | null = null;
  try {
    old = readFileSync(path, 'utf8');
  } catch {
    // new file
  }
  if (old === text) continue;
  writeFileSync(path, text);
  changed++;
  console.log(`${old === null ? 'created' : 'updated'} ${file}`);
}
for (const file of readdirSync(dir)) {
  if (file.endsWith('.json') && !files.has(file)) {
    rmSync(new URL(file, JSON_SCHEMA_DIR));
    changed++;
    console.log(`removed ${file} (no such message any more)`);
  }
}
console.log(`${files.size} JSON Schemas in ${dir} (${changed} changed)`);
