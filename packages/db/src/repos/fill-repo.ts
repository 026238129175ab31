import { FillSchema, SCHEMA_VERSION, type Fill, type Side } from '@meridian/contracts';
import type { Db } from '../db.ts';
import { parseWith } from '../validate.ts';

interface Row {
  exchange: string;
  fill_id: string;
  order_id: string;
  symbol: string;
  side: Side;
  quantity: number;
  price: number;
  fee: number;
  fee_currency: string;
  liquidity: 'maker' | 'taker' | null;
  ts: number;
}

/**
 * Record a fill once. `fillId` is the exchange's trade id, unique per exchange: seeing the
 * same trade again (a retried poll, a reconciliation) returns `inserted: false` and changes nothing.
 * The order must exist (foreign key).
 */
export async function insertFill(db: Db, fill: Fill): Promise<{ inserted: boolean }> {
  const f = parseWith(FillSchema, fill, 'fill', 'VALIDATION');
  const r = await db.query(
    `INSERT INTO fills (exchange, fill_id, order_id, symbol, side, quantity, price, fee, fee_currency, liquidity, ts)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT (exchange, fill_id) DO NOTHING`,
    [f.exchange, f.fillId, f.orderId, f.symbol, f.side, f.quantity, f.price, f.fee, f.feeCurrency, f.liquidity, f.ts],
  );
  return { inserted: r.rowCount === 1 };
}

/** Fills of one order, in time order. */
export async function listFills(db: Db, orderId: string): Promise<Fill[]> {
  const r = await db.query<Row>(
    `SELECT exchange, fill_id, order_id, symbol, side, quantity, price, fee, fee_currency, liquidity, ts
       FROM fills WHERE order_id = $1 ORDER BY ts, fill_id`,
    [orderId],
  );
  return r.rows.map((x) => ({
    schemaVersion: SCHEMA_VERSION,
    fillId: x.fill_id,
    orderId: x.order_id,
    exchange: x.exchange,
    symbol: x.symbol,
    side: x.side,
    quantity: x.quantity,
    price: x.price,
    fee: x.fee,
    feeCurrency: x.fee_currency,
    liquidity: x.liquidity,
    ts: x.ts,
  }));
}
