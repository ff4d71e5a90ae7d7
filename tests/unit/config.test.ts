import { describe, it, expect } from 'vitest';
import path from 'node:path';
import { loadConfig, ConfigError } from '../../server/config.ts';

/** Runs loadConfig and returns the ConfigError it threw (fails the test when it did not throw one). */
function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('has the documented defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      dataDir: path.resolve('./data'),
      databaseUrl: null,
      redisUrl: null,
      logLevel: 'info',
      trustProxy: false,
      sessionMaxAgeMs: 168 * 3600_000,
      loginRateLimitPerMinute: 10,
      metricsToken: null,
      timeZone: 'UTC',
      sourceCacheMs: 5000,
    });
    expect(path.isAbsolute(config.appDir)).toBe(true);
    expect(config.appDir.endsWith(`${path.sep}build`)).toBe(true);
  });

  it('reads each variable it knows', () => {
    const config = loadConfig({
      PORT: '9090',
      HOST: '127.0.0.1',
      WATCHFLOOR_DATA: '/tmp/wf-data',
      DATABASE_URL: 'postgres://u:p@db:5432/wf',
      LOG_LEVEL: 'debug',
      TRUST_PROXY: 'on',
      SESSION_MAX_AGE_HOURS: '12',
      LOGIN_RATE_LIMIT: '3',
      WATCHFLOOR_DEMO: 'off',
      METRICS_TOKEN: 'a-token-of-16-chars-or-more',
      WATCHFLOOR_APP_DIR: '/srv/app',
      WATCHFLOOR_TIMEZONE: 'Australia/Sydney',
      SOURCE_CACHE_MS: '60000',
    });
    expect(config).toMatchObject({
      port: 9090,
      host: '127.0.0.1',
      dataDir: '/tmp/wf-data',
      databaseUrl: 'postgres://u:p@db:5432/wf',
      logLevel: 'debug',
      trustProxy: true,
      sessionMaxAgeMs: 12 * 3600_000,
      loginRateLimitPerMinute: 3,
      demo: false,
      metricsToken: 'a-token-of-16-chars-or-more',
      appDir: '/srv/app',
      timeZone: 'Australia/Sydney',
      sourceCacheMs: 60_000,
    });
  });

  it('treats an empty variable as unset (as shells and compose files often pass them)', () => {
    const config = loadConfig({ PORT: '', DATABASE_URL: '', LOG_LEVEL: '' });
    expect(config.port).toBe(8080);
    expect(config.databaseUrl).toBeNull();
    expect(config.logLevel).toBe('info');
  });

  it('accepts postgresql:// as well as postgres://', () => {
    expect(loadConfig({ DATABASE_URL: 'postgresql://db/wf' }).databaseUrl).toBe('postgresql://db/wf');
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['DATABASE_URL', 'mysql://x'],
    ['DATABASE_URL', 'mysql://admin:s3cr3t-pa55@db.internal:3306/prod'],
    ['LOG_LEVEL', 'loud'],
    ['WATCHFLOOR_DEMO', 'maybe'],
    ['TRUST_PROXY', 'yes please'],
    ['SESSION_MAX_AGE_HOURS', '0'],
    ['LOGIN_RATE_LIMIT', '1.5'],
    ['REDIS_URL', 'http://cache'],
    ['METRICS_TOKEN', 'short'],
    ['WATCHFLOOR_SECRET_KEY', 'short'],
    ['WATCHFLOOR_SECRET_KEY', 'x'.repeat(44)],
    ['WATCHFLOOR_SECRET_KEY', Buffer.alloc(32, 1).toString('base64')], // base64 with padding, not base64url
    ['WATCHFLOOR_SECRET_KEY', Buffer.alloc(16, 1).toString('base64url')],
    ['WATCHFLOOR_TIMEZONE', 'Australia/Sydnee'],
    ['WATCHFLOOR_TIMEZONE', '+05:30'],
    ['SOURCE_CACHE_MS', '-1'],
    ['SOURCE_CACHE_MS', 'soon'],
    ['WATCHFLOOR_SECRET_KEY_PREVIOUS', `${Buffer.alloc(32, 1).toString('base64url')},short`],
  ])('%s=%s throws a ConfigError that names the variable', (name, value) => {
    const error = configError({ [name]: value });
    expect(error.message).toContain(name);
  });

  it('never repeats the value of DATABASE_URL, which may hold a password', () => {
    const secret = 'mysql://admin:s3cr3t-pa55@db.internal:3306/prod';
    const error = configError({ DATABASE_URL: secret });
    expect(error.message).toContain('DATABASE_URL');
    expect(error.message).not.toContain(secret);
    expect(error.message).not.toContain('s3cr3t-pa55');
    expect(error.message).not.toContain('db.internal');
  });

  it('does not repeat the value of METRICS_TOKEN either', () => {
    const error = configError({ METRICS_TOKEN: 'tiny-secret' });
    expect(error.message).not.toContain('tiny-secret');
  });

  it('reads WATCHFLOOR_SECRET_KEY as 32 bytes of base64url; without it the key file is used (null)', () => {
    const key = Buffer.from(Array.from({ length: 32 }, (_, i) => i * 7));
    expect(Buffer.from(loadConfig({ WATCHFLOOR_SECRET_KEY: key.toString('base64url') }).secretKey!)).toEqual(key);
    expect(loadConfig({}).secretKey).toBeNull();
  });

  it('reads WATCHFLOOR_SECRET_KEY_PREVIOUS as comma-separated keys, and only beside WATCHFLOOR_SECRET_KEY', () => {
    const current = Buffer.alloc(32, 1).toString('base64url');
    const [a, b] = [Buffer.alloc(32, 2), Buffer.alloc(32, 3)];
    const config = loadConfig({ WATCHFLOOR_SECRET_KEY: current, WATCHFLOOR_SECRET_KEY_PREVIOUS: ` ${a.toString('base64url')}, ${b.toString('base64url')},` });
    expect(config.previousSecretKeys.map((k) => Buffer.from(k))).toEqual([a, b]);
    expect(loadConfig({ WATCHFLOOR_SECRET_KEY: current }).previousSecretKeys).toEqual([]);
    const alone = configError({ WATCHFLOOR_SECRET_KEY_PREVIOUS: a.toString('base64url') });
    expect(alone.message).toContain('WATCHFLOOR_SECRET_KEY_PREVIOUS: needs WATCHFLOOR_SECRET_KEY');
    expect(alone.message).not.toContain(a.toString('base64url'));
  });

  it('does not repeat a malformed WATCHFLOOR_SECRET_KEY, and says what a key looks like', () => {
    const almost = Buffer.alloc(32, 9).toString('base64url').slice(1);
    const error = configError({ WATCHFLOOR_SECRET_KEY: almost });
    expect(error.message).toContain('WATCHFLOOR_SECRET_KEY');
    expect(error.message).toContain('32 random bytes in base64url');
    expect(error.message).not.toContain(almost);
  });

  it('refuses a time zone that is not an IANA name, saying what one looks like', () => {
    const error = configError({ WATCHFLOOR_TIMEZONE: 'Mars/Olympus_Mons' });
    expect(error.message).toBe('environment variable WATCHFLOOR_TIMEZONE: must be an IANA time zone name such as Australia/Sydney, America/New_York or UTC');
    // Not the host's TZ either: UTC unless set.
    expect(loadConfig({ TZ: 'Asia/Tokyo' }).timeZone).toBe('UTC');
  });

  it('names the wrong variable even when others are fine', () => {
    const error = configError({ PORT: '8081', HOST: '::', LOG_LEVEL: 'loud' });
    expect(error.message).toContain('LOG_LEVEL');
    expect(error.message).not.toContain('PORT');
  });
});
