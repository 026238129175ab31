import { type Db, migrate, openDb } from '@meridian/db';
import { afterAll, beforeAll } from 'vitest';
import { PgMemoryStore } from './pg-memory-store.ts';
import { memoryStoreSpec } from './memory-store-spec.ts';

// one embedded database for the file (opening and migrating PGlite takes seconds); every test
// starts from an empty memories table
let db: Db | undefined;
beforeAll(async () => {
  db = await openDb({ kind: 'pglite', dataDir: 'memory' });
  await migrate(db);
}, 120_000);
afterAll(async () => {
  await db?.close();
});

memoryStoreSpec('PgMemoryStore on PGlite (exact search)', async () => {
  await db!.exec('TRUNCATE memories');
  return { store: new PgMemoryStore(db!), close: async () => undefined };
});
