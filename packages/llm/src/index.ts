export * from './llm-client.ts';
export * from './llm-budget.ts';
export * from './response-cache.ts';
export * from './langchain-llm-client.ts';
