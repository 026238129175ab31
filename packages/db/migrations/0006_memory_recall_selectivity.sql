-- 0006_memory_recall_selectivity: faster filtered memory recall on server Postgres
-- (packages/memory/src/pg-memory-store.ts, docs/memory.md "Choosing the search per query").

-- All-symbols recall narrowed to one comparable set with resolved_at as a range. It serves the
-- exact scan when an early asOf leaves few memories, and the store's probe for the T-th oldest
-- resolved memory of the set (index-only). memories_recall_idx (0001) lacks horizon_bars, so it
-- could not answer either without visiting the heap.
CREATE INDEX memories_scope_time_idx ON memories (feature_version, timeframe, horizon_bars, resolved_at)
  WHERE resolved_at IS NOT NULL;

-- Server Postgres only: the HNSW scan settings recall needs, as this database's defaults, so a
-- recall is one statement instead of BEGIN / SET LOCAL / SELECT / COMMIT (four round trips).
-- They only affect HNSW index scans, and memories is the only table with one. The store reads the
-- settings back with every HNSW recall and repeats it under SET LOCAL when they differ (a
-- connection opened before this ran, or a store configured with other values), so nothing
-- depends on them for correctness. Values = PgMemoryStore's defaults.
DO $$
BEGIN
  IF version() NOT LIKE '%PGlite%' THEN
    EXECUTE format('ALTER DATABASE %I SET hnsw.iterative_scan = relaxed_order', current_database());
    EXECUTE format('ALTER DATABASE %I SET hnsw.ef_search = 100', current_database());
    EXECUTE format('ALTER DATABASE %I SET hnsw.max_scan_tuples = 20000', current_database());
  END IF;
END
$$;
