import { createHash } from 'node:crypto';
import { TIMEFRAME_MS, type Timeframe } from '@meridian/contracts';
import { AppError } from '@meridian/core';
import { type Db, namedStatement, pgErrorCode, type RecalledMemoryRow, recalledMemoryFromRow, vectorParam } from '@meridian/db';
import type { MemoryKey, MemoryStore, Outcome, RecallOptions, Situation, StoreResult } from './memory-store.ts';
import { checkOutcome, checkRecall, checkSituation, keyString, memoryId, toRecall } from './memory-validation.ts';
import type { MemoryRecall } from '@meridian/contracts';

/**
 * How recall searches on server Postgres:
 *  - 'hnsw' (default): per query, the cheaper of two searches (docs/memory.md, "Choosing the search
 *    per query"). When fewer than `exactBelow` memories can match the filter — known without
 *    counting from the cached time of the `exactBelow`-th oldest resolved memory of the series
 *    (same-symbol) or set (all-symbols) — an exact scan through the btree (on the server a bitmap
 *    heap scan, migration 0007's memories_exact_recall); otherwise an HNSW index with pgvector's
 *    iterative scan (`relaxed_order`), re-ordered exactly outside — the series' own index for
 *    same-symbol (migration 0007, created by `store` before a series' first write), the feature
 *    version's global index for all-symbols; if that scan still gives up before finding k
 *    (`hnsw.max_scan_tuples`), the exact scan.
 *  - 'exact': always an exact scan (the btree narrows the filter, then every candidate is compared).
 * PGlite always searches exactly (no HNSW index there, migrations 0003 and 0007).
 */
export type ServerRecallMode = 'hnsw' | 'exact';

export interface PgMemoryStoreOptions {
  readonly mode?: ServerRecallMode;
  /** hnsw.ef_search: candidate list size per scan step (default 40, the database default since migration 0008) */
  readonly efSearch?: number;
  /** hnsw.max_scan_tuples: how far an iterative scan goes before giving up (default 20,000) */
  readonly maxScanTuples?: number;
  /**
   * search exactly when fewer than this many memories can match the filter; 'auto' (default):
   * √(25 · k · N) for N memories in the table (pg_class.reltuples), clamped to 1,000 … 50,000 —
   * about 5,000 at 100,000 memories and 16,000 at 1,000,000 for k = 10 (docs/memory.md)
   */
  readonly exactBelow?: number | 'auto';
  /**
   * c_h/c_e of the 'auto' exactBelow (√(ratio · k · N)): what walking one HNSW tuple costs relative to
   * comparing one row exactly, for a series' own graph and for the global one (defaults in
   * DEFAULT_EXACT_COST_RATIO; docs/memory.md)
   */
  readonly exactCostRatio?: { readonly series?: number; readonly global?: number };
  /** how long the per-series selectivity threshold is cached, ms (default 300,000) */
  readonly thresholdTtlMs?: number;
  /** epoch-ms clock for created_at and the threshold cache (default Date.now) */
  readonly now?: () => number;
  /** rows per INSERT/UPDATE statement (default 2,000) */
  readonly batchSize?: number;
  /**
   * On server Postgres, make sure each feature-version-1 series (exchange, symbol, timeframe,
   * horizon) has its own HNSW index (migration 0007) before this store first writes it, so that
   * same-symbol recall searches a graph of that series only (default true). `false` is for bulk
   * loads that build the indexes after loading (`ensureSeriesIndexes`): growing an HNSW graph row
   * by row is much slower than building it once.
   */
  readonly seriesIndexes?: boolean;
  /**
   * same-symbol recall through the series' own HNSW index when it exists (default true); false
   * searches the global index as before migration 0007 (same filter, for comparison)
   */
  readonly seriesSearch?: boolean;
  /** how long creating a series index may wait for the table lock before giving up for now, ms (default 2,000) */
  readonly seriesIndexLockTimeoutMs?: number;
  /** after a series index could not be created, how long writes of that series skip asking again, ms (default 60,000) */
  readonly seriesIndexRetryMs?: number;
}

/** Which search answered recalls, for benchmarks and tests (counts since construction). */
export interface RecallPathCounts {
  /** exact scan chosen up front: fewer than `exactBelow` memories can match */
  exact: number;
  /** HNSW iterative scan found k */
  hnsw: number;
  /** HNSW scan gave up with fewer than k, then the exact scan */
  fallback: number;
  /** the HNSW statement ran again under SET LOCAL because the session's settings differed */
  resets: number;
  /** threshold probes (one per series per TTL) */
  probes: number;
  /** series whose own HNSW index this store found or created (once per series and store) */
  seriesIndexed: number;
  /** attempts to create a series index that gave up for now (lock timeout, deadlock, another creator) */
  seriesIndexDeferred: number;
}

/** c_h/c_e for the 'auto' exactBelow, per graph walked (docs/memory.md, "Choosing the search per query"). */
export const DEFAULT_EXACT_COST_RATIO = { series: 25, global: 25 } as const;

/** Feature versions with an HNSW index on the server (migration 0003): version → dimension. */
const HNSW_INDEXED: ReadonlyMap<number, number> = new Map([[1, 32]]);

/** A recall row (db's RecalledMemoryRow) with the session's HNSW settings as the statement saw them, when asked. */
interface RecallRow extends RecalledMemoryRow {
  /** "iterative_scan ef_search max_scan_tuples" */
  settings?: string;
}

const RECALL_COLUMNS = 'id, exchange, symbol, timeframe, ts, horizon_bars, forward_return, mfe, mae, resolved_at';

/** store: insert situations, or resolve the unresolved ones an outcome arrives for (named: the worker runs it on every event) */
const STORE = namedStatement(
  `WITH w AS (
           INSERT INTO memories AS m (id, exchange, symbol, timeframe, ts, feature_version, embedding, horizon_bars,
                                      forward_return, mfe, mae, resolved_at, created_at)
           SELECT u.id, u.exchange, u.symbol, u.timeframe, u.ts, u.fv, u.emb::vector, u.h, u.fr, u.mfe, u.mae, u.ra, $13::bigint
             FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::int[], $7::text[], $8::int[],
                         $9::float8[], $10::float8[], $11::float8[], $12::bigint[])
                  AS u(id, exchange, symbol, timeframe, ts, fv, emb, h, fr, mfe, mae, ra)
           ON CONFLICT (exchange, symbol, timeframe, ts, feature_version, horizon_bars) DO UPDATE
              SET forward_return = excluded.forward_return, mfe = excluded.mfe, mae = excluded.mae, resolved_at = excluded.resolved_at
            WHERE m.resolved_at IS NULL AND excluded.resolved_at IS NOT NULL
           RETURNING (xmax = 0) AS inserted)
         SELECT count(*) FILTER (WHERE inserted)::int AS inserted, count(*)::int AS written FROM w`,
);

/** resolve: the outcomes of stored situations (named: the worker runs it on every event) */
const RESOLVE = namedStatement(
  `UPDATE memories AS m
            SET forward_return = u.fr, mfe = u.mfe, mae = u.mae, resolved_at = u.ra
           FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::int[], $6::int[], $7::float8[], $8::float8[], $9::float8[], $10::bigint[])
                AS u(exchange, symbol, timeframe, ts, fv, h, fr, mfe, mae, ra)
          WHERE m.exchange = u.exchange AND m.symbol = u.symbol AND m.timeframe = u.timeframe AND m.ts = u.ts
            AND m.feature_version = u.fv AND m.horizon_bars = u.h AND m.resolved_at IS NULL`,
);

/** What a series index (migration 0007) is per: the key without ts. */
export type SeriesKey = Pick<MemoryKey, 'exchange' | 'symbol' | 'timeframe' | 'featureVersion' | 'horizonBars'>;
const seriesKey = (k: SeriesKey): string => JSON.stringify([k.exchange, k.symbol, k.timeframe, k.featureVersion, k.horizonBars]);

/**
 * The memories a time tier is cut from (docs/memory.md, "Time tiers"): one comparable set of feature
 * version 1 — all symbols of a timeframe and horizon, or (with exchange and symbol) one series.
 */
export interface TimeTierSet {
  readonly timeframe: Timeframe;
  readonly horizonBars: number;
  readonly exchange?: string;
  readonly symbol?: string;
}

export interface TimeTierOptions {
  /** memories in the first tier (default 16,384) */
  readonly base?: number;
  /** each next tier holds this many times the memories of the one before (default 3) */
  readonly factor?: number;
  /** maintenance_work_mem while an index is built (default '1GB': an HNSW graph built in memory is many times faster) */
  readonly maintenanceWorkMem?: string;
}

/** One time tier: a partial HNSW index over the set's memories resolved at or before `upto`. */
export interface TimeTier {
  readonly name: string;
  readonly level: number;
  /** memories in the tier when it was built (the index's reltuples) */
  readonly rows: number;
  /** false: it existed before this call */
  readonly created: boolean;
}

/** Index-name prefix of a set's time tiers: the set's hash, so every process agrees without a registry. */
export function timeTierPrefix(set: TimeTierSet): string {
  const series = set.exchange !== undefined && set.symbol !== undefined;
  const h = createHash('md5')
    .update(series ? `${set.exchange}\u001f${set.symbol}\u001f${set.timeframe}\u001f${set.horizonBars}` : `${set.timeframe}\u001f${set.horizonBars}`)
    .digest('hex')
    .slice(0, 16);
  return `memories_v1_${series ? 'stier' : 'tier'}_${h}_`;
}

/** A Postgres array literal: one bound parameter per column is far cheaper than per-element binding. */
function numArray(xs: readonly (number | null)[]): string {
  return `{${xs.map((x) => (x === null ? 'NULL' : String(x))).join(',')}}`;
}
function textArray(xs: readonly string[]): string {
  return `{${xs.map((x) => `"${x.replace(/["\\]/g, (c) => `\\${c}`)}"`).join(',')}}`;
}

export class PgMemoryStore implements MemoryStore {
  readonly db: Db;
  readonly mode: ServerRecallMode;
  readonly #ef: number;
  readonly #maxScan: number;
  readonly #now: () => number;
  readonly #batch: number;
  readonly #exactBelow: number | 'auto';
  readonly #ttl: number;
  /** scope key → resolved_at of its `exactBelow`-th oldest resolved memory (null: fewer exist) */
  readonly #thresholds = new Map<string, { at: number; rT: number | null }>();
  /** false once a session's settings were found to differ: then always SET LOCAL */
  #sessionSettingsOk = true;
  readonly #seriesIndexes: boolean;
  readonly #seriesSearch: boolean;
  readonly #lockTimeoutMs: number;
  readonly #ratio: { readonly series: number; readonly global: number };
  /** series (seriesKey) known to have their own HNSW index */
  readonly #indexedSeries = new Set<string>();
  readonly #retryMs: number;
  /** series whose index creation was deferred → when to ask again (epoch ms of `now`) */
  readonly #deferredUntil = new Map<string, number>();
  readonly paths: RecallPathCounts = { exact: 0, hnsw: 0, fallback: 0, resets: 0, probes: 0, seriesIndexed: 0, seriesIndexDeferred: 0 };

  constructor(db: Db, options: PgMemoryStoreOptions = {}) {
    this.db = db;
    this.mode = options.mode ?? 'hnsw';
    this.#ef = options.efSearch ?? 40;
    this.#maxScan = options.maxScanTuples ?? 20_000;
    this.#now = options.now ?? Date.now;
    this.#batch = options.batchSize ?? 2000;
    this.#exactBelow = options.exactBelow ?? 'auto';
    this.#ttl = options.thresholdTtlMs ?? 300_000;
    this.#seriesIndexes = options.seriesIndexes ?? true;
    this.#seriesSearch = options.seriesSearch ?? true;
    this.#lockTimeoutMs = options.seriesIndexLockTimeoutMs ?? 2000;
    this.#retryMs = options.seriesIndexRetryMs ?? 60_000;
    this.#ratio = { ...DEFAULT_EXACT_COST_RATIO, ...options.exactCostRatio };
    for (const [name, v] of [
      ['seriesIndexLockTimeoutMs', this.#lockTimeoutMs],
      ['seriesIndexRetryMs', this.#retryMs],
      ['exactCostRatio.series', this.#ratio.series],
      ['exactCostRatio.global', this.#ratio.global],
      ['efSearch', this.#ef],
      ['maxScanTuples', this.#maxScan],
      ['batchSize', this.#batch],
      ['exactBelow', this.#exactBelow === 'auto' ? 1 : this.#exactBelow],
      ['thresholdTtlMs', this.#ttl],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw new AppError('VALIDATION', `PgMemoryStore ${name} must be a positive integer, got ${v}`);
    }
  }

  async store(situations: readonly Situation[]): Promise<StoreResult> {
    // one row per key: a statement may not touch the same row twice (the first occurrence wins)
    const seen = new Set<string>();
    const rows: Situation[] = [];
    for (const s of situations) {
      checkSituation(s);
      const k = keyString(s);
      if (seen.has(k)) continue;
      seen.add(k);
      rows.push(s);
    }
    if (this.#seriesIndexes) await this.ensureSeriesIndexes(rows);
    let inserted = 0;
    let resolved = 0;
    const createdAt = this.#now();
    for (let i = 0; i < rows.length; i += this.#batch) {
      const b = rows.slice(i, i + this.#batch);
      const r = await this.db.query<{ inserted: number; written: number }>(
        STORE,
        [
          textArray(b.map(memoryId)),
          textArray(b.map((s) => s.exchange)),
          textArray(b.map((s) => s.symbol)),
          textArray(b.map((s) => s.timeframe)),
          numArray(b.map((s) => s.ts)),
          numArray(b.map((s) => s.featureVersion)),
          textArray(b.map((s) => vectorParam(Array.from(s.features)))),
          numArray(b.map((s) => s.horizonBars)),
          numArray(b.map((s) => s.outcome?.forwardReturn ?? null)),
          numArray(b.map((s) => s.outcome?.mfe ?? null)),
          numArray(b.map((s) => s.outcome?.mae ?? null)),
          numArray(b.map((s) => s.outcome?.resolvedAt ?? null)),
          createdAt,
        ],
      );
      const row = r.rows[0] ?? { inserted: 0, written: 0 };
      inserted += row.inserted;
      resolved += row.written - row.inserted;
    }
    return { inserted, resolved };
  }

  async resolve(outcomes: readonly Outcome[]): Promise<number> {
    const seen = new Set<string>();
    const rows: Outcome[] = [];
    for (const o of outcomes) {
      checkOutcome(o);
      const k = keyString(o);
      if (seen.has(k)) continue;
      seen.add(k);
      rows.push(o);
    }
    if (this.#seriesIndexes) await this.ensureSeriesIndexes(rows);
    let resolved = 0;
    for (let i = 0; i < rows.length; i += this.#batch) {
      const b = rows.slice(i, i + this.#batch);
      const r = await this.db.query(
        RESOLVE,
        [
          textArray(b.map((o) => o.exchange)),
          textArray(b.map((o) => o.symbol)),
          textArray(b.map((o) => o.timeframe)),
          numArray(b.map((o) => o.ts)),
          numArray(b.map((o) => o.featureVersion)),
          numArray(b.map((o) => o.horizonBars)),
          numArray(b.map((o) => o.forwardReturn)),
          numArray(b.map((o) => o.mfe)),
          numArray(b.map((o) => o.mae)),
          numArray(b.map((o) => o.resolvedAt)),
        ],
      );
      resolved += r.rowCount;
    }
    return resolved;
  }

  /**
   * Server Postgres: make sure every feature-version-1 series among `keys` has its own HNSW index
   * (migration 0007's memories_ensure_series_hnsw: idempotent, one creator per series, never waits
   * more than `seriesIndexLockTimeoutMs` for the table lock). Called by `store` and `resolve` before
   * they write, unless `seriesIndexes: false`; bulk loaders call it once after loading. A series the
   * function could not index now is asked for again by the first write `seriesIndexRetryMs` later
   * (`force` asks at once); its recall meanwhile goes through the global index (same answers,
   * slower). Returns how many series this store knows to have an index.
   */
  async ensureSeriesIndexes(keys: readonly SeriesKey[], force = false): Promise<number> {
    if (this.db.kind !== 'postgres') return 0;
    const now = this.#now();
    const todo = new Map<string, SeriesKey>();
    for (const k of keys) {
      if (!HNSW_INDEXED.has(k.featureVersion)) continue;
      const sk = seriesKey(k);
      if (this.#indexedSeries.has(sk)) continue;
      if (!force && now < (this.#deferredUntil.get(sk) ?? -Infinity)) continue;
      todo.set(sk, k);
    }
    for (const [sk, k] of todo) {
      const r = await this.db.query<{ ok: boolean }>('SELECT memories_ensure_series_hnsw($1, $2, $3, $4, $5) AS ok', [
        k.exchange,
        k.symbol,
        k.timeframe,
        k.horizonBars,
        this.#lockTimeoutMs,
      ]);
      if (r.rows[0]?.ok === true) {
        this.#indexedSeries.add(sk);
        this.#deferredUntil.delete(sk);
        this.paths.seriesIndexed++;
      } else {
        this.#deferredUntil.set(sk, now + this.#retryMs);
        this.paths.seriesIndexDeferred++;
      }
    }
    return this.#indexedSeries.size;
  }

  /**
   * Server Postgres: build the time tiers of a set (docs/memory.md, "Time tiers") that it lacks. A tier is a
   * partial HNSW index over the set's memories resolved at or before a fixed time: the `base`·`factor`^j
   * oldest resolved memories when it is built, for every level whose size is at most half the set. A recall
   * whose asOf is at or before a tier's bound matches only memories in that tier, so the planner can walk
   * the tier's small graph instead of one where few entries pass the asOf filter — the slow case of filtered
   * HNSW search (an early asOf). The planner picks the smallest tier the query's WHERE clause implies, by the
   * index predicate; correctness never depends on a tier existing. Memories resolved later never enter a
   * tier (its bound is in the past), so tiers only need building as the set grows: `meridian memory build`
   * calls this after loading. Each index is built with CREATE INDEX CONCURRENTLY (writers are not blocked);
   * a build another process is running at the same moment, or one that failed earlier (an invalid index,
   * dropped and rebuilt here), is handled. Returns the set's tiers after the call, smallest first.
   */
  async ensureTimeTiers(set: TimeTierSet, options: TimeTierOptions = {}): Promise<TimeTier[]> {
    if (this.db.kind !== 'postgres') return [];
    const base = options.base ?? 16_384;
    const factor = options.factor ?? 3;
    const mwm = options.maintenanceWorkMem ?? '1GB';
    if (!Number.isInteger(base) || base < 1) throw new AppError('VALIDATION', `time tier base must be a positive integer, got ${base}`);
    if (!Number.isInteger(factor) || factor < 2) throw new AppError('VALIDATION', `time tier factor must be an integer ≥ 2, got ${factor}`);
    if (!/^\d+(kB|MB|GB)$/.test(mwm)) throw new AppError('VALIDATION', `maintenanceWorkMem must look like 512MB or 1GB, got "${mwm}"`);
    if (TIMEFRAME_MS[set.timeframe] === undefined) throw new AppError('VALIDATION', `unknown timeframe "${set.timeframe}"`);
    if (!Number.isInteger(set.horizonBars) || set.horizonBars < 1) throw new AppError('VALIDATION', `horizonBars must be a positive integer, got ${set.horizonBars}`);
    const series = set.exchange !== undefined && set.symbol !== undefined ? ([set.exchange, set.symbol] as const) : null;
    if ((set.exchange === undefined) !== (set.symbol === undefined)) throw new AppError('VALIDATION', 'a time tier set names both exchange and symbol, or neither');
    const where = `feature_version = 1 AND timeframe = $1 AND horizon_bars = $2 AND resolved_at IS NOT NULL${series ? ' AND exchange = $3 AND symbol = $4' : ''}`;
    const params = [set.timeframe, set.horizonBars, ...(series ?? [])];
    const n = (await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM memories WHERE ${where}`, params)).rows[0]?.n ?? 0;
    const prefix = timeTierPrefix(set);
    const existing = async () =>
      new Map(
        (
          await this.db.query<{ name: string; valid: boolean; rows: number }>(
            `SELECT c.relname AS name, i.indisvalid AS valid, c.reltuples::float8 AS rows
               FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid WHERE starts_with(c.relname, $1)`,
            [prefix],
          )
        ).rows.map((r) => [r.name, r]),
      );
    const before = await existing();
    const created = new Set<string>();
    for (let level = 0, size = base; size <= n / 2 && level < 16; level++, size *= factor) {
      const name = `${prefix}${level}`;
      const had = before.get(name);
      if (had?.valid) continue;
      if (had !== undefined) {
        // invalid: another process is building it right now (leave it to that one), or a build failed or was
        // cancelled and left it behind (drop it, then build anew)
        const building = await this.db.query('SELECT 1 FROM pg_stat_progress_create_index WHERE index_relid = to_regclass($1)', [name]);
        if (building.rowCount > 0) continue;
        await this.db.maintenance([`DROP INDEX CONCURRENTLY IF EXISTS ${name}`]);
      }
      const upto = (await this.db.query<{ r: number }>(`SELECT resolved_at AS r FROM memories WHERE ${where} ORDER BY resolved_at OFFSET ${size - 1} LIMIT 1`, params)).rows[0]?.r;
      if (upto === undefined) break; // rows were removed meanwhile
      const ddl = (
        await this.db.query<{ ddl: string }>(
          `SELECT format('CREATE INDEX CONCURRENTLY IF NOT EXISTS %I ON memories USING hnsw ((embedding::vector(32)) vector_l2_ops) '
                         'WITH (m = 16, ef_construction = 64) WHERE feature_version = 1 AND resolved_at IS NOT NULL '
                         'AND timeframe = %L AND horizon_bars = %s%s AND resolved_at <= %s',
                         $1::text, $2::text, $3::int, CASE WHEN $4::text IS NULL THEN '' ELSE format(' AND exchange = %L AND symbol = %L', $4::text, $5::text) END,
                         $6::bigint) AS ddl`,
          [name, set.timeframe, set.horizonBars, series?.[0] ?? null, series?.[1] ?? null, upto],
        )
      ).rows[0]!.ddl;
      try {
        await this.db.maintenance([`SET maintenance_work_mem = '${mwm}'`, ddl]);
        created.add(name);
      } catch (e) {
        // another process created the same tier at the same moment (the catalog's unique name index)
        const code = pgErrorCode(e);
        if (code !== '23505' && code !== '42P07') throw e;
      }
    }
    if (created.size > 0) this.#thresholds.clear(); // the threshold depends on the smallest graph a recall can walk
    return [...(await existing()).values()]
      .filter((r) => r.valid)
      .map((r) => ({ name: r.name, level: Number(r.name.slice(prefix.length)), rows: r.rows, created: created.has(r.name) }))
      .sort((a, b) => a.level - b.level);
  }

  async recall(vector: ArrayLike<number>, o: RecallOptions): Promise<MemoryRecall> {
    const horizonBars = checkRecall(vector, o);
    const dim = HNSW_INDEXED.get(o.featureVersion);
    const useIndex = this.db.kind === 'postgres' && this.mode === 'hnsw' && dim !== undefined && dim === vector.length;
    const q = vectorParam(Array.from(vector));
    // the version and the dimension are validated integers, inlined so the planner can match the
    // partial index predicate (feature_version = 1) whatever plan it chooses
    const fv = String(o.featureVersion);
    const sameSymbol = o.scope === 'same-symbol';
    const params = [q, o.timeframe, horizonBars, o.asOf, o.k, ...(sameSymbol ? [o.exchange, o.symbol] : [])];
    const where = `feature_version = ${fv} AND timeframe = $2 AND horizon_bars = $3 AND resolved_at IS NOT NULL AND resolved_at <= $4${
      sameSymbol ? ' AND exchange = $6 AND symbol = $7' : ''
    }`;
    if (!useIndex) return toRecall(o, (await this.#exact(where, params, fv)).map(recalledMemoryFromRow));
    // few memories can match (an early asOf, one series): comparing them all is cheaper than an
    // HNSW scan that must walk past many non-matching neighbours, and it is exact
    const rT = await this.#threshold(o.featureVersion, o.timeframe, horizonBars, sameSymbol ? [o.exchange, o.symbol] : null, o.k);
    if (rT === null || o.asOf < rT) {
      this.paths.exact++;
      return toRecall(o, (await this.#exact(where, params, fv)).map(recalledMemoryFromRow));
    }
    // same-symbol: the planner picks the series' own index (0007) by its predicate, which this WHERE
    // implies; `seriesSearch: false` hides that predicate (same rows) to measure the global index
    const hnswWhere = sameSymbol && !this.#seriesSearch ? where.replace('symbol = $7', "(symbol || '') = $7") : where;
    let rows = await this.#hnsw(hnswWhere, params, dim);
    if (rows.length < o.k) {
      // the scan stopped early (max_scan_tuples): exact is what point-in-time recall promises
      this.paths.fallback++;
      rows = await this.#exact(where, params, fv);
    } else {
      this.paths.hnsw++;
    }
    return toRecall(o, rows.map(recalledMemoryFromRow));
  }

  /**
   * The resolved_at of the `exactBelow`-th oldest resolved memory in scope: a query with an earlier
   * asOf matches fewer than `exactBelow` memories. Cached per scope for `thresholdTtlMs`; a stale
   * value only costs speed (memories inserted or removed before it since), never correctness: both
   * searches apply the same filter and the HNSW one falls back to exact when it finds too few.
   */
  async #threshold(
    fv: number,
    timeframe: string,
    horizonBars: number,
    series: readonly [string, string] | null,
    k: number,
  ): Promise<number | null> {
    const key = JSON.stringify([fv, timeframe, horizonBars, series, k]);
    const now = this.#now();
    const hit = this.#thresholds.get(key);
    if (hit && now - hit.at < this.#ttl) return hit.rT;
    this.paths.probes++;
    const below = this.#exactBelow === 'auto' ? await this.#autoExactBelow(k, timeframe, horizonBars, series) : this.#exactBelow;
    // index-only on memories_scope_idx (same-symbol) or memories_scope_time_idx (all-symbols)
    const r = await this.db.query<{ r: number }>(
      `SELECT resolved_at AS r FROM memories
        WHERE feature_version = ${fv} AND timeframe = $1 AND horizon_bars = $2 AND resolved_at IS NOT NULL${series ? ' AND exchange = $3 AND symbol = $4' : ''}
        ORDER BY resolved_at OFFSET ${below - 1} LIMIT 1`,
      [timeframe, horizonBars, ...(series ?? [])],
    );
    const rT = r.rows[0]?.r ?? null;
    this.#thresholds.set(key, { at: now, rT });
    return rT;
  }

  /**
   * Where exact and HNSW cost the same: an exact scan costs ~c_e per matching row (n = s·N), a
   * filtered HNSW scan ~c_h per visited tuple (≈ k / s); equal at n = √(c_h/c_e · k · N). c_h/c_e ≈ 25
   * from the benchmark (an HNSW tuple is a graph step plus a heap fetch to check the filter).
   * N is the size of the graph a search just above the threshold walks: the scope's smallest time tier
   * (ensureTimeTiers) when it has one, else the series' own index (migration 0007) for a same-symbol
   * recall when it exists and has statistics, else the whole table (the global index).
   */
  async #autoExactBelow(k: number, timeframe: string, horizonBars: number, series: readonly [string, string] | null): Promise<number> {
    // the smallest graph a recall just above the threshold can walk: the set's smallest time tier when it
    // has one, else the series' own index (same-symbol), else the whole table (the global index)
    const tierPrefix = timeTierPrefix({ timeframe: timeframe as Timeframe, horizonBars, ...(series ? { exchange: series[0], symbol: series[1] } : {}) });
    const r = await this.db.query<{ n: number | null; series: number | null; tier: number | null }>(
      `SELECT (SELECT reltuples FROM pg_class WHERE oid = 'memories'::regclass)::float8 AS n,
              ${
                series && this.#seriesSearch
                  ? `(SELECT c.reltuples FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid
                       WHERE c.oid = to_regclass(quote_ident(memories_series_hnsw_name($2, $3, $4, $5))) AND i.indisvalid)::float8`
                  : 'NULL::float8'
              } AS series,
              (SELECT min(c.reltuples) FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid
                WHERE starts_with(c.relname, $1) AND i.indisvalid AND c.reltuples > 0)::float8 AS tier`,
      series && this.#seriesSearch ? [tierPrefix, series[0], series[1], timeframe, horizonBars] : [tierPrefix],
    );
    const row = r.rows[0];
    const viaTier = row !== undefined && row.tier !== null && row.tier > 0;
    const viaSeries = row !== undefined && row.series !== null && row.series > 0;
    const n = viaTier ? row.tier! : viaSeries ? row.series! : (row?.n ?? -1); // -1: never analysed
    if (!(n > 0)) return 10_000;
    const ratio = series && (viaTier || viaSeries) ? this.#ratio.series : this.#ratio.global;
    return Math.min(50_000, Math.max(1000, Math.round(Math.sqrt(ratio * k * n))));
  }

  async #hnsw(where: string, params: readonly (string | number)[], dim: number): Promise<RecallRow[]> {
    const d = `embedding::vector(${dim}) <-> $1::vector(${dim})`;
    const want = `relaxed_order ${this.#ef} ${this.#maxScan}`;
    // relaxed_order may return the k rows slightly out of order: re-sort them exactly outside
    const sql = `WITH c AS MATERIALIZED (
         SELECT ${RECALL_COLUMNS}, ${d} AS distance FROM memories WHERE ${where} ORDER BY ${d} LIMIT $5)
       SELECT *, concat_ws(' ', current_setting('hnsw.iterative_scan'), current_setting('hnsw.ef_search'),
                           current_setting('hnsw.max_scan_tuples')) AS settings
         FROM c ORDER BY distance, ts, id`;
    if (this.#sessionSettingsOk) {
      // one round trip: migration 0006 makes these settings the database's defaults
      const rows = (await this.db.query<RecallRow>(sql, params)).rows;
      if (rows.length === 0 || rows[0]!.settings === want) return rows;
      this.#sessionSettingsOk = false;
      this.paths.resets++;
    }
    return this.db.transaction(async (tx) => {
      await tx.exec(
        `SET LOCAL hnsw.iterative_scan = relaxed_order; SET LOCAL hnsw.ef_search = ${this.#ef}; SET LOCAL hnsw.max_scan_tuples = ${this.#maxScan}`,
      );
      return (await tx.query<RecallRow>(sql, params)).rows;
    });
  }

  async #exact(where: string, params: readonly (string | number)[], fv: string): Promise<RecallRow[]> {
    if (this.db.kind === 'postgres') {
      // migration 0007's function: the same query with index scans off (a bitmap heap scan reads
      // each heap page once, in order; several times faster for thousands of rows), one round trip
      const [q, timeframe, h, asOf, k, exchange = null, symbol = null] = params;
      const r = await this.db.query<RecallRow>(
        `SELECT * FROM memories_exact_recall($1::vector, ${fv}, $2, $3, $4, $5, $6::text, $7::text)`,
        [q!, timeframe!, h!, asOf!, k!, exchange, symbol],
      );
      return r.rows;
    }
    // `embedding <-> $1::vector` (not the indexed expression) keeps the planner off the HNSW index
    const r = await this.db.query<RecallRow>(
      `SELECT ${RECALL_COLUMNS}, embedding <-> $1::vector AS distance FROM memories WHERE ${where}
        ORDER BY distance, ts, id LIMIT $5`,
      params,
    );
    return r.rows;
  }
}

