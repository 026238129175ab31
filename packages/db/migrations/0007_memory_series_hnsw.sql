-- 0007_memory_series_hnsw: one HNSW graph per memory series for same-symbol recall on server
-- Postgres (packages/memory/src/pg-memory-store.ts, docs/memory.md "Series indexes").
--
-- A same-symbol recall through the global index (0003) walks a graph where its series is ≤ 1/(number
-- of series) of the entries, fetching the heap row of every candidate to test the filter: at 10
-- series and 1,000,000 memories that is 3,000–7,000 buffers per recall. A partial HNSW index per
-- series (exchange, symbol, timeframe, horizon; feature version 1, resolved rows) is a graph where
-- the series is 100% of the entries, so only the asOf filter remains. The planner picks it by its
-- predicate: a same-symbol recall's WHERE clause implies it. All-symbols recall keeps the global
-- index. Names are derived from the series (memories_v1_series_<md5 prefix>), so every process
-- agrees on them without a registry table.
--
-- memories_ensure_series_hnsw creates the index of a series when it does not exist yet. The store
-- calls it before it first writes a series (the index is then created nearly empty and grows with
-- the inserts), and this migration calls it for the series already stored. It is safe under
-- concurrency and idempotent:
--  * one creator per series: a transaction-scoped advisory lock, taken with pg_try_ (never waited
--    for); a caller that does not get it goes on without the index and asks again later;
--  * CREATE INDEX (not CONCURRENTLY, which cannot run in a transaction: the worker stores memories
--    inside its decision transaction) under a SHARE ROW EXCLUSIVE lock on memories, held to the end
--    of the caller's transaction: creators take turns, and writers wait while an index is created.
--    The catalog is checked again once the lock is held (another session may just have committed
--    the index). Waiting for the lock is bounded by p_lock_timeout_ms; a lock timeout or a deadlock
--    (a transaction that already wrote memories waiting for another creator) rolls back only this
--    function's subtransaction and returns false: the caller's transaction and its writes go on,
--    and recall stays correct through the global index;
--  * the index is never half-built: a failure rolls it back with the subtransaction.
-- Returns true when the series' index exists (now or before), false when it was not created now.
--
-- memories_exact_recall is the server's exact search (the store's choice when few memories can
-- match), run as a bitmap heap scan; see its comment below.
-- Server Postgres only; PGlite searches exactly (0003) and gets neither the functions nor indexes.
DO $migration$
DECLARE
  series jsonb;
  one jsonb;
BEGIN
  IF version() NOT LIKE '%PGlite%' THEN
    CREATE FUNCTION memories_series_hnsw_name(p_exchange text, p_symbol text, p_timeframe text, p_horizon integer)
      RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
      AS $f$ SELECT 'memories_v1_series_' || left(md5(p_exchange || chr(31) || p_symbol || chr(31) || p_timeframe || chr(31) || p_horizon::text), 24) $f$;

    CREATE FUNCTION memories_ensure_series_hnsw(p_exchange text, p_symbol text, p_timeframe text, p_horizon integer,
                                                p_lock_timeout_ms integer DEFAULT 2000)
      RETURNS boolean LANGUAGE plpgsql VOLATILE STRICT
      AS $f$
      DECLARE
        n text := memories_series_hnsw_name(p_exchange, p_symbol, p_timeframe, p_horizon);
        valid boolean;
        old_timeout text := current_setting('lock_timeout');
      BEGIN
        SELECT i.indisvalid INTO valid FROM pg_index i WHERE i.indexrelid = to_regclass(quote_ident(n));
        IF valid IS NOT NULL THEN RETURN valid; END IF;
        IF NOT pg_try_advisory_xact_lock(hashtext('memories_ensure_series_hnsw'), hashtext(n)) THEN RETURN false; END IF;
        BEGIN
          PERFORM set_config('lock_timeout', p_lock_timeout_ms || 'ms', true);
          -- SHARE ROW EXCLUSIVE, not just the SHARE that CREATE INDEX takes: it also conflicts with
          -- itself, so creators take turns, and the creator's own later writes (ROW EXCLUSIVE) never
          -- wait for another creator. With SHARE alone, two transactions creating indexes for two
          -- new series and then inserting would each wait for the other's SHARE: a deadlock in the
          -- callers' INSERTs, outside this function. Taking the lock also refreshes this session's
          -- view of the catalog for the check below.
          LOCK TABLE memories IN SHARE ROW EXCLUSIVE MODE;
          IF to_regclass(quote_ident(n)) IS NULL THEN
            EXECUTE format(
              'CREATE INDEX %I ON memories USING hnsw ((embedding::vector(32)) vector_l2_ops) WITH (m = 16, ef_construction = 64) '
              'WHERE feature_version = 1 AND resolved_at IS NOT NULL AND exchange = %L AND symbol = %L AND timeframe = %L AND horizon_bars = %s',
              n, p_exchange, p_symbol, p_timeframe, p_horizon);
          END IF;
          PERFORM set_config('lock_timeout', old_timeout, true);
          RETURN true;
        EXCEPTION WHEN lock_not_available OR deadlock_detected OR duplicate_table OR unique_violation THEN
          RETURN false; -- the subtransaction is rolled back, lock_timeout with it
        END;
      END
      $f$;

    -- The exact search of the server (PgMemoryStore, when few memories can match): the same
    -- query as before, run with index scans off so that the rows are read by a bitmap heap scan —
    -- heap pages in physical order, each once — instead of one heap visit per index entry in
    -- resolved_at order, which for all-symbols hops between the series' regions of the table: 16,000
    -- rows at 1,000,000 memories took 18–41 ms by index scan and 3.5–5.6 ms by bitmap here (load 9).
    -- The planner prefers the index scan from its cost model (random_page_cost 4, a server setting).
    -- Dynamic SQL with USING is planned with the values, so the estimates stay exact; the SET
    -- clause applies to this function only.
    CREATE FUNCTION memories_exact_recall(p_query vector, p_feature_version integer, p_timeframe text, p_horizon integer,
                                          p_as_of bigint, p_k integer, p_exchange text, p_symbol text)
      RETURNS TABLE (id uuid, exchange text, symbol text, timeframe text, ts bigint, horizon_bars integer,
                     forward_return double precision, mfe double precision, mae double precision, resolved_at bigint,
                     distance double precision)
      LANGUAGE plpgsql STABLE SET enable_indexscan = off
      AS $f$
      BEGIN
        RETURN QUERY EXECUTE format(
          'SELECT m.id, m.exchange, m.symbol, m.timeframe, m.ts, m.horizon_bars, m.forward_return, m.mfe, m.mae, m.resolved_at, '
          'm.embedding <-> $1 AS distance FROM memories m WHERE m.feature_version = %s AND m.timeframe = $2 AND m.horizon_bars = $3 '
          'AND m.resolved_at IS NOT NULL AND m.resolved_at <= $4%s ORDER BY distance, m.ts, m.id LIMIT $5',
          p_feature_version, CASE WHEN p_symbol IS NULL THEN '' ELSE ' AND m.exchange = $6 AND m.symbol = $7' END)
        USING p_query, p_timeframe, p_horizon, p_as_of, p_k, p_exchange, p_symbol;
      END
      $f$;

    -- the series already stored (minutes for a million memories: one graph build per series),
    -- listed first: CREATE INDEX refuses to run while a query of this session still reads memories
    PERFORM set_config('maintenance_work_mem', '512MB', true);
    SELECT coalesce(jsonb_agg(d), '[]') INTO series
      FROM (SELECT DISTINCT exchange, symbol, timeframe, horizon_bars FROM memories WHERE feature_version = 1) d;
    FOR one IN SELECT * FROM jsonb_array_elements(series) LOOP
      PERFORM memories_ensure_series_hnsw(one->>'exchange', one->>'symbol', one->>'timeframe', (one->>'horizon_bars')::integer, 60000);
    END LOOP;
  END IF;
END
$migration$;
