// @ts-check
/**
 * Starts a worker thread whose code is TypeScript. The repository runs from its TypeScript sources
 * (package exports point at src/*.ts, loaded by tsx in the parent process), but a worker thread does not
 * inherit its parent's module loader — under vitest, for one, it would start without any — so this
 * plain-JavaScript entry registers tsx's loader in the thread, then imports `workerData.entry`. An entry that
 * is already JavaScript is imported directly.
 */
import { workerData } from 'node:worker_threads';

const entry = /** @type {string} */ (workerData?.entry);
if (typeof entry !== 'string') throw new Error('ts-worker-boot: workerData.entry (a file URL) is required');
if (/\.[mc]?ts$/.test(entry)) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(entry);
