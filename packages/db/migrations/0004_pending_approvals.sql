-- 0004_pending_approvals: decisions waiting for a risk officer (packages/orchestrator, docs/orchestrator.md).
-- A risk verdict of pending_approval stores its trace (outcome 'pending_approval') and one row here.
-- `meridian risk approve|deny` resolves it once (status moves away from 'pending' exactly once);
-- a row past expires_at can only become 'expired'. Times are UTC epoch ms.
CREATE TABLE pending_approvals (
  decision_id  uuid PRIMARY KEY REFERENCES decision_traces (decision_id),
  run_scope    text NOT NULL,
  exchange     text NOT NULL,
  symbol       text NOT NULL,
  status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied', 'expired')),
  requested_at bigint NOT NULL,
  expires_at   bigint NOT NULL CHECK (expires_at > requested_at),
  resolved_at  bigint,
  resolved_by  text,
  reason       text,
  CONSTRAINT pending_approvals_resolution CHECK ((status = 'pending') = (resolved_at IS NULL))
);
-- the expiry sweep and "what is waiting" read only open rows
CREATE INDEX pending_approvals_open_idx ON pending_approvals (expires_at) WHERE status = 'pending';
