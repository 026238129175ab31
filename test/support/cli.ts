import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { processEnv } from '@meridian/config';

/** The repository root and the CLI entry, for tests that spawn `meridian`. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI_MAIN = path.join(REPO_ROOT, 'apps/cli/src/main.ts');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Spawn any command from the repo root and collect its output. */
export function runProcess(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args], { cwd: REPO_ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Run the real `meridian` process from source with MERIDIAN_HOME set to `home` (embedded
 * PGlite there unless `env` sets DATABASE_URL) and logs silenced. An `env` value of
 * undefined removes that variable.
 */
export function runMeridian(home: string, args: readonly string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
  const full: NodeJS.ProcessEnv = { ...processEnv(), MERIDIAN_HOME: home, MERIDIAN_LOG_LEVEL: 'silent' };
  delete full['DATABASE_URL'];
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete full[k];
    else full[k] = v;
  }
  return runProcess(process.execPath, ['--conditions=@meridian/source', '--import', 'tsx', CLI_MAIN, ...args], full);
}
