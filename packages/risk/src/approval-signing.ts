import { createHmac, timingSafeEqual } from 'node:crypto';
import { ApprovalSchema, OrderRequestSchema, type Approval, type OrderRequest, type UnsignedOrderRequest } from '@meridian/contracts';
import { canonicalJson, err, ok, toIso, type Result } from '@meridian/core';

/**
 * Risk approvals: an HMAC-SHA256 over the canonical JSON of the order's exact fields, the
 * limits version, the expiry and the key id. The executor re-verifies every order with
 * `verifyApproval` before it reaches an exchange. Keys carry an id so they can rotate: sign
 * with the current key, verify with every key still accepted.
 */

export interface SigningKey {
  readonly keyId: string;
  readonly key: string;
}

export type ApprovalRejectionReason = 'missing' | 'malformed' | 'unknown_key' | 'bad_signature' | 'expired';

export interface ApprovalRejection {
  readonly reason: ApprovalRejectionReason;
  readonly message: string;
}

/** The bytes that are signed. Everything the executor will act on is inside. */
export function approvalPayload(order: UnsignedOrderRequest, keyId: string, limitsVersion: number, expiresAt: number): string {
  const fields: Record<string, unknown> = { ...order };
  delete fields['approval'];
  return canonicalJson({ order: fields, keyId, limitsVersion, expiresAt });
}

function hmacHex(key: string, payload: string): string {
  return createHmac('sha256', key).update(payload, 'utf8').digest('hex');
}

export function signApproval(order: UnsignedOrderRequest, signing: SigningKey, limitsVersion: number, expiresAt: number): Approval {
  if (!signing.keyId) throw new RangeError('signApproval: keyId is empty');
  if (signing.key.length < 32) throw new RangeError('signApproval: the signing key must be at least 32 characters (MERIDIAN_RISK_SIGNING_KEY)');
  if (!Number.isInteger(limitsVersion) || limitsVersion < 0) throw new RangeError(`signApproval: limitsVersion must be a whole number ≥ 0, got ${limitsVersion}`);
  if (!Number.isInteger(expiresAt) || expiresAt < 0) throw new RangeError(`signApproval: expiresAt must be epoch ms, got ${expiresAt}`);
  const signature = hmacHex(signing.key, approvalPayload(order, signing.keyId, limitsVersion, expiresAt));
  return { keyId: signing.keyId, limitsVersion, expiresAt, signature };
}

/** Sign and attach: the order request as it goes to the outbox. */
export function signOrder(order: UnsignedOrderRequest, signing: SigningKey, limitsVersion: number, expiresAt: number): OrderRequest {
  return { ...order, approval: signApproval(order, signing, limitsVersion, expiresAt) };
}

/**
 * What the executor calls on every order. Checks, in order: an approval is present (missing),
 * the order and approval are well-formed (malformed), the key id is known (unknown_key), the
 * signature matches the exact fields (bad_signature: anything tampered), and the approval has
 * not expired (expired — checked after the signature, so a forged expiry reads as tampering).
 */
export function verifyApproval(order: unknown, keys: Readonly<Record<string, string>>, now: number): Result<OrderRequest, ApprovalRejection> {
  if (typeof order !== 'object' || order === null || Array.isArray(order))
    return err({ reason: 'malformed', message: 'the order request is not an object' });
  const raw = (order as Record<string, unknown>)['approval'];
  if (raw === undefined || raw === null) return err({ reason: 'missing', message: 'the order carries no risk approval (unsigned)' });
  const a = ApprovalSchema.safeParse(raw);
  if (!a.success) return err({ reason: 'malformed', message: `the approval is malformed: ${issues(a.error.issues)}` });
  const o = OrderRequestSchema.safeParse(order);
  if (!o.success) return err({ reason: 'malformed', message: `the order request is malformed: ${issues(o.error.issues)}` });
  const req = o.data;
  const key = Object.hasOwn(keys, req.approval.keyId) ? keys[req.approval.keyId] : undefined;
  if (!key) return err({ reason: 'unknown_key', message: `approval signed with unknown key id "${req.approval.keyId}"` });
  const expected = Buffer.from(hmacHex(key, approvalPayload(req, req.approval.keyId, req.approval.limitsVersion, req.approval.expiresAt)), 'hex');
  const given = Buffer.from(req.approval.signature, 'hex');
  if (expected.length !== given.length || !timingSafeEqual(expected, given))
    return err({ reason: 'bad_signature', message: 'the approval signature does not match the order fields (tampered or signed with another key)' });
  if (!(now < req.approval.expiresAt))
    return err({ reason: 'expired', message: `the approval expired at ${toIso(req.approval.expiresAt)}` });
  return ok(req);
}

function issues(list: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return list.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ');
}
