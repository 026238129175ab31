import { Writable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AppError,
  ERROR_CODES,
  SimulatedClock,
  approxEq,
  canonicalJson,
  createLogger,
  deterministicId,
  timeKeyedIds,
  err,
  exitCodeOf,
  floorToStep,
  httpStatusOf,
  isUuid,
  ok,
  roundToStep,
  toAppError,
  unwrap,
  utcDayStart,
  uuidv7,
  uuidv7Time,
} from './index.ts';

describe('AppError', () => {
  it('maps every code to an HTTP status and a non-zero exit code', () => {
    for (const code of ERROR_CODES) {
      expect(httpStatusOf(code)).toBeGreaterThanOrEqual(400);
      expect(httpStatusOf(code)).toBeLessThan(600);
      expect(exitCodeOf(code)).toBeGreaterThan(0);
    }
  });
  it.each([
    ['VALIDATION', 400, 2],
    ['NOT_FOUND', 404, 3],
    ['FORBIDDEN', 403, 5],
    ['RISK_REJECTED', 422, 6],
    ['EXCHANGE_UNAVAILABLE', 503, 69],
    ['INTERNAL', 500, 1],
  ] as const)('%s → HTTP %i, exit %i', (code, http, exit) => {
    const e = new AppError(code, 'x');
    expect(e.httpStatus).toBe(http);
    expect(e.exitCode).toBe(exit);
    expect(e.name).toBe('AppError');
  });
  it('carries a hint into the user message and JSON', () => {
    const e = new AppError('CONFIG', 'DATABASE_URL is malformed', { hint: 'use postgres://…' });
    expect(e.toUserMessage()).toBe('DATABASE_URL is malformed — use postgres://…');
    expect(e.toJSON()).toEqual({ code: 'CONFIG', message: 'DATABASE_URL is malformed', hint: 'use postgres://…' });
  });
  it('wraps unknown throwables as INTERNAL, keeps AppErrors', () => {
    const a = new AppError('TIMEOUT', 't');
    expect(toAppError(a)).toBe(a);
    expect(toAppError(new Error('boom')).code).toBe('INTERNAL');
    expect(toAppError('str').message).toBe('str');
    expect(a.retryable).toBe(true);
    expect(new AppError('VALIDATION', 'v').retryable).toBe(false);
  });
});

describe('Result', () => {
  it('ok/err/unwrap', () => {
    expect(unwrap(ok(3))).toBe(3);
    expect(() => unwrap(err('nope'))).toThrow('nope');
  });
});

describe('Clock', () => {
  it('simulated clock moves only forward', () => {
    const c = new SimulatedClock(1000);
    c.advance(500);
    expect(c.now()).toBe(1500);
    expect(() => c.set(1000)).toThrow(/cannot go back/);
    expect(() => c.set(Number.NaN)).toThrow(/finite/);
  });
  it('utcDayStart', () => {
    expect(utcDayStart(Date.UTC(2024, 0, 2, 13, 5))).toBe(Date.UTC(2024, 0, 2));
  });
});

describe('ids', () => {
  it('uuidv7 is a valid UUID that sorts by creation time, even within one millisecond', () => {
    const ids = Array.from({ length: 2000 }, () => uuidv7(1_700_000_000_000));
    ids.push(uuidv7(1_700_000_000_001));
    for (const id of ids) expect(isUuid(id)).toBe(true);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[0]?.[14]).toBe('7');
    expect(uuidv7Time(ids.at(-1) ?? '')).toBe(1_700_000_000_001);
  });
  it('timeKeyedIds: UUID-shaped, stable, distinct per time and per seed; refuses times it cannot encode', () => {
    const a = timeKeyedIds('series-a');
    const b = timeKeyedIds('series-b');
    expect(a(1_700_000_000_000)).toBe(timeKeyedIds('series-a')(1_700_000_000_000));
    expect(a(1_700_000_000_000).endsWith('018bcfe56800')).toBe(true);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), fc.integer({ min: 0, max: 2 ** 48 - 1 }), (t, u) => {
        expect(isUuid(a(t))).toBe(true);
        expect(a(t) === a(u)).toBe(t === u);
        expect(a(t)).not.toBe(b(t));
      }),
    );
    for (const bad of [-1, 2 ** 48, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => a(bad)).toThrow(RangeError);
  });

  it('deterministicId is stable, distinct per seed and UUID-shaped', () => {
    expect(deterministicId('a')).toBe(deterministicId('a'));
    expect(deterministicId('a')).not.toBe(deterministicId('b'));
    fc.assert(fc.property(fc.string(), (s) => isUuid(deterministicId(s))));
  });
});

describe('money', () => {
  it.each([
    [0.3, 0.1, 0.3],
    [1.23456, 0.001, 1.234],
    [0, 0.01, 0],
    [12345678.9, 1, 12345678],
    [0.00005329, 0.00000001, 0.00005329],
    [-1.5, 1, -2],
    [20367.42840848, 1e-8, 20367.42840848],
    [123456789.12345678, 1e-8, 123456789.12345678],
    [9007199.254740991, 1e-9, 9007199.254740991],
    // 470251412734.5298 steps: half a step below the grid point, never rounded up to it (found by the risk property test)
    [470251412.7345298, 0.001, 470251412.734],
    [470251412.7349, 0.001, 470251412.734],
  ])('floorToStep(%d, %d) = %d', (x, step, want) => {
    expect(floorToStep(x, step)).toBe(want);
  });
  it('floorToStep never rounds up and lands on the step grid', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e9, noNaN: true }), fc.constantFrom(1, 0.1, 0.01, 0.001, 1e-5, 1e-8), (x, step) => {
        const r = floorToStep(x, step);
        // at most float noise above x (a value a few ulps under a grid point is that grid point)
        expect(r).toBeLessThanOrEqual(x + 8 * Number.EPSILON * Math.abs(x) + 1e-300);
        expect(x - r).toBeLessThan(step * (1 + 1e-6) + Math.abs(x) * 1e-12);
        expect(approxEq(Math.round(r / step) * step, r, 1e-9, step * 1e-6)).toBe(true);
      }),
    );
  });
  it('a value already on the grid stays on it, however large quantity/step is', () => {
    fc.assert(
      // up to 15 significant digits: what a double holds exactly in decimal
      fc.property(fc.integer({ min: 0, max: 999_999_999_999_999 }), fc.constantFrom([1e-8, 8], [1e-6, 6], [1e-3, 3], [0.01, 2], [1, 0]), (n, [step, d]) => {
        const x = Number((n * step).toFixed(d));
        expect(floorToStep(x, step)).toBe(x);
      }),
    );
  });
  it('rejects non-finite values and bad steps', () => {
    expect(() => floorToStep(Number.NaN, 0.1)).toThrow(/non-finite/);
    expect(() => floorToStep(1, 0)).toThrow(/step/);
    expect(() => roundToStep(Infinity, 0.1)).toThrow(/non-finite/);
  });
  it('roundToStep rounds to the nearest tick', () => {
    expect(roundToStep(1.2345, 0.01)).toBe(1.23);
    expect(roundToStep(1.235001, 0.01)).toBe(1.24);
  });
  it('approxEq never equates NaN', () => {
    expect(approxEq(Number.NaN, Number.NaN)).toBe(false);
    expect(approxEq(0.1 + 0.2, 0.3)).toBe(true);
    expect(approxEq(1, 1.001)).toBe(false);
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[1,{"y":2,"z":1}]},"b":1}');
  });
  it('is independent of key insertion order', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.oneof(fc.integer(), fc.string(), fc.boolean())), (o) => {
        const reversed = Object.fromEntries(Object.entries(o).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(o));
      }),
    );
  });
  it('refuses NaN and Infinity', () => {
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(/non-finite number at \$\.a/);
    expect(() => canonicalJson([Infinity])).toThrow(/\$\[0\]/);
  });
});

describe('logger', () => {
  function capture() {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    return { lines, destination };
  }
  it('redacts secret fields by key, at any of the first levels', () => {
    const { lines, destination } = capture();
    const log = createLogger({ name: 't', destination });
    log.info({ apiKey: 'AKIA-123456', nested: { secret: 's3cr3t-value', ok: 1 }, a: { b: { password: 'pw-123456' } } }, 'hello');
    const out = lines.join('');
    expect(out).not.toContain('AKIA-123456');
    expect(out).not.toContain('s3cr3t-value');
    expect(out).not.toContain('pw-123456');
    expect(out).toContain('[REDACTED]');
    expect(out).toContain('"ok":1');
  });
  it('scrubs known secret values from messages and free-form fields', () => {
    const { lines, destination } = capture();
    const key = 'supersecretsigningkey-0123456789abcdef';
    const log = createLogger({ name: 't', destination, secretValues: [key] });
    log.error({ err: `failed with ${key}` }, `connecting with ${key}`);
    const out = lines.join('');
    expect(out).not.toContain(key);
    expect(out.match(/\[REDACTED\]/g)?.length).toBe(2);
  });
});
