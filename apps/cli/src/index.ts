/** The program shell, for tools that embed the CLI (e.g. tests, `meridian start`); the command itself is main.ts. */
export { cliVersion, createProgram, oneLine, reportError, runProgram } from './program.ts';
export { registerDbCommands } from './commands/db.ts';
