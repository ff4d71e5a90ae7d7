import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import type { Config } from '../config.ts';
import type { Metrics } from '../metrics.ts';
import { DomainError } from '../errors.ts';
import type { ErrorBody } from '../../src/lib/protocol/errors.ts';
import type { AppVersion } from '../../src/lib/protocol/events.ts';

export const BODY_LIMIT = 1024 * 1024;

/** Headers and fields that carry secrets; pino replaces them before anything is written. */
const REDACT = [
  'req.headers.cookie',
  'req.headers.authorization',
  'req.headers["x-grafana-alerting-signature"]',
  'res.headers["set-cookie"]',
];

/** Query parameters that carry secrets (a wall's device token when it is opened). */
const SECRET_QUERY_PARAMS = ['token'];

/** The request URL as logs may keep it: secret query values replaced. */
export function loggableUrl(url: string): string {
  const query = url.indexOf('?');
  if (query < 0) return url;
  const params = new URLSearchParams(url.slice(query + 1));
  for (const name of SECRET_QUERY_PARAMS) if (params.has(name)) params.set(name, '[Redacted]');
  return `${url.slice(0, query)}?${params}`;
}

/**
 * Fastify's own lines for every request ("incoming request", "request completed") at debug, not info: at info
 * every webhook wrote two lines (the demo's own every two seconds, a storm's thousands a minute), burying what an
 * operator must see. Refused requests still log at info and failures at error (the error handler).
 */
class RequestLinesAtDebug extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) super.requestCompleted(error, request, reply);
    else reply.log.debug({ res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

/**
 * Fastify with the cross-cutting parts every route needs: request ids and structured logs (pino),
 * 1 MiB bodies, JSON errors with known codes, security headers, rate limiting, metrics and the SPA.
 */
export async function createHttp(config: Config, metrics: Metrics): Promise<FastifyInstance> {
  const app = Fastify({
    logger: {
      level: config.logLevel,
      redact: REDACT,
      serializers: {
        req: (request: { method: string; url: string; ip?: string; hostname?: string }) => ({
          method: request.method,
          url: loggableUrl(request.url),
          host: request.hostname,
          remoteAddress: request.ip,
        }),
      },
    },
    logController: new RequestLinesAtDebug(),
    bodyLimit: BODY_LIMIT,
    trustProxy: config.trustProxy,
    requestIdHeader: false, // ids are ours: a client cannot smuggle one into the logs
    genReqId: () => randomUUID(),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Errors raised before routing (a URL that is not valid percent-encoding) get the same JSON shape and codes.
    frameworkErrors: (error, _request, reply) => {
      const known = toDomainError(error);
      void (reply as FastifyReply).status(known.status).send(known.toBody());
    },
  });
  app.decorateRequest('session', null);
  // Every body is JSON: Fastify's built-in text/plain parser would hand routes a string where they expect
  // an object (a 400 that hides the real problem); without it, text/plain is a 415.
  app.removeContentTypeParser('text/plain');

  await app.register(fastifyCookie);
  await app.register(fastifyHelmet, {
    // The SPA's own CSP travels in its HTML (SvelteKit's hash mode); the API answers JSON only.
    contentSecurityPolicy: false,
    crossOriginEmbedderPolicy: false,
    strictTransportSecurity: false,
  });
  await app.register(fastifyRateLimit, {
    global: false,
    errorResponseBuilder: (_request, context) =>
      new DomainError('rate_limited', `too many requests: try again in ${Math.ceil(context.ttl / 1000)} s`),
  });

  // During a graceful stop, a request already in flight gets its answer and then its connection closes:
  // left open (keep-alive, 72 s in Fastify), it would hold the stop until the client lets go.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
    if (closing) void reply.header('connection', 'close');
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((error: FastifyError | DomainError, request, reply) => {
    const known = toDomainError(error);
    if (known.code === 'internal') request.log.error({ err: error }, 'unhandled error');
    else request.log.info({ code: known.code, message: known.message }, 'request refused');
    if (error instanceof DomainError && error.code === 'rate_limited') void reply.header('retry-after', '60');
    return reply.status(known.status).send(known.toBody());
  });

  app.setNotFoundHandler((request, reply) => {
    const pathname = request.url.split('?')[0];
    if (pathname.startsWith('/api/') || pathname === '/api' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      const body: ErrorBody = { error: { code: 'not_found', message: `no route ${request.method} ${pathname}` } };
      return reply.status(404).send(body);
    }
    // The build's own files: one that is not there (a page open since the last deploy asking for old code) gets a
    // 404, not the shell's HTML, which a browser would try to run as a script.
    if (pathname.startsWith('/_app/')) {
      const body: ErrorBody = { error: { code: 'not_found', message: `no file ${pathname}` } };
      return reply.status(404).send(body);
    }
    return sendAppPage(config, reply, pathname);
  });

  if (fs.existsSync(config.appDir)) {
    await app.register(fastifyStatic, {
      root: config.appDir,
      prefix: '/',
      index: false,
      setHeaders(reply, filePath) {
        // Hashed assets never change; everything else is revalidated so a deploy shows at once.
        void reply.header('cache-control', filePath.includes(`${path.sep}immutable${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
  }
  app.get('/', { config: { public: true } }, (_request, reply) => sendAppPage(config, reply, '/'));
  return app;
}

/** The build of the app in `appDir` (the version SvelteKit wrote in `_app/version.json`), or null without one. */
export function appVersionOf(appDir: string): AppVersion {
  try {
    const { version } = JSON.parse(fs.readFileSync(path.join(appDir, '_app', 'version.json'), 'utf8')) as { version?: unknown };
    return typeof version === 'string' ? version : null;
  } catch {
    return null; // not built (a development server, or a build to come)
  }
}

/** A page's path as the build names its HTML: lower-case words and slashes, nothing else. */
const PAGE_PATH = /^\/(?:[a-z0-9-]+\/)*[a-z0-9-]*$/;

/**
 * The HTML for an app page: the page's own, built ahead (it lists the page's code, so the browser fetches it
 * with the app's), or else the shell, which loads a page's code once the app has routed (an incident, say).
 */
function sendAppPage(config: Config, reply: import('fastify').FastifyReply, pathname: string) {
  const pages = path.join(config.appDir, 'pages');
  const own = PAGE_PATH.test(pathname) ? path.join(pages, pathname === '/' ? 'index.html' : `${pathname.replace(/\/$/, '')}.html`) : null;
  const html = own !== null && fs.existsSync(own) ? own : path.join(pages, 'shell.html');
  if (!fs.existsSync(html)) {
    return reply.status(503).type('text/plain').send('The Watchfloor app is not built yet: run `npm run build`.');
  }
  return reply.header('cache-control', 'no-cache').type('text/html').send(fs.createReadStream(html));
}

/** Maps Fastify's own errors onto the codes clients know; anything unknown becomes `internal`. */
function toDomainError(error: FastifyError | DomainError): DomainError {
  if (error instanceof DomainError) return error;
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new DomainError('payload_too_large', `body is larger than ${BODY_LIMIT} bytes`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new DomainError('unsupported_media_type', 'body must be application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new DomainError('bad_request', 'body is empty: send a JSON document');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new DomainError('bad_request', 'content-length does not match the body');
  }
  if (error instanceof SyntaxError || (error as { code?: string }).code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return new DomainError('bad_request', `body is not valid JSON: ${error.message}`);
  }
  if (error.statusCode === 429) return new DomainError('rate_limited', error.message);
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return new DomainError('bad_request', error.message);
  }
  return new DomainError('internal', 'internal error');
}
