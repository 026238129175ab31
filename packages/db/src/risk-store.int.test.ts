import { describe } from 'vitest';
import { freshPgDatabase, probePostgres } from '@meridian/test/support';
import { openDb } from './open-db.ts';
import { riskStoreSpec } from './risk-store-spec.ts';

const probe = await probePostgres();

describe.skipIf(!probe.ok)(`risk-store on server Postgres${probe.skipNote}`, () => {
  riskStoreSpec(async () => {
    const fresh = await freshPgDatabase('risk-store');
    return { db: await openDb({ kind: 'postgres', url: fresh.url }), dispose: () => fresh[Symbol.asyncDispose]() };
  });
});
