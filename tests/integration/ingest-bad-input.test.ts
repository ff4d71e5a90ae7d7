import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { sql } from 'drizzle-orm';
import { DATABASES, startTestServer, type TestServer } from '../helpers/test-server.ts';
import { addSource } from '../../server/ingest/sources.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Format = 'alertmanager' | 'grafana' | 'generic' | 'pagerduty';

const fixture = (name: string): Record<string, Json> =>
  JSON.parse(readFileSync(new URL(`../fixtures/${name}.json`, import.meta.url), 'utf8')) as Record<string, Json>;

const FIXTURES: Record<Format, Record<string, Json>> = {
  alertmanager: fixture('alertmanager-v4'),
  grafana: fixture('grafana-v1'),
  generic: fixture('generic'),
  pagerduty: fixture('pagerduty-trigger'),
};
const ROUTES: Record<Format, string> = {
  alertmanager: '/api/v1/ingest/alertmanager',
  grafana: '/api/v1/ingest/grafana',
  generic: '/api/v1/ingest/generic',
  pagerduty: '/v2/enqueue',
};

interface Answer {
  status: number;
  text: string;
  json: Record<string, unknown> | null;
}

async function post(server: TestServer, route: string, body: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${server.url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await response.text();
  let json: Record<string, unknown> | null = null;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = null;
  }
  return { status: response.status, text, json };
}

/** Rows in every table a webhook writes to. */
async function stored(server: TestServer): Promise<string> {
  const [row] = await server.context.database.rows<Record<string, number | string>>(
    sql`select (select count(*) from signals) as signals, (select count(*) from alerts) as alerts,
      (select count(*) from incidents) as incidents, (select count(*) from changes) as changes, (select count(*) from timeline) as timeline`,
  );
  return JSON.stringify(Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)])));
}

describe.each(DATABASES)('ingest bad input on $name', (database) => {
  let server: TestServer;
  const tokens = {} as Record<Format | 'limited' | 'limitedPd', string>;

  /** Sends a body to a format's endpoint with that format's credentials. */
  function send(format: Format, body: string, headers: Record<string, string> = {}, token = tokens[format]): Promise<Answer> {
    return post(server, ROUTES[format], body, format === 'pagerduty' ? headers : { authorization: `Bearer ${token}`, ...headers });
  }
  const valid = (format: Format): Record<string, Json> => {
    const body = structuredClone(FIXTURES[format]);
    if (format === 'pagerduty') body.routing_key = tokens.pagerduty;
    return body;
  };

  beforeAll(async () => {
    const { url, drop } = await database.url();
    server = await startTestServer(url, { INGEST_RATE_LIMIT: '1000000' }, drop);
    const db = server.context.database.db;
    for (const format of Object.keys(ROUTES) as Format[]) tokens[format] = (await addSource(db, { name: format, format })).token;
    tokens.limited = (await addSource(db, { name: 'limited', format: 'generic', rateLimitPerMinute: 2 })).token;
    tokens.limitedPd = (await addSource(db, { name: 'limited pd', format: 'pagerduty', rateLimitPerMinute: 2 })).token;
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('400 JSON naming the first bad field by its path', async () => {
    const before = await stored(server);
    const body = valid('alertmanager') as { alerts: { status: string }[] };
    body.alerts[0].status = 'burning';
    const answer = await send('alertmanager', JSON.stringify(body));
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ error: { code: 'validation_failed', path: 'alerts[0].status' } });
    expect((answer.json as { error: { message: string } }).error.message).toContain('alerts[0].status');

    const generic = valid('generic') as { signals: { labels: Record<string, unknown> }[] };
    generic.signals[1].labels['bad key'] = 7;
    const second = await send('generic', JSON.stringify(generic));
    expect(second.status).toBe(400);
    expect(second.json).toMatchObject({ error: { code: 'validation_failed', path: 'signals[1].labels["bad key"]' } });
    expect(await stored(server)).toBe(before);
  });

  it('a batch whose 3rd alert is bad stores nothing, not even the good ones', async () => {
    const before = await stored(server);
    const body = valid('alertmanager') as { alerts: Record<string, Json>[] };
    const good = body.alerts[0];
    body.alerts = [
      { ...good, fingerprint: 'batch-1' },
      { ...good, fingerprint: 'batch-2' },
      { ...good, fingerprint: 'batch-3', startsAt: 'yesterday' },
      { ...good, fingerprint: 'batch-4' },
    ];
    const answer = await send('alertmanager', JSON.stringify(body));
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ error: { path: 'alerts[2].startsAt' } });
    expect(await stored(server)).toBe(before);
  });

  it('401 without a token or with an unknown one, on every endpoint; nothing stored', async () => {
    const before = await stored(server);
    for (const format of ['alertmanager', 'grafana', 'generic'] as const) {
      const body = JSON.stringify(valid(format));
      const missing = await post(server, ROUTES[format], body);
      expect(missing.status, format).toBe(401);
      expect(missing.json).toMatchObject({ error: { code: 'unauthenticated' } });
      const unknown = await post(server, ROUTES[format], body, { authorization: 'Bearer wfs_not-a-real-token' });
      expect(unknown.status, format).toBe(401);
      const malformed = await post(server, ROUTES[format], body, { authorization: 'Token abc' });
      expect(malformed.status, format).toBe(401);
    }
    const pdMissing = await post(server, ROUTES.pagerduty, JSON.stringify({ ...valid('pagerduty'), routing_key: undefined }));
    expect(pdMissing.status).toBe(401);
    const pdUnknown = await post(server, ROUTES.pagerduty, JSON.stringify({ ...valid('pagerduty'), routing_key: 'ffffffffffffffffffffffffffffffff' }));
    expect(pdUnknown.status).toBe(401);
    expect(pdUnknown.json).toMatchObject({ status: expect.any(String), errors: [expect.any(String)] });
    expect(await stored(server)).toBe(before);
  });

  it("403 when a token is used on another format's endpoint; nothing stored", async () => {
    const before = await stored(server);
    const cases: [Format, string][] = [
      ['alertmanager', tokens.grafana],
      ['grafana', tokens.alertmanager],
      ['generic', tokens.pagerduty],
    ];
    for (const [format, token] of cases) {
      const answer = await send(format, JSON.stringify(valid(format)), {}, token);
      expect(answer.status, format).toBe(403);
      expect(answer.json).toMatchObject({ error: { code: 'forbidden' } });
    }
    const pd = await post(server, ROUTES.pagerduty, JSON.stringify({ ...valid('pagerduty'), routing_key: tokens.generic }));
    expect(pd.status).toBe(403);
    expect(pd.json).toMatchObject({ status: 'error', errors: [expect.any(String)] });
    expect(await stored(server)).toBe(before);
  });

  it('413 over 1 MiB; nothing stored', async () => {
    const before = await stored(server);
    for (const format of Object.keys(ROUTES) as Format[]) {
      const body = valid(format);
      body.padding = 'x'.repeat(1024 * 1024);
      const answer = await send(format, JSON.stringify(body));
      expect(answer.status, format).toBe(413);
      if (format === 'pagerduty') expect(answer.json).toMatchObject({ status: 'error', errors: [expect.any(String)] });
      else expect(answer.json).toMatchObject({ error: { code: 'payload_too_large' } });
    }
    expect(await stored(server)).toBe(before);
  });

  it('415 when the body is not JSON; nothing stored', async () => {
    const before = await stored(server);
    for (const format of Object.keys(ROUTES) as Format[]) {
      const body = JSON.stringify(valid(format));
      for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'multipart/form-data; boundary=x']) {
        const answer = await send(format, body, { 'content-type': contentType });
        expect(answer.status, `${format} ${contentType}`).toBe(415);
        if (format !== 'pagerduty') expect(answer.json).toMatchObject({ error: { code: 'unsupported_media_type' } });
      }
    }
    expect(await stored(server)).toBe(before);
  });

  it('400 for a body that is not valid JSON, or empty', async () => {
    const before = await stored(server);
    for (const format of Object.keys(ROUTES) as Format[]) {
      const truncated = await send(format, JSON.stringify(valid(format)).slice(0, 40));
      expect(truncated.status, format).toBe(400);
      const empty = await send(format, '');
      expect(empty.status, format).toBe(400);
    }
    expect(await stored(server)).toBe(before);
  });

  it('429 when a source exceeds its rate limit; the refused request stores nothing', async () => {
    const body = (n: number) =>
      JSON.stringify({ signals: [{ fingerprint: `rate-${n}`, status: 'firing', severity: 'info', summary: `rate ${n}`, client: 'ratelimit' }] });
    expect((await send('generic', body(1), {}, tokens.limited)).status).toBe(200);
    expect((await send('generic', body(2), {}, tokens.limited)).status).toBe(200);
    const before = await stored(server);
    const refused = await send('generic', body(3), {}, tokens.limited);
    expect(refused.status).toBe(429);
    expect(refused.json).toMatchObject({ error: { code: 'rate_limited' } });
    expect(await stored(server)).toBe(before);
    // another source is not affected
    expect((await send('generic', body(4))).status).toBe(200);

    const pd = (n: number) => JSON.stringify({ ...valid('pagerduty'), routing_key: tokens.limitedPd, dedup_key: `rate-${n}` });
    expect((await post(server, ROUTES.pagerduty, pd(1))).status).toBe(202);
    expect((await post(server, ROUTES.pagerduty, pd(2))).status).toBe(202);
    const pdRefused = await post(server, ROUTES.pagerduty, pd(3));
    expect(pdRefused.status).toBe(429);
    expect(pdRefused.json).toMatchObject({ status: expect.any(String), errors: [expect.any(String)] });
  });

  it("PagerDuty errors in PagerDuty's shape", async () => {
    const before = await stored(server);
    const bad = valid('pagerduty') as { payload: Record<string, Json> };
    bad.payload.severity = 'apocalyptic';
    const answer = await send('pagerduty', JSON.stringify(bad));
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ status: 'invalid event', message: expect.any(String), errors: [expect.stringContaining('payload.severity')] });

    const noDedup = await send('pagerduty', JSON.stringify({ routing_key: tokens.pagerduty, event_action: 'acknowledge' }));
    expect(noDedup.status).toBe(400);
    expect(noDedup.json).toMatchObject({ status: 'invalid event', errors: [expect.stringContaining('dedup_key')] });

    const noPayload = await send('pagerduty', JSON.stringify({ routing_key: tokens.pagerduty, event_action: 'trigger' }));
    expect(noPayload.status).toBe(400);
    expect(noPayload.json).toMatchObject({ status: 'invalid event', errors: [expect.stringContaining('payload')] });

    const notJson = await send('pagerduty', '{"routing_key":');
    expect(notJson.status).toBe(400);
    expect(notJson.json).toMatchObject({ status: 'invalid event', errors: [expect.any(String)] });
    expect(await stored(server)).toBe(before);
  });

  it('impossible calendar dates are refused (30 February is not 2 March)', async () => {
    const before = await stored(server);
    for (const date of ['2025-02-30T00:00:00Z', '2025-04-31T08:00:00Z', '2023-02-29T00:00:00Z']) {
      const body = valid('alertmanager') as { alerts: Record<string, Json>[] };
      body.alerts[0].startsAt = date;
      const answer = await send('alertmanager', JSON.stringify(body));
      expect(answer.status, date).toBe(400);
      expect(answer.json).toMatchObject({ error: { path: 'alerts[0].startsAt' } });
    }
    expect(await stored(server)).toBe(before);
  });

  it('a body nested thousands of levels deep → 400 (it used to overflow the stack and answer 500); normal nesting is fine', async () => {
    const before = await stored(server);
    const event = valid('pagerduty') as { payload: Record<string, Json>; dedup_key: string };
    event.payload.custom_details = 'DEEP';
    event.dedup_key = 'deep-nesting';
    const deep = await send('pagerduty', JSON.stringify(event).replace('"DEEP"', deepNestText(20_000, true)));
    expect(deep.status).toBe(400);
    expect(deep.json).toMatchObject({ status: 'invalid event', errors: [expect.stringContaining('nested')] });
    const generic = valid('generic') as { signals: Record<string, Json>[] };
    generic.signals[0].labels = 'DEEP';
    const deepGeneric = await send('generic', JSON.stringify(generic).replace('"DEEP"', deepNestText(50_000, false)));
    expect(deepGeneric.status).toBe(400);
    expect(deepGeneric.json).toMatchObject({ error: { code: 'bad_request' } });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(await stored(server)).toBe(before);

    event.payload.custom_details = deepNest(10, true);
    const normal = await send('pagerduty', JSON.stringify(event));
    expect(normal.status).toBe(202);
  });

  describe('fuzz: generated malformed payloads', () => {
    for (const format of Object.keys(ROUTES) as Format[]) {
      it(`${format}: ≥1,000 malformed payloads → each a 4xx, the server stays up, nothing stored`, async () => {
        const before = await stored(server);
        let sent = 0;
        await fc.assert(
          fc.asyncProperty(malformed(format, () => tokens.pagerduty).map(shortPrinted), async ({ body }) => {
            const answer = await send(format, body);
            sent += 1;
            if (answer.status < 400 || answer.status >= 500) {
              throw new Error(`answered ${answer.status} ${answer.text.slice(0, 300)} to ${shortPrinted(body)[fc.toStringMethod]()}`);
            }
            expect(answer.json, answer.text.slice(0, 200)).not.toBeNull();
          }),
          // shrinking re-sends huge bodies for little gain: the failing body is in the error
          { numRuns: 1000, endOnFailure: true },
        );
        expect(sent).toBeGreaterThanOrEqual(1000);
        expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
        expect(await stored(server)).toBe(before);
        // nothing reached Object.prototype through a "__proto__" or "constructor" key
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        // and the endpoint still takes a valid payload
        const ok = await send(format, JSON.stringify(valid(format)));
        expect(ok.status).toBeLessThan(300);
      }, 180_000);
    }
  });
});

/** Wraps a body so that fast-check reports (possibly megabyte) counterexamples by their ends. */
function shortPrinted(body: string): { body: string; [fc.toStringMethod]: () => string } {
  return { body, [fc.toStringMethod]: () => (body.length > 600 ? `${body.slice(0, 300)} …(${body.length} chars)… ${body.slice(-300)}` : body) };
}

// ── generators of malformed payloads ──────────────────────────────────────────────────

type Kind = 'string' | 'enum' | 'date' | 'map' | 'array' | 'int' | 'object' | 'numberMap';
interface Field {
  path: (string | number)[];
  kind: Kind;
  required: boolean;
  /** null is a valid value */
  nullable?: boolean;
}

const GROUP: Field[] = [
  { path: ['groupKey'], kind: 'string', required: true },
  { path: ['truncatedAlerts'], kind: 'int', required: false },
  { path: ['status'], kind: 'enum', required: true },
  { path: ['receiver'], kind: 'string', required: true },
  { path: ['groupLabels'], kind: 'map', required: true },
  { path: ['commonLabels'], kind: 'map', required: true },
  { path: ['commonAnnotations'], kind: 'map', required: true },
  { path: ['externalURL'], kind: 'string', required: true },
  { path: ['alerts'], kind: 'array', required: true },
];
const alertFields = (i: number): Field[] => [
  { path: ['alerts', i], kind: 'object', required: true },
  { path: ['alerts', i, 'status'], kind: 'enum', required: true },
  { path: ['alerts', i, 'labels'], kind: 'map', required: true },
  { path: ['alerts', i, 'annotations'], kind: 'map', required: true },
  { path: ['alerts', i, 'startsAt'], kind: 'date', required: true },
  { path: ['alerts', i, 'endsAt'], kind: 'date', required: true },
  { path: ['alerts', i, 'generatorURL'], kind: 'string', required: false },
  { path: ['alerts', i, 'fingerprint'], kind: 'string', required: false },
];
const FIELDS: Record<Format, Field[]> = {
  alertmanager: [{ path: ['version'], kind: 'enum', required: true }, ...GROUP, ...alertFields(0), ...alertFields(1)],
  grafana: [
    { path: ['version'], kind: 'enum', required: true },
    ...GROUP,
    { path: ['orgId'], kind: 'int', required: true },
    { path: ['title'], kind: 'string', required: true },
    { path: ['state'], kind: 'string', required: true },
    { path: ['message'], kind: 'string', required: true },
    ...alertFields(0),
    ...['silenceURL', 'dashboardURL', 'panelURL', 'valueString', 'imageURL'].map((f): Field => ({ path: ['alerts', 0, f], kind: 'string', required: false })),
    { path: ['alerts', 0, 'values'], kind: 'numberMap', required: false, nullable: true },
  ],
  generic: [
    { path: ['signals'], kind: 'array', required: true },
    ...[0, 1].flatMap((i): Field[] => [
      { path: ['signals', i], kind: 'object', required: true },
      { path: ['signals', i, 'status'], kind: 'enum', required: true },
      { path: ['signals', i, 'severity'], kind: 'enum', required: true },
      { path: ['signals', i, 'summary'], kind: 'string', required: true },
      { path: ['signals', i, 'fingerprint'], kind: 'string', required: false },
      { path: ['signals', i, 'labels'], kind: 'map', required: false },
      { path: ['signals', i, 'annotations'], kind: 'map', required: false },
      { path: ['signals', i, 'startsAt'], kind: 'date', required: false },
      { path: ['signals', i, 'endsAt'], kind: 'date', required: false, nullable: true },
      { path: ['signals', i, 'client'], kind: 'string', required: false },
      { path: ['signals', i, 'node'], kind: 'string', required: false },
      { path: ['signals', i, 'links'], kind: 'array', required: false },
    ]),
  ],
  pagerduty: [
    { path: ['routing_key'], kind: 'string', required: true },
    { path: ['event_action'], kind: 'enum', required: true },
    { path: ['dedup_key'], kind: 'string', required: false },
    { path: ['payload'], kind: 'object', required: true },
    { path: ['payload', 'summary'], kind: 'string', required: true },
    { path: ['payload', 'source'], kind: 'string', required: true },
    { path: ['payload', 'severity'], kind: 'enum', required: true },
    { path: ['payload', 'timestamp'], kind: 'date', required: false },
    { path: ['payload', 'component'], kind: 'string', required: false },
    { path: ['payload', 'group'], kind: 'string', required: false },
    { path: ['payload', 'class'], kind: 'string', required: false },
    { path: ['links'], kind: 'array', required: false },
    { path: ['images'], kind: 'array', required: false },
    { path: ['client'], kind: 'string', required: false },
    { path: ['client_url'], kind: 'string', required: false },
  ],
};

/** Strings that look like the right word but are not (for enums: status, version, severity, event_action). */
const ODD_WORDS = ['', ' ', 'FIRING', 'firing ', ' resolved', 'fіring', 'firing\u0000', '\u202efiring', 'critical\u200b', 'trigger\n', 'ʀᴇsᴏʟᴠᴇᴅ', '4.0', '0', '🔥', '\ud800', 'null', 'undefined', '__proto__', 'constructor', 'toString'];
const BAD_DATES = ['', 'yesterday', 'now', '2025-03-01', '2025-03-01T08:00:00', '2025-03-01 08:00:00Z', '0000-00-00T00:00:00Z', '2025-13-01T00:00:00Z', '2025-02-30T00:00:00Z', '2025-03-01T25:61:00Z', '+275760-09-13T00:00:00.000Z', '2025-03-01T08:00:00Z\u0000', '１２３４-01-01T00:00:00Z', 'Sat, 01 Mar 2025 08:00:00 GMT', '1740816000', '2025-03-01T08:00:00.1234567890Z'];

/** The JSON text of `depth` nested arrays or objects (built as text: JSON.stringify would overflow the stack). */
function deepNestText(depth: number, objects: boolean): string {
  return objects ? `${'{"a":'.repeat(depth)}"x"${'}'.repeat(depth)}` : `${'['.repeat(depth)}"x"${']'.repeat(depth)}`;
}

function deepNest(depth: number, objects: boolean): Json {
  let value: Json = 'x';
  for (let i = 0; i < depth; i++) value = objects ? { a: value } : [value];
  return value;
}

const wrongType = (kind: Kind, nullable: boolean): fc.Arbitrary<Json> => {
  const choices: fc.Arbitrary<Json>[] = [
    // numbers are the right type for an int field (its bad values are in badValue)
    ...(kind === 'int' ? [] : [fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })]),
    fc.boolean(),
    fc.integer({ min: 200, max: 3000 }).chain((d) => fc.boolean().map((o) => deepNest(d, o))),
  ];
  // an object whose only key is its prototype: JSON.stringify writes {}, valid where a map is expected
  if (kind !== 'map' && kind !== 'numberMap') choices.push(fc.constant({ __proto__: { polluted: true } } as unknown as Json));
  if (!nullable) choices.push(fc.constant(null));
  if (kind !== 'string' && kind !== 'enum' && kind !== 'date') choices.push(fc.string({ maxLength: 20 }));
  if (kind !== 'array') choices.push(fc.array(fc.string(), { maxLength: 3 }));
  if (kind !== 'map' && kind !== 'object' && kind !== 'numberMap') choices.push(fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }));
  return fc.oneof(...choices);
};

// limits count characters (code points), so each of these is over 16 KiB characters
const HUGE = fc.integer({ min: 16 * 1024 + 1, max: 200_000 }).chain((n) => fc.constantFrom('x', 'é', '🔥', '\u0000').map((c) => c.repeat(n)));

/** A value of the field's kind that the schema must refuse. */
function badValue(field: Field): fc.Arbitrary<Json | typeof DELETE> {
  const options: fc.Arbitrary<Json | typeof DELETE>[] = [wrongType(field.kind, field.nullable ?? false)];
  if (field.required) options.push(fc.constant(DELETE));
  switch (field.kind) {
    case 'string':
      options.push(HUGE);
      break;
    case 'enum':
      options.push(fc.constantFrom(...ODD_WORDS));
      break;
    case 'date':
      options.push(fc.constantFrom(...BAD_DATES));
      break;
    case 'int':
      options.push(fc.constantFrom(1.5, '1', 0.001, 2 ** 60));
      break;
    case 'array':
      if (field.required) options.push(fc.constant([]));
      options.push(fc.array(fc.oneof(fc.integer(), fc.constant(null), fc.string()), { minLength: 1, maxLength: 5 }));
      if (field.required) options.push(fc.constant(Array.from({ length: 10_001 }, () => 0)));
      break;
    case 'map':
      options.push(
        // a value that is not a string
        fc.tuple(fc.string({ minLength: 1, maxLength: 10 }), fc.oneof(fc.integer(), fc.constant(null), fc.boolean(), fc.constant<Json>(['x']))).map(([k, v]): Json => ({ ok: 'fine', [k]: v })),
        // a key that is too long or empty
        fc.constantFrom('k'.repeat(257), '').map((k) => ({ [k]: 'v' })),
        // too many entries
        fc.constant(Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`k${i}`, 'v']))),
        fc.constant({ value: 'x'.repeat(16 * 1024 + 1) }),
      );
      break;
    case 'numberMap':
      options.push(fc.string().map((s) => ({ A: s })));
      break;
    case 'object':
      options.push(fc.constant({}));
      break;
  }
  return fc.oneof(...options);
}

const DELETE = Symbol('delete');

function setAt(root: Record<string, Json>, path: (string | number)[], value: Json | typeof DELETE): void {
  let node: Json = root;
  for (const key of path.slice(0, -1)) {
    node = (node as Record<string, Json>)[key];
    if (node === null || typeof node !== 'object') return;
  }
  const last = path[path.length - 1];
  if (value === DELETE) {
    if (Array.isArray(node) && typeof last === 'number') node[last] = null; // a hole would shift the batch
    else delete (node as Record<string, Json>)[last];
  } else (node as Record<string, Json>)[last] = value;
}

/** Changes that keep a payload valid on their own: unknown keys, prototype keys, odd but legal text. */
const noise = fc.array(
  fc.oneof(
    fc.constantFrom('__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toJSON').map((key) => (p: Record<string, Json>) => {
      Object.defineProperty(p, key, { value: { polluted: true, prototype: { polluted: true } }, enumerable: true, configurable: true, writable: true });
    }),
    fc.string({ unit: 'grapheme', maxLength: 30 }).map((s) => (p: Record<string, Json>) => {
      p[`extra_${s}`] = s;
    }),
  ),
  { maxLength: 3 },
);

/** A JSON text (or near-JSON) that the endpoint must refuse: a valid fixture with at least one field broken. */
function malformed(format: Format, routingKey: () => string): fc.Arbitrary<string> {
  const fields = FIELDS[format];
  const broken = fc
    .tuple(noise, fc.array(fc.constantFrom(...fields).chain((f) => badValue(f).map((v) => [f, v] as const)), { minLength: 1, maxLength: 3 }))
    .map(([noiseOps, breaks]) => {
      const body = structuredClone(FIXTURES[format]);
      if (format === 'pagerduty') body.routing_key = routingKey();
      if (format === 'generic' || format === 'alertmanager') {
        // both items firing, so that a lenient server would have something to store
        for (const item of (body.signals ?? body.alerts) as Record<string, Json>[]) item.status = 'firing';
      }
      for (const op of noiseOps) op(body);
      for (const [field, value] of breaks) setAt(body, field.path, value);
      return JSON.stringify(body);
    });
  const notAnObject = fc.oneof(
    fc.constantFrom('null', '[]', '"alert"', '42', 'true', '{}', '[{}]', JSON.stringify([FIXTURES[format]]), JSON.stringify({ __proto__: FIXTURES[format] })),
    fc.integer({ min: 500, max: 50_000 }).map((d) => deepNestText(d, d % 2 === 0)),
    fc.jsonValue({ maxDepth: 3 }).filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)).map((v) => JSON.stringify(v)),
  );
  const notJson = fc.oneof(
    fc.nat({ max: 400 }).map((n) => JSON.stringify(FIXTURES[format]).slice(0, n)),
    fc.string({ unit: 'binary', maxLength: 100 }).filter((s) => {
      try {
        JSON.parse(s);
        return false;
      } catch {
        return true;
      }
    }),
  );
  return fc.oneof({ arbitrary: broken, weight: 8 }, { arbitrary: notAnObject, weight: 1 }, { arbitrary: notJson, weight: 1 });
}
