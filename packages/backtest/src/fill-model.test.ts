import { describe, expect, it } from 'vitest';
import { protectiveExit } from './fill-model.ts';

const bar = (open: number, high: number, low: number, close: number) => ({ ts: 0, open, high, low, close });

describe('protectiveExit', () => {
  it.each([
    // [case, qty, stop, target, bar, expected]
    ['long: nothing touched', 1, 90, 120, bar(100, 110, 95, 105), null],
    ['long: stop touched inside the bar', 1, 90, 120, bar(100, 105, 89, 95), { reason: 'stop', price: 90, gapped: false }],
    ['long: stop touched exactly', 1, 90, 120, bar(100, 105, 90, 95), { reason: 'stop', price: 90, gapped: false }],
    ['long: target touched', 1, 90, 120, bar(100, 121, 95, 110), { reason: 'target', price: 120, gapped: false }],
    ['long: both touched → the stop counts first', 1, 90, 120, bar(100, 125, 85, 110), { reason: 'stop', price: 90, gapped: false }],
    ['long: gap down through the stop fills at the open', 1, 90, 120, bar(80, 85, 75, 82), { reason: 'stop', price: 80, gapped: true }],
    ['long: gap up through the target fills at the open', 1, 90, 120, bar(130, 131, 85, 100), { reason: 'target', price: 130, gapped: true }],
    ['short: stop above', -2, 110, 80, bar(100, 111, 95, 105), { reason: 'stop', price: 110, gapped: false }],
    ['short: target below', -2, 110, 80, bar(100, 105, 79, 85), { reason: 'target', price: 80, gapped: false }],
    ['short: both → stop', -2, 110, 80, bar(100, 115, 75, 90), { reason: 'stop', price: 110, gapped: false }],
    ['short: gap up through the stop', -2, 110, 80, bar(120, 125, 118, 119), { reason: 'stop', price: 120, gapped: true }],
    ['long: stop only, no target', 1, 90, null, bar(100, 200, 91, 150), null],
    ['long: target only, no stop', 1, null, 120, bar(100, 120, 1, 50), { reason: 'target', price: 120, gapped: false }],
    ['flat: never exits', 0, 90, 120, bar(100, 200, 1, 100), null],
    ['NaN quantity: never exits', Number.NaN, 90, 120, bar(100, 200, 1, 100), null],
  ] as const)('%s', (_name, qty, stop, target, b, expected) => {
    expect(protectiveExit(qty, stop, target, b)).toEqual(expected);
  });
});
