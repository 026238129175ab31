import fs from 'node:fs';
import { Command, CommanderError } from 'commander';
import { isAppError } from '@meridian/core';

/**
 * The `meridian` program shell: name, version, the global --verbose flag, and one error
 * policy for every command: ONE line on stderr (`error: <message> — <hint>`), exit code
 * from AppError.exitCode (anything else: 1), the stack only with --verbose.
 * Command groups live in ./commands/<group>.ts as `registerXxxCommands(program)` and are
 * registered in main.ts; they import heavy modules inside their action handlers so that
 * `meridian --help` loads nothing but commander.
 */

export function cliVersion(): string {
  const pkg: unknown = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  return typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string' ? pkg.version : '0.0.0';
}

export function createProgram(): Command {
  return new Command('meridian')
    .description('Meridian: multi-agent trading signals — data, backtests, memory, risk, feeds, database')
    .version(cliVersion(), '-V, --version', 'print the version')
    .option('--verbose', 'print stack traces and details on errors')
    .helpOption('-h, --help', 'show help for a command')
    .showSuggestionAfterError(true)
    .exitOverride();
}

/** Everything on one line: a multi-line message (e.g. a list of bad variables) is joined with "; ". */
export function oneLine(s: string): string {
  return s
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join('; ')
    .replace(/:; /g, ': ');
}

function stackOf(e: unknown): string {
  const parts: string[] = [];
  let cur: unknown = e;
  for (let depth = 0; cur instanceof Error && depth < 5; depth++) {
    parts.push(depth === 0 ? (cur.stack ?? String(cur)) : `caused by: ${cur.stack ?? String(cur)}`);
    cur = cur.cause;
  }
  return parts.join('\n');
}

/** The exit code for a failure, after printing it. */
export function reportError(e: unknown, verbose: boolean, stderr: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): number {
  if (isAppError(e)) {
    stderr(`error: ${oneLine(e.toUserMessage())}`);
    if (verbose) stderr(stackOf(e));
    return e.exitCode;
  }
  const msg = e instanceof Error ? e.message : String(e);
  stderr(`error: ${oneLine(msg)} — this is a bug; ${verbose ? 'please report it with the stack below' : 'run again with --verbose and report the stack'}`);
  if (verbose) stderr(stackOf(e));
  return 1;
}

/** Parse argv and run the command; resolves to the process exit code (never throws). */
export async function runProgram(program: Command, argv: readonly string[]): Promise<number> {
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (e) {
    // commander has already printed its own message (unknown command, missing argument, help, version)
    if (e instanceof CommanderError) return e.exitCode;
    const verbose = program.opts<{ verbose?: boolean }>().verbose === true || argv.includes('--verbose');
    return reportError(e, verbose);
  }
}
