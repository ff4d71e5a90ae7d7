import path from 'node:path';
import { z } from 'zod';
import { isTimeZoneName } from '../src/lib/domain/time-zone-name.ts';

/** Raised when an environment variable is missing or malformed; names the variable. */
export class ConfigError extends Error {}

const bool = z.enum(['on', 'off', 'true', 'false', '1', '0']).transform((v) => v === 'on' || v === 'true' || v === '1');
const positiveInt = z.coerce.number().int().positive();
const SECRET_KEY_TEXT = /^[A-Za-z0-9_-]{43}$/;
const SECRET_KEY_FORMAT = "must be 32 random bytes in base64url (43 characters), e.g. from `openssl rand -base64 32 | tr '+/' '-_' | tr -d '='`";

/** Every environment variable Watchfloor reads, with its default. The README's table mirrors this. */
const environment = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  WATCHFLOOR_DATA: z.string().min(1).default('./data'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://')
    .optional(),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRUST_PROXY: bool.default(false),
  SESSION_MAX_AGE_HOURS: positiveInt.max(24 * 365).default(168),
  LOGIN_RATE_LIMIT: positiveInt.default(10),
  WATCHFLOOR_DEMO: bool.optional(),
  COALESCE_MS: z.coerce.number().int().min(0).max(10_000).default(250),
  REOPEN_WINDOW_MINUTES: z.coerce.number().int().min(0).max(7 * 24 * 60).default(30),
  SIGNAL_RETENTION_DAYS: positiveInt.max(3650).default(30),
  // UTC, not the host's TZ: several server processes on one database must cut the same days, wherever they run.
  WATCHFLOOR_TIMEZONE: z.string().refine(isTimeZoneName, 'must be an IANA time zone name such as Australia/Sydney, America/New_York or UTC').default('UTC'),
  INGEST_RATE_LIMIT: positiveInt.default(600),
  SOURCE_CACHE_MS: z.coerce.number().int().min(0).max(3_600_000).default(5000),
  WATCHFLOOR_APP_DIR: z.string().min(1).optional(),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  WATCHFLOOR_SECRET_KEY: z.string().regex(SECRET_KEY_TEXT, SECRET_KEY_FORMAT).optional(),
  WATCHFLOOR_SECRET_KEY_PREVIOUS: z
    .string()
    .transform((text) => text.split(',').map((key) => key.trim()).filter((key) => key !== ''))
    .pipe(z.array(z.string().regex(SECRET_KEY_TEXT, `each comma-separated key ${SECRET_KEY_FORMAT}`)))
    .optional(),
  VAPID_PUBLIC_KEY: z.string().regex(/^[A-Za-z0-9_-]{87}$/, 'must be a base64url P-256 public key (87 characters)').optional(),
  VAPID_PRIVATE_KEY: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be a base64url P-256 private key (43 characters)').optional(),
  VAPID_SUBJECT: z.string().regex(/^(mailto:.+@.+|https:\/\/.+)$/, 'must be a mailto: address or an https:// URL').default('mailto:noc@watchfloor.invalid'),
  // Test-only: push endpoints on loopback (a local test push service) and the CA that signed its certificate.
  WATCHFLOOR_PUSH_TEST_LOOPBACK: bool.default(false),
  WATCHFLOOR_PUSH_TEST_CA: z.string().min(1).optional(),
});

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /** null: embedded PGlite in `dataDir`; 'memory://' is accepted for tests. */
  databaseUrl: string | null;
  redisUrl: string | null;
  logLevel: string;
  trustProxy: boolean;
  sessionMaxAgeMs: number;
  loginRateLimitPerMinute: number;
  demo: boolean;
  coalesceMs: number;
  reopenWindowMs: number;
  signalRetentionDays: number;
  /** The NOC's time zone (IANA name): where the heatmap's days begin, unless a wall sets its own. */
  timeZone: string;
  ingestRateLimitPerMinute: number;
  /** How long ingest trusts a source it looked up by token, should a notice that it changed be lost. */
  sourceCacheMs: number;
  /** Where the built SPA lives (adapter-static output). */
  appDir: string;
  /** Bearer token Prometheus presents at /metrics; without it only admins may read metrics. */
  metricsToken: string | null;
  /**
   * The key that encrypts stored secrets (32 bytes); null: the key file in `dataDir`, generated on the
   * first start (server/auth/secret-key.ts).
   */
  secretKey: Uint8Array | null;
  /**
   * Keys replaced by `secretKey` (WATCHFLOOR_SECRET_KEY_PREVIOUS): they open stored secrets sealed before the
   * rotation and seal nothing; empty with the key file, whose previous keys are files beside it.
   */
  previousSecretKeys: Uint8Array[];
  /** Web Push: VAPID keys from the environment (else generated once and stored), and test-only switches. */
  push: {
    vapidPublicKey: string | null;
    vapidPrivateKey: string | null;
    vapidSubject: string;
    allowLoopbackEndpoints: boolean;
    /** PEM file of an extra CA trusted for push endpoints (tests only). */
    testCaFile: string | null;
  };
}

/**
 * Reads and validates the environment once. Nothing else in the server touches `process.env`.
 * @throws ConfigError naming the first variable that is wrong.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = environment.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    // The value itself is not echoed: it may hold a password (DATABASE_URL).
    throw new ConfigError(`environment variable ${String(issue.path[0])}: ${issue.message}`);
  }
  const e = parsed.data;
  if (e.WATCHFLOOR_SECRET_KEY_PREVIOUS?.length && e.WATCHFLOOR_SECRET_KEY === undefined) {
    // Mixing would leave the key file's rotation and the variable's disagreeing about which keys are previous.
    throw new ConfigError(
      'environment variable WATCHFLOOR_SECRET_KEY_PREVIOUS: needs WATCHFLOOR_SECRET_KEY; with the key file, previous keys are files in the data folder’s previous-secret-keys/',
    );
  }
  if ((e.VAPID_PUBLIC_KEY === undefined) !== (e.VAPID_PRIVATE_KEY === undefined)) {
    throw new ConfigError('environment variables VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY: give both or neither');
  }
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir: path.resolve(e.WATCHFLOOR_DATA),
    databaseUrl: e.DATABASE_URL ?? null,
    redisUrl: e.REDIS_URL ?? null,
    logLevel: e.LOG_LEVEL,
    trustProxy: e.TRUST_PROXY,
    sessionMaxAgeMs: e.SESSION_MAX_AGE_HOURS * 3600_000,
    loginRateLimitPerMinute: e.LOGIN_RATE_LIMIT,
    demo: e.WATCHFLOOR_DEMO ?? e.DATABASE_URL === undefined,
    coalesceMs: e.COALESCE_MS,
    reopenWindowMs: e.REOPEN_WINDOW_MINUTES * 60_000,
    signalRetentionDays: e.SIGNAL_RETENTION_DAYS,
    timeZone: e.WATCHFLOOR_TIMEZONE,
    ingestRateLimitPerMinute: e.INGEST_RATE_LIMIT,
    sourceCacheMs: e.SOURCE_CACHE_MS,
    metricsToken: e.METRICS_TOKEN ?? null,
    secretKey: e.WATCHFLOOR_SECRET_KEY === undefined ? null : Buffer.from(e.WATCHFLOOR_SECRET_KEY, 'base64url'),
    previousSecretKeys: (e.WATCHFLOOR_SECRET_KEY_PREVIOUS ?? []).map((key) => Buffer.from(key, 'base64url')),
    push: {
      vapidPublicKey: e.VAPID_PUBLIC_KEY ?? null,
      vapidPrivateKey: e.VAPID_PRIVATE_KEY ?? null,
      vapidSubject: e.VAPID_SUBJECT,
      allowLoopbackEndpoints: e.WATCHFLOOR_PUSH_TEST_LOOPBACK,
      testCaFile: e.WATCHFLOOR_PUSH_TEST_CA ? path.resolve(e.WATCHFLOOR_PUSH_TEST_CA) : null,
    },
    appDir: path.resolve(e.WATCHFLOOR_APP_DIR ?? path.join(import.meta.dirname, '..', 'build')),
  };
}
