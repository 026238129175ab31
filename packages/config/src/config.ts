import path from 'node:path';
import { z } from 'zod';
import { AppError } from '@meridian/core';

/**
 * The only reader of process.env. Parsed once at start-up; a malformed value stops the
 * program with a message naming the variable and what is wrong.
 */

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const optionalString = z
  .string()
  .transform((s) => s.trim())
  .pipe(z.string())
  .optional()
  .transform((s) => (s === undefined || s === '' ? undefined : s));

const url = (protocols: readonly string[], example: string) =>
  optionalString.refine(
    (s) => {
      if (s === undefined) return true;
      try {
        return protocols.includes(new URL(s).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')} (e.g. ${example})` },
  );

const boolFlag = z
  .enum(['', '0', '1', 'true', 'false', 'yes', 'no'], { message: 'must be 1/0, true/false or yes/no' })
  .optional()
  .transform((s) => s === '1' || s === 'true' || s === 'yes');

const port = (def: number) =>
  z
    .string()
    .optional()
    .transform((s) => (s === undefined || s === '' ? String(def) : s))
    .transform((s) => Number(s))
    .pipe(z.number({ message: 'must be a number' }).int('must be a whole number').min(1, 'must be 1–65535').max(65535, 'must be 1–65535'));

const positiveInt = (def: number) =>
  z
    .string()
    .optional()
    .transform((s) => (s === undefined || s === '' ? String(def) : s))
    .transform((s) => Number(s))
    .pipe(z.number({ message: 'must be a number' }).int('must be a whole number').positive('must be > 0'));

const signingKey = optionalString.refine((s) => s === undefined || s.length >= 32, {
  message: 'must be at least 32 characters (use e.g. `openssl rand -hex 32`)',
});

/** "kid1:key1,kid2:key2" — older keys still accepted for verification while they rotate out */
const verifyKeys = optionalString.transform((s, ctx) => {
  const out: Record<string, string> = {};
  if (!s) return out;
  for (const part of s.split(',')) {
    const i = part.indexOf(':');
    const kid = part.slice(0, i).trim();
    const key = part.slice(i + 1).trim();
    if (i <= 0 || !kid || key.length < 32) {
      ctx.addIssue({ code: 'custom', message: 'must be a comma-separated list of KEYID:KEY with keys of ≥ 32 characters' });
      return z.NEVER;
    }
    out[kid] = key;
  }
  return out;
});

export const EnvSchema = z.object({
  NODE_ENV: optionalString,
  DATABASE_URL: url(['postgres:', 'postgresql:'], 'postgres://user:pass@127.0.0.1:5432/meridian'),
  REDIS_URL: url(['redis:', 'rediss:'], 'redis://127.0.0.1:6379'),
  MERIDIAN_HOME: optionalString,
  MERIDIAN_LOG_LEVEL: z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` }).optional(),
  MERIDIAN_API_HOST: optionalString,
  MERIDIAN_API_PORT: port(8787),
  MERIDIAN_QUEUE_PREFIX: optionalString,
  MERIDIAN_RISK_SIGNING_KEY: signingKey,
  MERIDIAN_RISK_SIGNING_KEY_ID: optionalString,
  MERIDIAN_RISK_VERIFY_KEYS: verifyKeys,
  MERIDIAN_APPROVAL_TTL_MS: positiveInt(60_000),
  MERIDIAN_PENDING_APPROVAL_TTL_MS: positiveInt(15 * 60_000),
  MERIDIAN_EXCHANGE: z
    .string()
    .regex(/^[a-z0-9_]+$/, 'must be "paper" or a ccxt exchange id such as binance')
    .optional(),
  MERIDIAN_EXCHANGE_API_KEY: optionalString,
  MERIDIAN_EXCHANGE_SECRET: optionalString,
  MERIDIAN_EXCHANGE_PASSWORD: optionalString,
  MERIDIAN_EXCHANGE_SANDBOX: boolFlag,
  /** override of the exchange REST base URL (used to point ccxt at a local fake exchange) */
  MERIDIAN_EXCHANGE_URL: url(['http:', 'https:'], 'http://127.0.0.1:9000'),
  MERIDIAN_LLM_PROVIDER: z.enum(['none', 'openai', 'anthropic', 'ollama', 'openai-compatible']).optional(),
  MERIDIAN_LLM_MODEL: optionalString,
  MERIDIAN_LLM_BASE_URL: url(['http:', 'https:'], 'http://127.0.0.1:11434/v1'),
  OPENAI_API_KEY: optionalString,
  ANTHROPIC_API_KEY: optionalString,
  MERIDIAN_REQUIRE_SERVICES: boolFlag,
  TEST_DATABASE_URL: url(['postgres:', 'postgresql:'], 'postgres://postgres@127.0.0.1:5432/test'),
  TEST_REDIS_URL: url(['redis:', 'rediss:'], 'redis://127.0.0.1:6379'),
});

export type Env = z.infer<typeof EnvSchema>;

export interface Config {
  readonly mode: 'embedded' | 'services';
  readonly home: string;
  readonly db: { readonly kind: 'pglite'; readonly dataDir: string } | { readonly kind: 'postgres'; readonly url: string };
  readonly redisUrl: string | undefined;
  readonly queuePrefix: string;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  readonly api: { readonly host: string; readonly port: number };
  readonly risk: {
    readonly signingKey: string | undefined;
    readonly signingKeyId: string;
    /** every key accepted when verifying, by key id (includes the current signing key) */
    readonly verifyKeys: Readonly<Record<string, string>>;
    readonly approvalTtlMs: number;
    readonly pendingApprovalTtlMs: number;
  };
  readonly exchange: {
    readonly id: string;
    readonly apiKey: string | undefined;
    readonly secret: string | undefined;
    readonly password: string | undefined;
    readonly sandbox: boolean;
    readonly url: string | undefined;
  };
  readonly llm: {
    readonly provider: 'none' | 'openai' | 'anthropic' | 'ollama' | 'openai-compatible';
    readonly model: string | undefined;
    readonly baseUrl: string | undefined;
    readonly openaiApiKey: string | undefined;
    readonly anthropicApiKey: string | undefined;
  };
  readonly test: {
    readonly requireServices: boolean;
    readonly databaseUrl: string;
    readonly redisUrl: string;
  };
  /** literal secret values, for the logger to scrub */
  readonly secretValues: readonly string[];
}

export function formatEnvIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => {
      const name = String(i.path[0] ?? '(environment)');
      return `  ${name}: ${i.message}`;
    })
    .join('\n');
}

/** Parse an environment. Throws AppError('CONFIG') listing every bad variable. */
export function parseConfig(env: Record<string, string | undefined>, cwd = process.cwd()): Config {
  const r = EnvSchema.safeParse(env);
  if (!r.success) {
    throw new AppError('CONFIG', `invalid environment:\n${formatEnvIssues(r.error)}`, {
      hint: 'fix or unset the variables above and start again',
    });
  }
  const e = r.data;
  const home = path.resolve(cwd, e.MERIDIAN_HOME ?? '.meridian');
  const signingKeyId = e.MERIDIAN_RISK_SIGNING_KEY_ID ?? 'k1';
  const verifyKeysMap: Record<string, string> = { ...e.MERIDIAN_RISK_VERIFY_KEYS };
  if (e.MERIDIAN_RISK_SIGNING_KEY) verifyKeysMap[signingKeyId] = e.MERIDIAN_RISK_SIGNING_KEY;
  const secretValues = [
    e.MERIDIAN_RISK_SIGNING_KEY,
    ...Object.values(e.MERIDIAN_RISK_VERIFY_KEYS),
    e.MERIDIAN_EXCHANGE_API_KEY,
    e.MERIDIAN_EXCHANGE_SECRET,
    e.MERIDIAN_EXCHANGE_PASSWORD,
    e.OPENAI_API_KEY,
    e.ANTHROPIC_API_KEY,
    passwordOf(e.DATABASE_URL),
    passwordOf(e.REDIS_URL),
  ].filter((s): s is string => typeof s === 'string' && s.length > 0);

  return {
    mode: e.DATABASE_URL ? 'services' : 'embedded',
    home,
    db: e.DATABASE_URL ? { kind: 'postgres', url: e.DATABASE_URL } : { kind: 'pglite', dataDir: path.join(home, 'pgdata') },
    redisUrl: e.REDIS_URL,
    queuePrefix: e.MERIDIAN_QUEUE_PREFIX ?? 'meridian',
    logLevel: e.MERIDIAN_LOG_LEVEL ?? 'info',
    api: { host: e.MERIDIAN_API_HOST ?? '127.0.0.1', port: e.MERIDIAN_API_PORT },
    risk: {
      signingKey: e.MERIDIAN_RISK_SIGNING_KEY,
      signingKeyId,
      verifyKeys: verifyKeysMap,
      approvalTtlMs: e.MERIDIAN_APPROVAL_TTL_MS,
      pendingApprovalTtlMs: e.MERIDIAN_PENDING_APPROVAL_TTL_MS,
    },
    exchange: {
      id: e.MERIDIAN_EXCHANGE ?? 'paper',
      apiKey: e.MERIDIAN_EXCHANGE_API_KEY,
      secret: e.MERIDIAN_EXCHANGE_SECRET,
      password: e.MERIDIAN_EXCHANGE_PASSWORD,
      sandbox: e.MERIDIAN_EXCHANGE_SANDBOX,
      url: e.MERIDIAN_EXCHANGE_URL,
    },
    llm: {
      provider: e.MERIDIAN_LLM_PROVIDER ?? 'none',
      model: e.MERIDIAN_LLM_MODEL,
      baseUrl: e.MERIDIAN_LLM_BASE_URL,
      openaiApiKey: e.OPENAI_API_KEY,
      anthropicApiKey: e.ANTHROPIC_API_KEY,
    },
    test: {
      requireServices: e.MERIDIAN_REQUIRE_SERVICES,
      databaseUrl: e.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
      redisUrl: e.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    },
    secretValues,
  };
}

function passwordOf(u: string | undefined): string | undefined {
  if (!u) return undefined;
  try {
    const p = decodeURIComponent(new URL(u).password);
    return p || undefined;
  } catch {
    return undefined;
  }
}

let cached: Config | undefined;

/** The process's config, parsed from process.env on first use. */
export function loadConfig(): Config {
  cached ??= parseConfig(process.env);
  return cached;
}

/** Require the risk signing key (executor, worker): a clear error when it is missing. */
export function requireSigningKey(c: Config): { keyId: string; key: string } {
  if (!c.risk.signingKey) {
    throw new AppError('CONFIG', 'MERIDIAN_RISK_SIGNING_KEY is not set', {
      hint: 'set it to a secret of ≥ 32 characters shared by the worker and the executor (e.g. `export MERIDIAN_RISK_SIGNING_KEY=$(openssl rand -hex 32)`)',
    });
  }
  return { keyId: c.risk.signingKeyId, key: c.risk.signingKey };
}

/** Environment for child processes the program itself spawns (tests, `meridian start`). */
export function processEnv(): NodeJS.ProcessEnv {
  return process.env;
}
