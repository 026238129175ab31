import { SCHEMA_VERSION, type TradingState } from '@meridian/contracts';
import { GLOBAL_SCOPE, positionFromRow, type Db, type PositionRow, type StoredPosition } from '@meridian/db';

/** A stored position with the newest stored close of its symbol (null: no candle stored). */
export interface MarkedPosition extends StoredPosition {
  readonly latestClose: number | null;
}

/** Everything a decision reads from the database besides its candles and memories, as of one statement. */
export interface DecisionInputs {
  /** the newest risk limits version (null: none stored) — versions are append-only, so a cached document of this version is current */
  readonly limitsVersion: number | null;
  /** the global trading state (null: never set, the risk module's initial state applies) */
  readonly tradingState: { readonly state: TradingState; readonly version: number } | null;
  /** the exchange's positions, by symbol (flat ones too: their realised P&L counts) */
  readonly positions: readonly MarkedPosition[];
  /** fees paid in the quote currency on this exchange */
  readonly fees: number;
  /** orders put into the outbox since `ordersSince` */
  readonly ordersLastMinute: number;
}

/** The columns decisionInputsColumns adds to a row. */
export interface DecisionInputsRow {
  limits_version: number | null;
  ts: { state: TradingState['state']; reason: string; actor: string; since: number; until: number | null; version: number } | null;
  positions: (PositionRow & { latest_close: number | null })[];
  fees: number;
  orders: number;
}

/** Placeholders (e.g. `$8`) of the inputs' parameters in the statement the columns go into. */
export interface DecisionInputsParams {
  readonly exchange: string;
  readonly quote: string;
  /** bigint epoch ms */
  readonly ordersSince: string;
  readonly markSymbol: string;
  /** the trading state's scope (GLOBAL_SCOPE) */
  readonly scope: string;
}

/**
 * The select-list of the decision inputs (limits_version, ts, positions, fees, orders), so a statement that
 * runs anyway under the series lock can carry them (CandleDecider's first statement does, for the first
 * decision of an event).
 */
export function decisionInputsColumns(p: DecisionInputsParams): string {
  return `(SELECT max(version) FROM risk_limit_versions) AS limits_version,
            (SELECT row_to_json(s) FROM (SELECT state, reason, actor, since, until, version FROM trading_state WHERE scope = ${p.scope}) s) AS ts,
            (SELECT coalesce(json_agg(json_build_object(
                      'exchange', p.exchange, 'symbol', p.symbol, 'quantity', p.quantity, 'avg_entry_price', p.avg_entry_price,
                      'realized_pnl', p.realized_pnl, 'opened_at', p.opened_at, 'updated_at', p.updated_at,
                      'latest_close', CASE WHEN p.quantity <> 0 AND p.symbol <> ${p.markSymbol}
                                           THEN (SELECT c.c FROM candles c WHERE c.symbol = p.symbol ORDER BY c.ts DESC LIMIT 1) END)
                      ORDER BY p.exchange, p.symbol), '[]'::json)
               FROM positions p WHERE p.exchange = ${p.exchange}) AS positions,
            (SELECT coalesce(sum(fee), 0)::float8 FROM fills WHERE exchange = ${p.exchange} AND fee_currency = ${p.quote}) AS fees,
            (SELECT count(*)::int FROM outbox WHERE created_at > ${p.ordersSince}::bigint) AS orders`;
}

/**
 * One round trip for what used to be five (latest limits, positions, a close per other open position,
 * fees and order count, trading state). It runs inside the candle's transaction under the series lock,
 * so every decision sees the limits version and trading state current at that moment — nothing is cached
 * across decisions except the limits document, keyed by its (append-only) version.
 */
export async function readDecisionInputs(db: Db, q: { exchange: string; quote: string; ordersSince: number; markSymbol: string }): Promise<DecisionInputs> {
  const r = await db.query<DecisionInputsRow>(`SELECT ${decisionInputsColumns({ exchange: '$1', quote: '$2', ordersSince: '$3', markSymbol: '$4', scope: '$5' })}`, [
    q.exchange,
    q.quote,
    q.ordersSince,
    q.markSymbol,
    GLOBAL_SCOPE,
  ]);
  return parseDecisionInputs(r.rows[0] as DecisionInputsRow);
}

export function parseDecisionInputs(row: DecisionInputsRow): DecisionInputs {
  const ts = row.ts;
  return {
    limitsVersion: row.limits_version === null ? null : Number(row.limits_version),
    tradingState:
      ts === null
        ? null
        : {
            version: Number(ts.version),
            state: { schemaVersion: SCHEMA_VERSION, state: ts.state, reason: ts.reason, actor: ts.actor, since: Number(ts.since), until: ts.until === null ? null : Number(ts.until) },
          },
    positions: row.positions.map((p) => ({ ...positionFromRow(p), latestClose: p.latest_close === null ? null : Number(p.latest_close) })),
    fees: Number(row.fees),
    ordersLastMinute: Number(row.orders),
  };
}
