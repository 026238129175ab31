-- 0001_initial: the first Meridian schema.
-- Conventions: times are UTC epoch milliseconds in bigint columns; money and quantities are
-- double precision (the system computes in JS numbers and rounds in one place, packages/core);
-- structured messages are stored whole as jsonb next to the typed columns that queries need.
-- Never edit this file once released: add 0002_… instead (the checksum is verified).

CREATE EXTENSION IF NOT EXISTS vector;

-- Append-only tables refuse UPDATE, DELETE and TRUNCATE. SQLSTATE 23001 (restrict_violation).
CREATE FUNCTION meridian_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'restrict_violation',
          HINT = 'append a new row that supersedes the old one instead';
END;
$$;

-- ── market data ──────────────────────────────────────────────────────────────────────────
-- ts is the bar's open time. The primary key is also the range-read and stats index.
CREATE TABLE candles (
  exchange  text NOT NULL,
  symbol    text NOT NULL,
  timeframe text NOT NULL,
  ts        bigint NOT NULL,
  o         double precision NOT NULL,
  h         double precision NOT NULL,
  l         double precision NOT NULL,
  c         double precision NOT NULL,
  v         double precision NOT NULL,
  PRIMARY KEY (exchange, symbol, timeframe, ts),
  CONSTRAINT candles_sane CHECK (l <= h AND v >= 0)
);

-- ── memory ───────────────────────────────────────────────────────────────────────────────
-- One situation (feature vector at ts) and, once the horizon has passed, its outcome and the
-- time that outcome became known (resolved_at). Recall at t only sees resolved_at <= t.
-- embedding is an unconstrained `vector`: each feature_version fixes its own dimension, so a new
-- feature set needs no column rewrite. Recall is an exact scan narrowed by memories_recall_idx.
-- When an ANN index is needed, index one version with an expression + partial index, e.g.
--   CREATE INDEX ON memories USING hnsw ((embedding::vector(32)) vector_l2_ops) WHERE feature_version = 1;
-- and query with `embedding::vector(32) <-> $1::vector(32)` and `feature_version = 1` (see docs/database.md).
CREATE TABLE memories (
  id              uuid PRIMARY KEY,
  exchange        text NOT NULL,
  symbol          text NOT NULL,
  timeframe       text NOT NULL,
  ts              bigint NOT NULL,
  feature_version integer NOT NULL CHECK (feature_version > 0),
  embedding       vector NOT NULL,
  horizon_bars    integer NOT NULL CHECK (horizon_bars > 0),
  forward_return  double precision,
  mfe             double precision,
  mae             double precision,
  resolved_at     bigint,
  created_at      bigint NOT NULL,
  CONSTRAINT memories_situation_key UNIQUE (exchange, symbol, timeframe, ts, feature_version, horizon_bars),
  CONSTRAINT memories_outcome_complete CHECK (
    (resolved_at IS NULL AND forward_return IS NULL AND mfe IS NULL AND mae IS NULL)
    OR (resolved_at IS NOT NULL AND forward_return IS NOT NULL AND mfe IS NOT NULL AND mae IS NOT NULL)
  )
);
CREATE INDEX memories_recall_idx ON memories (feature_version, timeframe, resolved_at);
CREATE INDEX memories_unresolved_idx ON memories (exchange, symbol, timeframe, ts) WHERE resolved_at IS NULL;

-- ── decisions ────────────────────────────────────────────────────────────────────────────
-- run_scope is 'live' or a backtest run id: one decision per bar per scope, so a redelivered
-- candle can never create a second decision.
CREATE TABLE decision_traces (
  trace_id    uuid PRIMARY KEY,
  decision_id uuid NOT NULL UNIQUE,
  run_scope   text NOT NULL,
  exchange    text NOT NULL,
  symbol      text NOT NULL,
  timeframe   text NOT NULL,
  as_of       bigint NOT NULL,
  outcome     text NOT NULL,
  runner      text NOT NULL CHECK (runner IN ('graph', 'fast')),
  trace       jsonb NOT NULL,
  created_at  bigint NOT NULL,
  CONSTRAINT decision_traces_bar_key UNIQUE (exchange, symbol, timeframe, as_of, run_scope)
);
CREATE INDEX decision_traces_scope_idx ON decision_traces (run_scope, as_of DESC);

-- ── risk ─────────────────────────────────────────────────────────────────────────────────
CREATE TABLE risk_limit_versions (
  version    integer PRIMARY KEY CHECK (version > 0),
  document   jsonb NOT NULL,
  author     text NOT NULL,
  reason     text NOT NULL,
  created_at bigint NOT NULL
);
CREATE TRIGGER risk_limit_versions_append_only BEFORE UPDATE OR DELETE ON risk_limit_versions
  FOR EACH ROW EXECUTE FUNCTION meridian_append_only();
CREATE TRIGGER risk_limit_versions_no_truncate BEFORE TRUNCATE ON risk_limit_versions
  FOR EACH STATEMENT EXECUTE FUNCTION meridian_append_only();

-- The current state per scope ('global' = the kill switch) and every change to it.
CREATE TABLE trading_state (
  scope      text PRIMARY KEY,
  state      text NOT NULL CHECK (state IN ('ACTIVE', 'REDUCING', 'HALTED')),
  reason     text NOT NULL,
  actor      text NOT NULL,
  since      bigint NOT NULL,
  until      bigint,
  version    integer NOT NULL CHECK (version > 0)
);
CREATE TABLE trading_state_transitions (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  scope      text NOT NULL,
  from_state text,
  to_state   text NOT NULL,
  reason     text NOT NULL,
  actor      text NOT NULL,
  at         bigint NOT NULL,
  until      bigint
);
CREATE INDEX trading_state_transitions_scope_idx ON trading_state_transitions (scope, id DESC);
CREATE TRIGGER trading_state_transitions_append_only BEFORE UPDATE OR DELETE ON trading_state_transitions
  FOR EACH ROW EXECUTE FUNCTION meridian_append_only();
CREATE TRIGGER trading_state_transitions_no_truncate BEFORE TRUNCATE ON trading_state_transitions
  FOR EACH STATEMENT EXECUTE FUNCTION meridian_append_only();

CREATE TABLE audit_log (
  id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at     bigint NOT NULL,
  actor  text NOT NULL,
  action text NOT NULL,
  entity text NOT NULL,
  before jsonb,
  after  jsonb,
  reason text
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity, id DESC);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION meridian_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION meridian_append_only();

-- ── execution ────────────────────────────────────────────────────────────────────────────
-- order_id is generated before submission and sent as the exchange's client order id.
CREATE TABLE orders (
  order_id          uuid PRIMARY KEY,
  decision_id       uuid NOT NULL,
  exchange          text NOT NULL,
  symbol            text NOT NULL,
  side              text NOT NULL CHECK (side IN ('buy', 'sell')),
  type              text NOT NULL CHECK (type IN ('market', 'limit')),
  quantity          double precision NOT NULL CHECK (quantity > 0),
  limit_price       double precision CHECK (limit_price > 0),
  status            text NOT NULL CHECK (status IN ('NEW', 'SUBMITTING', 'OPEN', 'PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'REJECTED', 'EXPIRED', 'FAILED')),
  status_reason     text,
  exchange_order_id text,
  filled_quantity   double precision NOT NULL DEFAULT 0 CHECK (filled_quantity >= 0),
  avg_fill_price    double precision CHECK (avg_fill_price > 0),
  fees              double precision NOT NULL DEFAULT 0 CHECK (fees >= 0),
  approval          jsonb,
  request           jsonb,
  created_at        bigint NOT NULL,
  updated_at        bigint NOT NULL,
  CONSTRAINT orders_limit_price CHECK ((type = 'limit') = (limit_price IS NOT NULL))
);
-- reconciliation on start reads every non-terminal order
CREATE INDEX orders_open_idx ON orders (exchange, created_at)
  WHERE status NOT IN ('FILLED', 'CANCELED', 'REJECTED', 'EXPIRED', 'FAILED');
CREATE INDEX orders_decision_idx ON orders (decision_id);
CREATE INDEX orders_exchange_order_idx ON orders (exchange, exchange_order_id) WHERE exchange_order_id IS NOT NULL;
CREATE INDEX orders_created_idx ON orders (created_at DESC);

CREATE TABLE order_transitions (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_id    uuid NOT NULL REFERENCES orders (order_id),
  from_status text,
  to_status   text NOT NULL,
  at          bigint NOT NULL,
  reason      text
);
CREATE INDEX order_transitions_order_idx ON order_transitions (order_id, id);

-- fill_id is the exchange's trade id (unique per exchange): re-reading a trade never adds a fill.
CREATE TABLE fills (
  exchange     text NOT NULL,
  fill_id      text NOT NULL,
  order_id     uuid NOT NULL REFERENCES orders (order_id),
  symbol       text NOT NULL,
  side         text NOT NULL CHECK (side IN ('buy', 'sell')),
  quantity     double precision NOT NULL CHECK (quantity > 0),
  price        double precision NOT NULL CHECK (price > 0),
  fee          double precision NOT NULL CHECK (fee >= 0),
  fee_currency text NOT NULL,
  liquidity    text CHECK (liquidity IN ('maker', 'taker')),
  ts           bigint NOT NULL,
  PRIMARY KEY (exchange, fill_id)
);
CREATE INDEX fills_order_idx ON fills (order_id, ts);

-- quantity is signed: > 0 long, < 0 short. Mark-dependent values are computed, not stored.
CREATE TABLE positions (
  exchange        text NOT NULL,
  symbol          text NOT NULL,
  quantity        double precision NOT NULL,
  avg_entry_price double precision NOT NULL CHECK (avg_entry_price >= 0),
  realized_pnl    double precision NOT NULL,
  opened_at       bigint,
  updated_at      bigint NOT NULL,
  PRIMARY KEY (exchange, symbol)
);

-- The source of truth for orders on their way to the executor (Redis may be flushed).
-- A relay claims rows (a lease in claimed_until), enqueues them, marks them dispatched; the
-- executor acks. Unacked rows are dispatched again after a delay; the order id keeps that idempotent.
CREATE TABLE outbox (
  id             uuid PRIMARY KEY,
  order_id       uuid NOT NULL UNIQUE,
  payload        jsonb NOT NULL,
  created_at     bigint NOT NULL,
  claimed_until  bigint,
  dispatched_at  bigint,
  dispatch_count integer NOT NULL DEFAULT 0,
  acked_at       bigint
);
CREATE INDEX outbox_pending_idx ON outbox (created_at) WHERE acked_at IS NULL;

-- ── backtests ────────────────────────────────────────────────────────────────────────────
CREATE TABLE backtest_runs (
  id          uuid PRIMARY KEY,
  status      text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'failed')),
  params      jsonb NOT NULL,
  summary     jsonb,
  out_dir     text,
  created_at  bigint NOT NULL,
  finished_at bigint
);
CREATE INDEX backtest_runs_created_idx ON backtest_runs (created_at DESC);

-- ── people ───────────────────────────────────────────────────────────────────────────────
CREATE TABLE users (
  id         uuid PRIMARY KEY,
  name       text NOT NULL UNIQUE,
  role       text NOT NULL CHECK (role IN ('trader', 'quant', 'risk_officer', 'admin')),
  created_at bigint NOT NULL
);

-- Only the SHA-256 (hex) of a token is stored; the token itself is shown once.
CREATE TABLE api_tokens (
  id           uuid PRIMARY KEY,
  user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token_hash   text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  label        text NOT NULL,
  created_at   bigint NOT NULL,
  last_used_at bigint,
  revoked_at   bigint
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);
