#!/usr/bin/env node
/**
 * The `meridian` command. Run from source with `pnpm meridian …`. To add a command group,
 * write ./commands/<group>.ts exporting `register<Group>Commands(program)` and register it here.
 */
import { registerDataCommands } from './commands/data.ts';
import { registerDbCommands } from './commands/db.ts';
import { registerRiskCommands } from './commands/risk.ts';
import { registerBacktestCommands } from './commands/backtest.ts';
import { registerFeedCommands } from './commands/feed.ts';
import { registerMemoryCommands } from './commands/memory.ts';
import { createProgram, runProgram } from './program.ts';

const program = createProgram();
registerDbCommands(program);
registerDataCommands(program);
registerRiskCommands(program);
registerBacktestCommands(program);
registerFeedCommands(program);
registerMemoryCommands(program);

process.exitCode = await runProgram(program, process.argv);
