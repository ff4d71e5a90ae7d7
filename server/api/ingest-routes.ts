import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from '../http/app-context.ts';
import type { SourceFormat } from '../db/schema/index.ts';
import { DomainError, parseOrThrow } from '../errors.ts';
import { BODY_LIMIT } from '../http/create-http.ts';
import {
  alertmanagerPayload,
  genericPayload,
  grafanaPayload,
  pagerdutyEvent,
} from '../../src/lib/protocol/ingest.ts';
import { normaliseAlertmanager } from '../ingest/alertmanager.ts';
import { normaliseGrafana } from '../ingest/grafana.ts';
import { normaliseGeneric } from '../ingest/generic.ts';
import { normalisePagerduty, pagerdutyDedupKey } from '../ingest/pagerduty.ts';
import type { Signal, SourceMapping } from '../engine/types.ts';
import type { IngestPipeline } from '../ingest/ingest-pipeline.ts';
import type { IngestingSource, SourceLookup } from '../ingest/source-lookup.ts';

declare module 'fastify' {
  interface FastifyRequest {
    ingestSource: IngestingSource | null;
    rawBody: Buffer | null;
  }
}

/**
 * Webhooks from monitoring systems. Each authenticates with its source's token (bearer, or the
 * password of basic auth; PagerDuty's routing_key), is validated whole before anything is stored,
 * and is answered only after its signals are committed.
 */
export function ingestRoutes(app: FastifyInstance, { config }: AppContext, pipeline: IngestPipeline, sourceLookup: SourceLookup): void {
  app.decorateRequest('ingestSource', null);
  app.decorateRequest('rawBody', null);

  function headerToken(request: FastifyRequest): string | null {
    const header = request.headers.authorization ?? '';
    const bearer = /^Bearer\s+(\S+)$/i.exec(header);
    if (bearer) return bearer[1];
    const basic = /^Basic\s+(\S+)$/i.exec(header);
    if (basic) {
      const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
      return decoded.slice(decoded.indexOf(':') + 1) || null;
    }
    return null;
  }

  /** preValidation: the body is parsed but not yet trusted; find and check the source. */
  const authenticate = (format: SourceFormat) => async (request: FastifyRequest) => {
    const token =
      format === 'pagerduty'
        ? typeof (request.body as { routing_key?: unknown } | null)?.routing_key === 'string'
          ? (request.body as { routing_key: string }).routing_key
          : null
        : headerToken(request);
    if (!token) {
      throw new DomainError('unauthenticated', format === 'pagerduty' ? 'routing_key is missing' : 'missing source token: send Authorization: Bearer <token>');
    }
    const source = await sourceLookup.byToken(token);
    if (!source) throw new DomainError('unauthenticated', 'unknown source token');
    // Known but refused: the sender's admin learns the token is right and the source was switched off here.
    if (!source.enabled) throw new DomainError('unauthenticated', 'this source is disabled: an admin enables it again in Settings → Sources');
    if (source.format !== format) {
      throw new DomainError('forbidden', `this token belongs to a ${source.format} source; post to its ${source.format} endpoint`);
    }
    if (format === 'grafana' && source.hmacSecret) verifyGrafanaSignature(request, source.hmacSecret);
    // Refused, not taken unsigned: whoever knows the token alone must not get in because the secret was lost.
    else if (format === 'grafana' && source.hmacSecretLostAt) {
      throw new DomainError('unauthenticated', 'this source’s HMAC secret was lost with the server’s secret key: an admin sets a new one in Settings → Sources (and the same in Grafana)');
    }
    request.ingestSource = source;
  };

  const routeConfig = (format: SourceFormat) => ({
    config: {
      public: true, // authenticated by the source token in preValidation
      rateLimit: {
        hook: 'preHandler' as const,
        timeWindow: 60_000,
        keyGenerator: (request: FastifyRequest) => `source:${request.ingestSource?.id ?? request.ip}`,
        max: (request: FastifyRequest) => request.ingestSource?.rateLimitPerMinute ?? config.ingestRateLimitPerMinute,
      },
    },
    preValidation: authenticate(format),
  });

  function mappingOf(source: IngestingSource): SourceMapping {
    return { ...source.mapping, defaultClient: source.defaultClient };
  }

  async function commit(source: IngestingSource, signals: Signal[]): Promise<void> {
    // Client slugs are lowercase; a label saying ACME means the client acme.
    for (const s of signals) if (s.client) s.client = s.client.toLowerCase();
    await pipeline.submit({ id: source.id, name: source.name, mapping: mappingOf(source) }, signals);
  }

  app.register(async (scope) => {
    // Keep the raw bytes: Grafana's HMAC signs them, not the parsed JSON.
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (request, body, done) => {
      request.rawBody = body as Buffer;
      let parsed: unknown;
      try {
        parsed = JSON.parse((body as Buffer).toString('utf8'));
      } catch (error) {
        return done(new DomainError('bad_request', `body is not valid JSON: ${(error as Error).message}`), undefined);
      }
      // Schemas validate recursively (PagerDuty's custom_details is any JSON): thousands of nested
      // levels overflowed the stack and answered 500. No sender nests anywhere near this deep.
      if (nestedDeeperThan(parsed, MAX_JSON_DEPTH)) {
        return done(new DomainError('bad_request', `body is nested deeper than ${MAX_JSON_DEPTH} levels`), undefined);
      }
      done(null, parsed);
    });

    scope.post('/api/v1/ingest/alertmanager', routeConfig('alertmanager'), async (request) => {
      const payload = parseOrThrow(alertmanagerPayload, request.body);
      const signals = normaliseAlertmanager(payload, mappingOf(request.ingestSource!), new Date());
      await commit(request.ingestSource!, signals);
      return { status: 'committed', signals: signals.length };
    });

    scope.post('/api/v1/ingest/grafana', routeConfig('grafana'), async (request) => {
      const payload = parseOrThrow(grafanaPayload, request.body);
      const signals = normaliseGrafana(payload, mappingOf(request.ingestSource!), new Date());
      await commit(request.ingestSource!, signals);
      return { status: 'committed', signals: signals.length };
    });

    scope.post('/api/v1/ingest/generic', routeConfig('generic'), async (request) => {
      const payload = parseOrThrow(genericPayload, request.body);
      const signals = normaliseGeneric(payload, mappingOf(request.ingestSource!), new Date());
      await commit(request.ingestSource!, signals);
      return { status: 'committed', signals: signals.length };
    });

    // PagerDuty Events API v2: same path and answers as PagerDuty, so a sender changes only the host.
    scope.register(async (pd) => {
      pd.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
        const known = error instanceof DomainError ? error : null;
        const status = known?.status ?? (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 413 : error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 415 : (error.statusCode ?? 500));
        if (status >= 500) request.log.error({ err: error }, 'pagerduty ingest failed');
        const message = status >= 500 ? 'internal error' : (known?.message ?? error.message);
        return reply.status(status).send({
          status: status === 400 ? 'invalid event' : 'error',
          message: status === 400 ? 'Event object is invalid' : message,
          errors: [message],
        });
      });
      pd.post('/v2/enqueue', routeConfig('pagerduty'), async (request, reply) => {
        const event = parseOrThrow(pagerdutyEvent, request.body);
        const signals = normalisePagerduty(event, mappingOf(request.ingestSource!), new Date());
        await commit(request.ingestSource!, signals);
        return reply.status(202).send({ status: 'success', message: 'Event processed', dedup_key: pagerdutyDedupKey(event) });
      });
    });
  });
}

/** Deepest nesting of arrays/objects a webhook body may have. */
const MAX_JSON_DEPTH = 64;

/** True when `value` has arrays/objects nested more than `limit` deep. Iterative: no stack to overflow. */
function nestedDeeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth > limit) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}

/**
 * Grafana signs the body with HMAC-SHA256 (hex) in X-Grafana-Alerting-Signature; with a timestamp
 * header configured it signs `timestamp:body`. Compared in constant time.
 */
function verifyGrafanaSignature(request: FastifyRequest, secret: string): void {
  const signature = request.headers['x-grafana-alerting-signature'];
  const timestamp = request.headers['x-grafana-alerting-timestamp'];
  if (typeof signature !== 'string' || !/^[0-9a-f]{64}$/i.test(signature)) {
    throw new DomainError('unauthenticated', 'missing or malformed X-Grafana-Alerting-Signature');
  }
  const hmac = createHmac('sha256', secret);
  if (typeof timestamp === 'string') hmac.update(`${timestamp}:`);
  hmac.update(request.rawBody ?? Buffer.alloc(0));
  if (!timingSafeEqual(hmac.digest(), Buffer.from(signature, 'hex'))) {
    throw new DomainError('unauthenticated', 'the Grafana HMAC signature does not match');
  }
}
