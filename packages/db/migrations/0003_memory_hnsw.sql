-- 0003_memory_hnsw: indexes for point-in-time memory recall (packages/memory, docs/memory.md).
-- (0002 is left to the db package's own next migration.)

-- Exact recall narrowed to one comparable set (feature version, timeframe, horizon) and, for
-- same-symbol recall, one series; resolved_at last so "resolved by asOf" is a range.
-- Used for the exact scans on PGlite and as the server's fallback for very selective filters.
CREATE INDEX memories_scope_idx ON memories (feature_version, timeframe, horizon_bars, exchange, symbol, resolved_at)
  WHERE resolved_at IS NOT NULL;

-- Server Postgres only: an HNSW index over feature version 1 (32 dimensions, Euclidean).
-- The embedding column is an unconstrained `vector`, so the index is on the expression
-- embedding::vector(32) (which also rejects a version-1 vector of the wrong length) and is
-- partial on the version; only resolved memories are ever recalled, so unresolved rows stay out
-- of the graph. A new feature version adds its own partial index in a new migration.
-- Skipped on PGlite (embedded mode), where recall is an exact scan: HNSW maintenance in WASM is
-- slow and exact scans of embedded-sized sets take milliseconds.
DO $$
BEGIN
  IF version() NOT LIKE '%PGlite%' THEN
    CREATE INDEX memories_embedding_v1_hnsw ON memories
      USING hnsw ((embedding::vector(32)) vector_l2_ops) WITH (m = 16, ef_construction = 64)
      WHERE feature_version = 1 AND resolved_at IS NOT NULL;
  END IF;
END
$$;
