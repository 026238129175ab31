import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deterministicIds, invertHex } from './orchestrator-deps.ts';

const HEX = '0123456789abcdef';
/** the definition: every one of the first n digits d becomes 15 − d */
const perDigit = (id: string, n: number) => [...id.slice(0, n)].map((c) => HEX[15 - HEX.indexOf(c)]).join('') + id.slice(n);

describe('deterministic trace ids', () => {
  it('invertHex inverts each of the first n hex digits, for every n ≤ 8 and any digits', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}$/), fc.integer({ min: 1, max: 8 }), (id, n) => {
        expect(invertHex(id, n)).toBe(perDigit(id, n));
        expect(invertHex(invertHex(id, n), n)).toBe(id);
      }),
    );
    expect(invertHex('00000000-abcd', 8)).toBe('ffffffff-abcd');
    expect(invertHex('ffffffff-abcd', 8)).toBe('00000000-abcd');
  });
  it('a trace id is a UUID other than its decision id, and the same for the same decision id', () => {
    const d = '018dfa19-a0f8-7001-8000-000000000001';
    expect(deterministicIds.traceId(d)).toBe('fe7205e6-a0f8-7001-8000-000000000001');
    expect(deterministicIds.traceId(d)).toBe(deterministicIds.traceId(d));
  });
  it('refuses what is not lowercase hex instead of writing a malformed id', () => {
    for (const bad of ['0123456g-0000', 'ABCDEF01-0000', '0123', '0x123456-0000']) expect(() => invertHex(bad, 8)).toThrow(RangeError);
    expect(() => invertHex('0123456789', 9)).toThrow(RangeError);
  });
});
