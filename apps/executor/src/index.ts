export * from './executor-service.ts';
export * from './exchange-factory.ts';
export * from './paper-price-feed.ts';
