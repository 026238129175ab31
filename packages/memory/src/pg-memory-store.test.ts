import { migrate, openDb } from '@meridian/db';
import { PgMemoryStore } from './pg-memory-store.ts';
import { memoryStoreSpec } from './memory-store-spec.ts';

memoryStoreSpec('PgMemoryStore on PGlite (exact search)', async () => {
  const db = await openDb({ kind: 'pglite', dataDir: 'memory' });
  await migrate(db);
  return { store: new PgMemoryStore(db), close: () => db.close() };
});
