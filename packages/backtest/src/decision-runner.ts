import type { DecisionTrace } from '@meridian/contracts';
import type { DecisionContext } from '@meridian/orchestrator';

/**
 * The seam between the replay engine and the orchestrator: the engine builds the orchestrator's
 * `DecisionContext` for each closed bar (exactly what the live worker hands over; nothing from after
 * `subject.asOf`) and gets the DecisionTrace back. The fast runner answers synchronously — no promise per
 * bar in the hot loop — the LangGraph runner with a promise.
 */
export interface DecisionRunner {
  readonly kind: 'fast' | 'graph';
  run(context: DecisionContext): DecisionTrace | Promise<DecisionTrace>;
  close?(): Promise<void>;
}
