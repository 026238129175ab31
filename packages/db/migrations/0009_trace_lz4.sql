-- 0009_trace_lz4: decision traces are compressed with LZ4 instead of pglz (server Postgres built with
-- LZ4, as Debian's and the official images are). A trace is 10–20 kB of JSON, stored once per decided bar
-- inside the worker's event transaction; pglz took about half of that INSERT's time (worker bench,
-- pg_stat_statements: 0.43 → 0.20 ms per trace). Only new values are compressed the new way; stored
-- traces stay readable as they are. The LangGraph checkpoint blobs get the same in openCheckpointer
-- (packages/orchestrator), whose tables PostgresSaver creates. PGlite and servers without LZ4: unchanged.
-- SET COMPRESSION takes an ACCESS EXCLUSIVE lock (a catalog change, no rewrite): it waits at most 10 s
-- for readers of the table to finish, so a long query cannot make every worker event queue behind it;
-- past that the migration fails with a lock timeout and is simply run again.
DO $$
BEGIN
  IF version() NOT LIKE '%PGlite%'
     AND EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals))
     AND NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'decision_traces'::regclass AND attname = 'trace' AND attcompression = 'l') THEN
    PERFORM set_config('lock_timeout', '10s', true);
    ALTER TABLE decision_traces ALTER COLUMN trace SET COMPRESSION lz4;
  END IF;
END
$$;
