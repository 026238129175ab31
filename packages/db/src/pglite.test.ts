import { openDb } from './open-db.ts';
import { runDbSpec } from './db-spec.ts';

runDbSpec('Db on PGlite (in memory)', () => openDb({ kind: 'pglite', dataDir: 'memory' }));
