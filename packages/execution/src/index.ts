export * from './exchange-errors.ts';
export * from './exchange-adapter.ts';
export * from './order-rules.ts';
export * from './order-state-machine.ts';
export * from './portfolio-ledger.ts';
export * from './paper-exchange.ts';
export * from './ccxt-exchange.ts';
export * from './ccxt-error-map.ts';
