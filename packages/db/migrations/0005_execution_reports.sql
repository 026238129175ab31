-- 0005_execution_reports: what the executor publishes, and wake-ups for the outbox relay.
-- (0002 is left to the db package's own next migration; 0003 is memory's, 0004 risk's pending approvals.)

-- Every change the executor makes to an order, as an ExecutionReport message (contracts), in commit
-- order. The API streams from here (read after an id; LISTEN meridian_execution_reports for a wake-up).
CREATE TABLE execution_reports (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_id   uuid NOT NULL REFERENCES orders (order_id),
  status     text NOT NULL,
  report     jsonb NOT NULL,
  created_at bigint NOT NULL
);
CREATE INDEX execution_reports_order_idx ON execution_reports (order_id, id);
CREATE TRIGGER execution_reports_append_only BEFORE UPDATE OR DELETE ON execution_reports
  FOR EACH ROW EXECUTE FUNCTION meridian_append_only();
CREATE TRIGGER execution_reports_no_truncate BEFORE TRUNCATE ON execution_reports
  FOR EACH STATEMENT EXECUTE FUNCTION meridian_append_only();

-- The order history is a record: a stored transition is never changed.
CREATE TRIGGER order_transitions_append_only BEFORE UPDATE OR DELETE ON order_transitions
  FOR EACH ROW EXECUTE FUNCTION meridian_append_only();

-- NOTIFY is delivered at commit, so a listener never sees a row that is not there yet.
CREATE FUNCTION meridian_notify_execution_report() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('meridian_execution_reports', NEW.id::text);
  RETURN NULL;
END;
$$;
CREATE TRIGGER execution_reports_notify AFTER INSERT ON execution_reports
  FOR EACH ROW EXECUTE FUNCTION meridian_notify_execution_report();

-- One wake-up per inserting statement for the outbox relay (it reads the rows itself).
CREATE FUNCTION meridian_notify_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('meridian_outbox', '');
  RETURN NULL;
END;
$$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
  FOR EACH STATEMENT EXECUTE FUNCTION meridian_notify_outbox();

-- A row whose payload can never be dispatched (it does not parse) is acked by the relay with the reason
-- here, instead of being re-dispatched forever.
ALTER TABLE outbox ADD COLUMN dead_reason text;
