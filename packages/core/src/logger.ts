import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';

export type { Logger };

/** Keys whose values never reach a log line, wherever they appear (two levels deep). */
export const SECRET_KEYS = [
  'apiKey',
  'api_key',
  'secret',
  'apiSecret',
  'password',
  'passphrase',
  'privateKey',
  'token',
  'authorization',
  'signingKey',
  'signature',
  'MERIDIAN_RISK_SIGNING_KEY',
  'MERIDIAN_EXCHANGE_API_KEY',
  'MERIDIAN_EXCHANGE_SECRET',
  'MERIDIAN_EXCHANGE_PASSWORD',
  'OPENAI_API_KEY',
  'ANTHROPIC_API_KEY',
  'DATABASE_URL',
] as const;

const redactPaths = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

export interface LoggerFactoryOptions {
  name: string;
  level?: string;
  /** extra literal secret values to scrub from any string that is logged */
  secretValues?: readonly string[];
  destination?: DestinationStream;
}

/**
 * A pino logger that redacts secret fields by key, and scrubs known secret values
 * from messages (a key pasted into an error message must not leak either).
 */
export function createLogger(opts: LoggerFactoryOptions): Logger {
  const secrets = (opts.secretValues ?? []).filter((s) => s.length >= 6);
  const scrub = (s: string): string => secrets.reduce((acc, v) => acc.split(v).join('[REDACTED]'), s);
  const options: LoggerOptions = {
    name: opts.name,
    level: opts.level ?? 'info',
    redact: { paths: redactPaths, censor: '[REDACTED]' },
    hooks: secrets.length
      ? {
          logMethod(args, method) {
            const cleaned = args.map((a: unknown) => (typeof a === 'string' ? scrub(a) : a)) as Parameters<typeof method>;
            method.apply(this, cleaned);
          },
        }
      : {},
    formatters: secrets.length
      ? {
          log(obj) {
            return JSON.parse(scrub(JSON.stringify(obj))) as Record<string, unknown>;
          },
        }
      : {},
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}
