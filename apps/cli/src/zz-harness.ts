import { Command } from 'commander';
import { registerRiskCommands } from './commands/risk.ts';
import { isAppError } from '@meridian/core';
const p = new Command('meridian');
registerRiskCommands(p);
try { await p.parseAsync(process.argv); } catch (e) { if (isAppError(e)) { console.error(`error: ${e.toUserMessage()}`); process.exit(e.exitCode); } throw e; }
