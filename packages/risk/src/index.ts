export * from './limit-fields.ts';
export * from './limits-validation.ts';
export * from './limits-diff.ts';
export * from './trading-state.ts';
export * from './risk-engine.ts';
export * from './approval-signing.ts';
