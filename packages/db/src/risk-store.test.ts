import { describe } from 'vitest';
import { openDb } from './open-db.ts';
import { riskStoreSpec } from './risk-store-spec.ts';

describe('risk-store on PGlite (in memory)', () => {
  riskStoreSpec(async () => ({ db: await openDb({ kind: 'pglite', dataDir: 'memory' }), dispose: async () => undefined }));
});
