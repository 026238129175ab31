import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError } from '@meridian/core';
import { parseConfig, requireSigningKey } from './config.ts';

const KEY = 'k'.repeat(40);

describe('parseConfig', () => {
  it('no DATABASE_URL means embedded mode under MERIDIAN_HOME (default ./.meridian)', () => {
    const c = parseConfig({}, '/srv/app');
    expect(c.mode).toBe('embedded');
    expect(c.home).toBe(path.resolve('/srv/app/.meridian'));
    expect(c.db).toEqual({ kind: 'pglite', dataDir: path.resolve('/srv/app/.meridian/pgdata') });
    expect(c.exchange.id).toBe('paper');
    expect(c.api.port).toBe(8787);
  });
  it('DATABASE_URL means services mode', () => {
    const c = parseConfig({ DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/m', REDIS_URL: 'redis://127.0.0.1:6379', MERIDIAN_HOME: '/tmp/mh' });
    expect(c.mode).toBe('services');
    expect(c.db).toEqual({ kind: 'postgres', url: 'postgres://u:p@127.0.0.1:5432/m' });
    expect(c.home).toBe('/tmp/mh');
    expect(c.secretValues).toContain('p');
  });
  it.each([
    ['DATABASE_URL', 'mysql://x', /DATABASE_URL: must be a URL starting with postgres:/],
    ['DATABASE_URL', 'not a url', /DATABASE_URL/],
    ['REDIS_URL', 'http://x', /REDIS_URL: must be a URL starting with redis:/],
    ['MERIDIAN_API_PORT', '70000', /MERIDIAN_API_PORT: must be 1–65535/],
    ['MERIDIAN_API_PORT', 'abc', /MERIDIAN_API_PORT/],
    ['MERIDIAN_LOG_LEVEL', 'loud', /MERIDIAN_LOG_LEVEL: must be one of/],
    ['MERIDIAN_RISK_SIGNING_KEY', 'short', /MERIDIAN_RISK_SIGNING_KEY: must be at least 32 characters/],
    ['MERIDIAN_EXCHANGE_SANDBOX', 'maybe', /MERIDIAN_EXCHANGE_SANDBOX: must be 1\/0/],
    ['MERIDIAN_RISK_VERIFY_KEYS', 'nokey', /MERIDIAN_RISK_VERIFY_KEYS/],
  ])('a malformed %s=%s stops with a message naming it', (name, value, re) => {
    let caught: unknown;
    try {
      parseConfig({ [name]: value });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(AppError);
    expect((caught as AppError).code).toBe('CONFIG');
    expect((caught as AppError).message).toMatch(re);
  });
  it('lists every bad variable at once', () => {
    expect(() => parseConfig({ DATABASE_URL: 'x', REDIS_URL: 'y', MERIDIAN_API_PORT: '0' })).toThrow(/DATABASE_URL[\s\S]*REDIS_URL[\s\S]*MERIDIAN_API_PORT/);
  });
  it('signing keys: current key plus rotating verify keys; secrets are collected for the logger', () => {
    const old = 'o'.repeat(40);
    const c = parseConfig({ MERIDIAN_RISK_SIGNING_KEY: KEY, MERIDIAN_RISK_SIGNING_KEY_ID: 'k2', MERIDIAN_RISK_VERIFY_KEYS: `k1:${old}` });
    expect(c.risk.verifyKeys).toEqual({ k1: old, k2: KEY });
    expect(requireSigningKey(c)).toEqual({ keyId: 'k2', key: KEY });
    expect(c.secretValues).toEqual(expect.arrayContaining([KEY, old]));
  });
  it('requireSigningKey explains how to set a missing key', () => {
    expect(() => requireSigningKey(parseConfig({}))).toThrow(/MERIDIAN_RISK_SIGNING_KEY is not set/);
  });
  it('empty strings count as unset', () => {
    expect(parseConfig({ DATABASE_URL: '', MERIDIAN_API_PORT: '' }).mode).toBe('embedded');
  });
});
