import type { Command } from 'commander';
import type { AppError } from '@meridian/core';
import type { TradingState } from '@meridian/contracts';
import type { Db } from '@meridian/db';
import { registerRiskApprovalCommands } from './risk-approvals.ts';

/**
 * `meridian risk …`: risk officers' commands — versioned limits (show, set, history, diff) and
 * the trading state (halt, reduce-only, resume). Everything written goes to the audit log in
 * the same transaction (packages/db risk-store). Whoever runs the CLI has database access and
 * acts as a risk officer; `--author` defaults to the OS user.
 * Heavy modules load inside the handlers so `meridian --help` stays fast.
 */
export function registerRiskCommands(program: Command): void {
  const risk = program.command('risk').description('risk limits (versioned, audited) and the trading state: show, set, history, diff, halt, resume');
  registerRiskApprovalCommands(risk);

  risk
    .command('show')
    .description('print the current limits version, its limits and the trading state')
    .option('--json', 'print as JSON')
    .action(async (o: { json?: boolean }) => {
      await withDb(async (db) => {
        const dbm = await import('@meridian/db');
        const r = await import('@meridian/risk');
        const now = Date.now();
        const latest = await dbm.latestRiskLimits(db);
        const { state, version } = await dbm.readTradingState(db, r.initialTradingState(now));
        const effective = r.effectiveTradingState(state, now);
        if (o.json) {
          print(
            JSON.stringify({
              limits: latest ? { version: latest.version, author: latest.author, reason: latest.reason, createdAt: iso(latest.createdAt), limits: latest.limits } : null,
              tradingState: { ...state, since: iso(state.since), until: state.until === null ? null : iso(state.until), effective, version },
            }),
          );
          return;
        }
        if (!latest) {
          print('risk limits: none stored yet — every limit is off.');
          print('  set them with: meridian risk set --file examples/risk-limits.json --reason "initial limits"');
        } else {
          print(`risk limits: version ${latest.version}, set by ${latest.author} at ${iso(latest.createdAt)}`);
          print(`  reason: ${latest.reason}`);
          print('');
          const rows = r.RISK_LIMIT_FIELDS.map((f) => [f.field, r.formatLimitValue(f.field, latest.limits[f.field]), f.summary]);
          print(table(['limit', 'value', 'meaning'], rows));
        }
        print('');
        print(`trading state: ${describeState(state, effective, version)}`);
      });
    });

  risk
    .command('set')
    .description('validate a limits file, print the changes against the current version and store it as a new version')
    .requiredOption('--file <file>', 'a RiskLimits JSON document (see examples/risk-limits.json)')
    .requiredOption('--reason <text>', 'why the limits change (kept in the history and the audit log)')
    .option('--author <name>', 'who makes the change (default: the OS user)')
    .action(async (o: { file: string; reason: string; author?: string }) => {
      const { AppError } = await import('@meridian/core');
      const r = await import('@meridian/risk');
      const reason = requireText(o.reason, '--reason', AppError);
      const author = requireText(o.author ?? (await osUser()), '--author', AppError);
      const doc = await readJson(o.file);
      const v = r.validateRiskLimits(doc);
      if (!v.ok) {
        // the CLI's error line is one line; the problems are for people, one per line, above it
        process.stderr.write(`${o.file}:\n${r.formatLimitProblems(v.error)}\n`);
        throw new AppError(
          'VALIDATION',
          `${o.file} has ${v.error.length} problem${v.error.length === 1 ? '' : 's'} (listed above); nothing was stored`,
          { hint: 'fix every problem listed and run the command again (field reference: examples/risk-limits.md)' },
        );
      }
      await withDb(async (db) => {
        const dbm = await import('@meridian/db');
        const current = await dbm.latestRiskLimits(db);
        const changes = r.diffLimits(current?.limits ?? null, v.value);
        if (current && changes.length === 0) {
          print(`${o.file} is identical to the current version ${current.version}; nothing stored.`);
          return;
        }
        print(current ? `changes against version ${current.version}:` : 'first limits version:');
        for (const c of changes) print(`  ${c.text}`);
        const res = await dbm.setRiskLimits(db, { limits: v.value, author, reason, at: Date.now(), expectedLatest: current?.version ?? 0 });
        print(`stored risk limits version ${res.stored.version} (author ${author}).`);
      });
    });

  risk
    .command('history')
    .description('list the stored limit versions, newest first')
    .option('--limit <n>', 'how many versions', '50')
    .option('--json', 'print as JSON')
    .action(async (o: { limit: string; json?: boolean }) => {
      const { AppError } = await import('@meridian/core');
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new AppError('VALIDATION', `--limit must be a whole number ≥ 1, got "${o.limit}"`);
      await withDb(async (db) => {
        const dbm = await import('@meridian/db');
        const r = await import('@meridian/risk');
        // one extra, so the oldest shown still has something to diff against
        const versions = await dbm.listRiskLimitVersions(db, { limit: limit + 1 });
        const shown = versions.slice(0, limit);
        if (o.json) {
          print(JSON.stringify(shown.map((x) => ({ version: x.version, author: x.author, reason: x.reason, createdAt: iso(x.createdAt), limits: x.limits }))));
          return;
        }
        if (shown.length === 0) {
          print('no risk limits stored yet.');
          return;
        }
        const rows = shown.map((x, i) => {
          const prev = versions[i + 1];
          if (!prev || prev.version !== x.version - 1) return [String(x.version), iso(x.createdAt), x.author, 'first version', x.reason];
          const fields = r.diffLimits(prev.limits, x.limits).map((c) => c.field);
          const shownFields = fields.length > 4 ? [...fields.slice(0, 4), `+${fields.length - 4} more`] : fields;
          return [String(x.version), iso(x.createdAt), x.author, shownFields.join(', ') || '(none)', x.reason];
        });
        print(table(['version', 'created (UTC)', 'author', 'changed fields', 'reason'], rows));
      });
    });

  risk
    .command('diff')
    .description('the field-by-field differences between two limit versions')
    .argument('<v1>', 'older version')
    .argument('<v2>', 'newer version')
    .action(async (a: string, b: string) => {
      const { AppError } = await import('@meridian/core');
      const v1 = Number(a);
      const v2 = Number(b);
      for (const [s, n] of [[a, v1], [b, v2]] as const) {
        if (!Number.isInteger(n) || n < 1) throw new AppError('VALIDATION', `versions are whole numbers ≥ 1, got "${s}"`, { hint: 'see `meridian risk history`' });
      }
      await withDb(async (db) => {
        const dbm = await import('@meridian/db');
        const r = await import('@meridian/risk');
        const [x, y] = await Promise.all([dbm.getRiskLimits(db, v1), dbm.getRiskLimits(db, v2)]);
        for (const [n, got] of [[v1, x], [v2, y]] as const) {
          if (!got) throw new AppError('NOT_FOUND', `risk limits version ${n} does not exist`, { hint: 'see `meridian risk history` for the stored versions' });
        }
        const changes = r.diffLimits(x!.limits, y!.limits);
        print(`version ${v1} → ${v2}: ${changes.length === 0 ? 'no differences' : `${changes.length} change${changes.length === 1 ? '' : 's'}`}`);
        for (const c of changes) print(`  ${c.text}`);
      });
    });

  const transition = (name: string, to: 'HALTED' | 'ACTIVE' | 'REDUCING', description: string) =>
    risk
      .command(name)
      .description(description)
      .requiredOption('--reason <text>', 'why (kept with the transition and in the audit log)')
      .option('--author <name>', 'who does it (default: the OS user)')
      .action(async (o: { reason: string; author?: string }) => {
        const { AppError } = await import('@meridian/core');
        const reason = requireText(o.reason, '--reason', AppError);
        const author = requireText(o.author ?? (await osUser()), '--author', AppError);
        await withDb(async (db) => {
          const dbm = await import('@meridian/db');
          const r = await import('@meridian/risk');
          const now = Date.now();
          const cur = await dbm.readTradingState(db, r.initialTradingState(now));
          const t = r.requestTransition(cur.state, { to, actor: author, role: 'risk_officer', reason }, now);
          if (!t.ok) {
            if (t.error.code === 'no_change') {
              print(`${t.error.message}: ${describeState(cur.state, r.effectiveTradingState(cur.state, now), cur.version)}; nothing changed.`);
              return;
            }
            throw new AppError(t.error.code === 'forbidden' ? 'FORBIDDEN' : 'VALIDATION', t.error.message);
          }
          const res = await dbm.changeTradingState(db, {
            kind: t.value.transition.kind,
            to,
            actor: author,
            reason,
            at: now,
            until: t.value.state.until,
            expectedVersion: cur.version,
          });
          print(`trading is now ${res.state.state.state} (was ${t.value.transition.from}), set by ${author} at ${iso(now)}: ${reason}`);
        });
      });

  transition('halt', 'HALTED', 'the kill switch: halt all trading at once (nothing new is approved until resumed)');
  transition('reduce-only', 'REDUCING', 'accept only orders that reduce exposure');
  transition('resume', 'ACTIVE', 'resume normal trading after a halt or reduce-only');
}

async function withDb<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  const { loadConfig } = await import('@meridian/config');
  const { openDb, migrate } = await import('@meridian/db');
  const db = await openDb(loadConfig().db, { applicationName: 'meridian risk' });
  try {
    await migrate(db);
    return await fn(db);
  } finally {
    await db.close();
  }
}

async function readJson(file: string): Promise<unknown> {
  const fs = await import('node:fs/promises');
  const { AppError } = await import('@meridian/core');
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new AppError('NOT_FOUND', `cannot read ${file}: ${(e as Error).message}`, { hint: 'check the path; examples/risk-limits.json is a starting point' });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new AppError('VALIDATION', `${file} is not valid JSON: ${(e as Error).message}; nothing was stored`, { hint: 'fix the JSON syntax and run again' });
  }
}

function requireText(s: string, flag: string, E: typeof AppError): string {
  const t = s.trim();
  if (!t) throw new E('VALIDATION', `${flag} must not be empty`);
  return t;
}

async function osUser(): Promise<string> {
  const os = await import('node:os');
  try {
    return os.userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}

function describeState(s: TradingState, effective: string, version: number): string {
  if (version === 0) return `${s.state} (no halt or resume recorded yet)`;
  const base = `${s.state} since ${iso(s.since)}, set by ${s.actor}: ${s.reason}`;
  if (s.state === 'HALTED' && s.until !== null) {
    return effective === 'HALTED' ? `${base} (resumes by itself at ${iso(s.until)})` : `${base} (that halt ended at ${iso(s.until)}; trading is ACTIVE)`;
  }
  if (s.state === 'HALTED') return `${base} (a risk officer must resume: meridian risk resume --reason …)`;
  return base;
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].map((l) => `  ${l}`).join('\n');
}

function print(s: string): void {
  process.stdout.write(`${s}\n`);
}

function iso(t: number): string {
  return new Date(t).toISOString();
}
