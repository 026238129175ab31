/**
 * A separate migrator process for postgres.int.test.ts: connects, prints "ready", waits for
 * a line on stdin (so two of them start migrating at the same moment), migrates, prints the
 * result as JSON. Usage: node --conditions=@meridian/source --import tsx migrate-child.ts <url>
 */
import readline from 'node:readline';
import { migrate } from '../migrate.ts';
import { openDb } from '../open-db.ts';

const url = process.argv[2];
if (!url) throw new Error('usage: migrate-child.ts <postgres url>');
const db = await openDb({ kind: 'postgres', url }, { max: 2, applicationName: 'meridian-migrate-child' });
try {
  process.stdout.write('ready\n');
  const rl = readline.createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => rl.once('line', () => resolve()));
  rl.close();
  const result = await migrate(db);
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await db.close();
}
