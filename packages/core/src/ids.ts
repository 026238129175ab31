import { createHash, randomBytes } from 'node:crypto';

/**
 * UUIDv7 (RFC 9562): 48-bit ms timestamp, then random bits; sorts by creation time.
 * Monotonic within one process: ids made in the same millisecond still sort in order.
 */
let lastMs = -1;
let seq = 0;

export function uuidv7(nowMs: number = Date.now()): string {
  const bytes = randomBytes(16);
  let ms = nowMs;
  if (ms <= lastMs) {
    ms = lastMs;
    seq = (seq + 1) & 0xfff;
    if (seq === 0) ms = ++lastMs;
  } else {
    seq = bytes.readUInt16BE(6) & 0x7ff; // random start, leaves room to count up
  }
  lastMs = ms;
  bytes.writeUIntBE(ms, 0, 6);
  bytes[6] = 0x70 | ((seq >> 8) & 0x0f);
  bytes[7] = seq & 0xff;
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}

/** The creation time encoded in a UUIDv7. */
export function uuidv7Time(id: string): number {
  return parseInt(id.replace(/-/g, '').slice(0, 12), 16);
}

/**
 * Deterministic id from a seed string (for backtests, where runs must be byte-identical).
 * Shaped like a UUIDv8 (SHA-256 of the seed) so it fits uuid columns.
 */
export function deterministicId(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  const variant = ((parseInt(h[16] ?? '0', 16) & 3) | 8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const MAX_KEYED_TIME = 2 ** 48;

/**
 * Deterministic ids for one sequence of events (a backtest series, one id per bar): the first 20 hex
 * digits come from `deterministicId(seed)` once per sequence, the last 12 are the event time in hex, so
 * making an id costs a string concatenation instead of a SHA-256 per bar. Unique per (seed, t) as long
 * as the sequences' hashes differ in those 20 digits. `t` must be an integer in [0, 2^48) (epoch ms
 * until the year 10889).
 */
export function timeKeyedIds(seed: string): (t: number) => string {
  const prefix = deterministicId(seed).slice(0, 24); // "xxxxxxxx-xxxx-8xxx-vxxx-"
  return (t) => {
    if (!Number.isInteger(t) || t < 0 || t >= MAX_KEYED_TIME) throw new RangeError(`timeKeyedIds: ${t} is not an integer epoch time in [0, 2^48)`);
    return prefix + t.toString(16).padStart(12, '0');
  };
}
