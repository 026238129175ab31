import { describe, expect, it } from 'vitest';
import type { UnsignedOrderRequest } from '@meridian/contracts';
import { approvalPayload, signApproval, signOrder, verifyApproval } from './approval-signing.ts';
import { T0 } from './risk-fixtures.ts';

const order: UnsignedOrderRequest = {
  schemaVersion: 1,
  orderId: '0190a3b4-0000-7000-8000-0000000000aa',
  decisionId: '0190a3b4-0000-7000-8000-000000000001',
  exchange: 'paper',
  symbol: 'BTC/USDT',
  side: 'buy',
  type: 'limit',
  quantity: 0.01,
  limitPrice: 50_000,
  stopPrice: 49_000,
  reduceOnly: false,
  createdAt: T0,
};
const K1 = { keyId: 'k1', key: 'a'.repeat(64) };
const K2 = { keyId: 'k2', key: 'b'.repeat(64) };
const keys = { k1: K1.key, k2: K2.key };
const EXP = T0 + 60_000;

describe('approvals', () => {
  it('a signed order verifies, with either key while keys rotate', () => {
    expect(verifyApproval(signOrder(order, K1, 4, EXP), keys, T0)).toEqual({ ok: true, value: signOrder(order, K1, 4, EXP) });
    expect(verifyApproval(signOrder(order, K2, 4, EXP), keys, T0).ok).toBe(true);
  });

  it('signs the canonical JSON of the exact fields, independent of key order', () => {
    const shuffled = Object.fromEntries(Object.entries(order).reverse()) as UnsignedOrderRequest;
    expect(signApproval(shuffled, K1, 4, EXP)).toEqual(signApproval(order, K1, 4, EXP));
    expect(approvalPayload(order, 'k1', 4, EXP)).toContain('"limitsVersion":4');
  });

  it('rejects an unsigned order as missing', () => {
    expect(verifyApproval(order, keys, T0)).toMatchObject({ ok: false, error: { reason: 'missing' } });
    expect(verifyApproval({ ...order, approval: null }, keys, T0)).toMatchObject({ ok: false, error: { reason: 'missing' } });
  });

  it.each([
    ['quantity', { quantity: 0.02 }],
    ['side', { side: 'sell' }],
    ['limit price', { limitPrice: 50_001 }],
    ['stop', { stopPrice: null }],
    ['reduceOnly', { reduceOnly: true }],
    ['symbol', { symbol: 'ETH/USDT' }],
  ])('rejects a tampered %s as bad_signature', (_f, change) => {
    const signed = signOrder(order, K1, 4, EXP);
    expect(verifyApproval({ ...signed, ...change }, keys, T0)).toMatchObject({ ok: false, error: { reason: 'bad_signature' } });
  });

  it('rejects a tampered approval (expiry, limits version, key id swap) as bad_signature', () => {
    const s = signOrder(order, K1, 4, EXP);
    expect(verifyApproval({ ...s, approval: { ...s.approval, expiresAt: EXP + 3_600_000 } }, keys, T0)).toMatchObject({ ok: false, error: { reason: 'bad_signature' } });
    expect(verifyApproval({ ...s, approval: { ...s.approval, limitsVersion: 5 } }, keys, T0)).toMatchObject({ ok: false, error: { reason: 'bad_signature' } });
    expect(verifyApproval({ ...s, approval: { ...s.approval, keyId: 'k2' } }, keys, T0)).toMatchObject({ ok: false, error: { reason: 'bad_signature' } });
  });

  it('rejects an approval signed with a key it does not know as unknown_key', () => {
    const s = signOrder(order, { keyId: 'old', key: 'c'.repeat(64) }, 4, EXP);
    expect(verifyApproval(s, keys, T0)).toMatchObject({ ok: false, error: { reason: 'unknown_key', message: expect.stringContaining('"old"') } });
    // prototype keys are not keys
    expect(verifyApproval(signOrder(order, { keyId: 'constructor', key: 'c'.repeat(64) }, 4, EXP), keys, T0)).toMatchObject({ ok: false, error: { reason: 'unknown_key' } });
  });

  it('rejects an expired approval as expired, from its expiry on', () => {
    const s = signOrder(order, K1, 4, EXP);
    expect(verifyApproval(s, keys, EXP - 1).ok).toBe(true);
    expect(verifyApproval(s, keys, EXP)).toMatchObject({ ok: false, error: { reason: 'expired' } });
  });

  it('rejects malformed requests and approvals as malformed', () => {
    const s = signOrder(order, K1, 4, EXP);
    expect(verifyApproval({ ...s, approval: { ...s.approval, signature: 'zz' } }, keys, T0)).toMatchObject({ ok: false, error: { reason: 'malformed' } });
    expect(verifyApproval({ ...s, quantity: -1 }, keys, T0)).toMatchObject({ ok: false, error: { reason: 'malformed' } });
    expect(verifyApproval('order', keys, T0)).toMatchObject({ ok: false, error: { reason: 'malformed' } });
  });

  it('refuses to sign with a short key', () => {
    expect(() => signApproval(order, { keyId: 'k', key: 'short' }, 1, EXP)).toThrow(/at least 32/);
  });
});
