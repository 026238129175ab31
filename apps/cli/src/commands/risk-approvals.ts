import type { Command } from 'commander';

/**
 * `meridian risk approve|deny DECISION_ID --author … --reason …`: a risk officer answers a
 * decision the risk gate sent to pending_approval. On server Postgres this resumes the worker's
 * interrupted LangGraph run (PostgresSaver); in embedded mode it resolves the stored trace. An
 * approval signs a fresh order approval and writes the outbox row; both write an audit entry.
 * An approval past MERIDIAN_PENDING_APPROVAL_TTL_MS is refused and the decision marked expired.
 * Heavy modules load inside the handler so `meridian --help` stays fast.
 */
export function registerRiskApprovalCommands(risk: Command): void {
  const answer = (name: 'approve' | 'deny', description: string) =>
    risk
      .command(name)
      .description(description)
      .argument('<decisionId>', 'the decision waiting for approval (its id is on the pending trace)')
      .requiredOption('--reason <text>', 'why (kept in the trace and the audit log)')
      .requiredOption('--author <name>', 'the risk officer answering (kept in the trace and the audit log)')
      .option('--json', 'print the resolved trace as JSON')
      .action(async (decisionId: string, o: { reason: string; author: string; json?: boolean }) => {
        const { AppError, isUuid, toIso } = await import('@meridian/core');
        const { loadConfig, requireSigningKey } = await import('@meridian/config');
        const { openDb, migrate } = await import('@meridian/db');
        const { openApprovalService, resolvePendingApproval } = await import('@meridian/orchestrator');
        const id = decisionId.trim().toLowerCase();
        if (!isUuid(id)) throw new AppError('VALIDATION', `"${decisionId}" is not a decision id (a UUID)`, { hint: 'copy it from the pending decision on the dashboard or its trace' });
        const reason = o.reason.trim();
        if (!reason) throw new AppError('VALIDATION', '--reason must not be empty');
        const author = o.author.trim();
        if (!author) throw new AppError('VALIDATION', '--author must not be empty');
        const config = loadConfig();
        // denying signs nothing, so it works without the key; approving needs it
        const signing =
          name === 'approve' ? requireSigningKey(config) : { keyId: config.risk.signingKeyId, key: config.risk.signingKey ?? '' };
        const db = await openDb(config.db, { applicationName: `meridian risk ${name}` });
        try {
          await migrate(db);
          const svc = await openApprovalService({
            db,
            dbConfig: config.db,
            signing,
            approvalTtlMs: config.risk.approvalTtlMs,
            pendingApprovalTtlMs: config.risk.pendingApprovalTtlMs,
          });
          try {
            const { trace } = await resolvePendingApproval(svc.service, { decisionId: id, decision: name, author, reason });
            if (o.json) {
              print(JSON.stringify(trace));
              return;
            }
            const order = trace.orderRequest;
            if (trace.outcome === 'approved_by_officer' && order) {
              print(
                `approved decision ${id} (${trace.symbol}): order ${order.orderId} ${order.side} ${order.quantity} ${order.symbol} is in the outbox; its approval is valid until ${toIso(order.approval.expiresAt)}.`,
              );
            } else if (trace.outcome === 'expired') {
              print(`decision ${id} had already expired (${trace.resolution?.reason ?? 'pending approval timed out'}); it is marked expired and nothing was sent.`);
            } else {
              print(`denied decision ${id} (${trace.symbol}) by ${author}: ${reason}. Nothing was sent.`);
            }
          } finally {
            await svc.close();
          }
        } finally {
          await db.close();
        }
      });

  answer('approve', 'approve an order waiting for a risk officer: signs it and hands it to the outbox');
  answer('deny', 'deny an order waiting for a risk officer: nothing is sent');
}

function print(s: string): void {
  process.stdout.write(`${s}\n`);
}
