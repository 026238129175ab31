-- 0008_memory_ef_search_40: the HNSW candidate list of memory recall goes from 100 to 40
-- (packages/memory/src/pg-memory-store.ts, docs/memory.md "Choosing the search per query").
-- With the time tiers (PgMemoryStore.ensureTimeTiers) a recall's matches are at least a sixth of the graph it
-- walks, so a shorter candidate list finds its k nearest: at 1,000,000 memories recall@10 against exact search
-- stayed at 0.99 (target 0.95) while each recall reads about half the index pages (p50 3.4–3.8 → 2.3 ms on
-- this machine). Server Postgres only, as 0006; PgMemoryStore's default efSearch is 40 with it, and a store
-- built with another value still runs its recalls under SET LOCAL.
DO $$
BEGIN
  IF version() NOT LIKE '%PGlite%' THEN
    EXECUTE format('ALTER DATABASE %I SET hnsw.ef_search = 40', current_database());
  END IF;
END
$$;
