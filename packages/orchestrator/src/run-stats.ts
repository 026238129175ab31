import type { DecisionTrace } from '@meridian/contracts';
import { BACKTEST_RESOLVER } from './orchestrator-deps.ts';

/** What a run of decisions came to; a backtest reports `pendingRejected` next to its orders. */
export interface RunStats {
  decisions: number;
  holds: number;
  orders: number;
  rejected: number;
  /** pending approvals denied at once because no officer exists (pendingApproval 'reject') */
  pendingRejected: number;
  /** pending approvals recorded and waiting for an officer (pendingApproval 'wait') */
  pendingApprovals: number;
  /** bars that already had a decision (redelivered): the stored trace was returned */
  duplicates: number;
}

export const emptyStats = (): RunStats => ({ decisions: 0, holds: 0, orders: 0, rejected: 0, pendingRejected: 0, pendingApprovals: 0, duplicates: 0 });

export function countTrace(stats: RunStats, trace: DecisionTrace, inserted: boolean): void {
  if (!inserted) {
    stats.duplicates++;
    return;
  }
  stats.decisions++;
  switch (trace.outcome) {
    case 'hold':
      stats.holds++;
      break;
    case 'order':
    case 'approved_by_officer':
      stats.orders++;
      break;
    case 'rejected':
      stats.rejected++;
      break;
    case 'pending_approval':
      stats.pendingApprovals++;
      break;
    case 'denied':
    case 'expired':
      if (trace.resolution?.by === BACKTEST_RESOLVER) stats.pendingRejected++;
      break;
  }
}
