// HTTP(S) endpoints: POST /webhook and /webhook/:receiver (Alertmanager), /metrics, /healthz, /readyz.
// Answers as Alertmanager expects: 200 once the notification is in the outbox, 503 when the store
// cannot be written (Alertmanager retries 5xx), 4xx for what a retry cannot fix. Never 429:
// Alertmanager's webhook does not retry it.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import { parseWebhookPayload } from './alertmanager.js';
import type { ReceiverConfig } from './config.js';
import type { Intake } from './intake.js';
import type { ReceiverMetrics } from './metrics.js';
import { isQueued } from './outbox/idempotency.js';

export interface ServerOptions {
  config: Pick<ReceiverConfig, 'listen' | 'tls' | 'auth' | 'limits'>;
  intake: Intake;
  metrics: ReceiverMetrics;
  logger: Logger;
  /** Resolves when the store can be used; rejects otherwise (readiness). */
  storeReady: () => Promise<void>;
  /** Called after a notification was written, so that delivery starts at once. */
  onAccepted: () => void;
  /** The status page and its API (receiver/src/ui/), when `ui` is configured; else / is a plain page. */
  ui?: RequestHandler;
  /** Slack's Request URL (slack_interactivity.path): signed, no receiver auth (receiver/src/interactions/). */
  interactions?: { path: string; handler: RequestHandler };
}

export interface RunningServer {
  url: string;
  /** Stops accepting connections and waits for requests under way. */
  close(): Promise<void>;
}

const WEBHOOK_PATHS = ['/webhook', '/webhook/:receiver'];

const digest = (text: string) => createHash('sha256').update(text).digest();
/** Compares secrets in constant time (hashing first makes the lengths equal). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

export function createApp(options: ServerOptions & { isShuttingDown: () => boolean }): express.Express {
  const { config, intake, metrics, logger } = options;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  const checkAuth = authCheck(config.auth);
  const limit = config.limits.maxBodyBytes;
  // The webhook path is one handler, not a middleware chain: at thousands of webhooks a second
  // express's per-middleware overhead shows.
  app.post(WEBHOOK_PATHS, (req: Request<{ receiver?: string }>, res) => {
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      metrics.webhooks.inc({ code: String(status) });
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'Content-Type': 'application/json; charset=utf-8',
        'Content-Length': Buffer.byteLength(text),
        ...headers,
      });
      res.end(text);
    };
    const challenge = checkAuth(req.headers.authorization);
    if (challenge) {
      req.resume(); // drain what the client sends, without reading it into memory
      reply(401, { error: 'unauthorized' }, { 'WWW-Authenticate': challenge });
      return;
    }
    if (!JSON_TYPE.test(req.headers['content-type'] ?? '')) {
      req.resume();
      reply(415, { error: 'unsupported media type: expected Content-Type: application/json' });
      return;
    }
    readJson(req, limit)
      .then(async (body) => {
        if (body.kind === 'too-large') {
          reply(
            413,
            { error: `payload too large: at most ${limit} bytes (limits.max_body_size)` },
            { Connection: 'close' },
          );
          return;
        }
        if (body.kind === 'unsupported') {
          reply(415, { error: body.message });
          return;
        }
        if (body.kind === 'invalid') {
          reply(400, { error: `invalid JSON: ${body.message}`, field: '(body)' });
          return;
        }
        if (body.kind === 'aborted') return;
        const parsed = parseWebhookPayload(body.value);
        if (!parsed.ok) {
          const first = parsed.problems[0] as { field: string; message: string };
          logger.warn({ field: first.field, problem: first.message }, 'invalid webhook payload');
          reply(400, {
            error: `invalid payload: ${first.field}: ${first.message}`,
            field: first.field,
            problems: parsed.problems.slice(0, 20),
          });
          return;
        }
        let accepted: Awaited<ReturnType<Intake['accept']>>;
        try {
          accepted = await intake.accept(parsed.payload, req.params.receiver, body.text);
        } catch (err) {
          logger.error(
            { err: (err as Error).message },
            'cannot write the outbox: answering 503 so that Alertmanager retries',
          );
          reply(503, { error: 'the outbox cannot be written; retry later' });
          return;
        }
        if (accepted.destinations.some((d) => isQueued(d.outcome))) options.onAccepted();
        const stale = accepted.destinations.some((d) => d.outcome === 'stale');
        // One line per webhook at debug (Alertmanager repeats a lot); deliveries log at info.
        logger[accepted.destinations.length === 0 ? 'warn' : stale ? 'info' : 'debug'](
          {
            group: accepted.identity.text,
            group_id: accepted.identity.id,
            status: parsed.payload.status,
            alerts: parsed.payload.alerts.length,
            reason: parsed.payload.notification_reason ?? undefined,
            destinations: accepted.destinations,
          },
          accepted.destinations.length === 0
            ? 'webhook accepted: no route matched, nothing to send'
            : stale
              ? 'webhook accepted: a late retry of an older state (it shows firing what the group has resolved since), not sent'
              : 'webhook accepted',
        );
        reply(200, {
          status: 'accepted',
          group: accepted.identity.text,
          destinations: accepted.destinations,
        });
      })
      .catch((err: Error) => {
        logger.error({ err: err.message }, 'webhook handling failed');
        if (!res.headersSent) reply(500, { error: 'internal error' });
      });
  });
  app.all(WEBHOOK_PATHS, (_req, res) => {
    metrics.webhooks.inc({ code: '405' });
    res.set('Allow', 'POST').status(405).json({ error: 'method not allowed: POST a webhook payload' });
  });

  if (options.interactions) {
    app.post(options.interactions.path, options.interactions.handler);
    app.all(options.interactions.path, (_req, res) => {
      res.set('Allow', 'POST').status(405).type('text/plain').send('method not allowed\n');
    });
  }

  app.get('/metrics', async (_req, res) => {
    try {
      res.set('Content-Type', metrics.registry.contentType).send(await metrics.registry.metrics());
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'collecting metrics failed');
      res.status(500).type('text/plain').send('collecting metrics failed\n');
    }
  });
  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok\n');
  });
  app.get('/readyz', async (_req, res) => {
    if (options.isShuttingDown()) {
      res.status(503).type('text/plain').send('shutting down\n');
      return;
    }
    try {
      await options.storeReady();
      res.type('text/plain').send('ready\n');
    } catch (err) {
      res
        .status(503)
        .type('text/plain')
        .send(`not ready: ${(err as Error).message}\n`);
    }
  });
  if (options.ui) app.use(options.ui);
  else
    app.get('/', (_req, res) => {
      res
        .type('text/html')
        .send(
          '<html><body><h1>license-receiver</h1><p>POST /webhook · <a href="/metrics">/metrics</a></p></body></html>\n',
        );
    });
  app.use((_req, res) => {
    res.status(404).type('text/plain').send('not found\n');
  });
  app.use((err: Error & { status?: number }, req: Request, res: Response, _next: NextFunction) => {
    // The router cannot decode a path such as /webhook/%ZZ: the client's mistake, said before any
    // handler (and so before authentication) without echoing the path.
    const status = err.status ?? (err instanceof URIError ? 400 : 500);
    if (status >= 400 && status < 500) {
      const undecodable = err instanceof URIError || /decode/i.test(err.message);
      if (req.path.startsWith('/webhook')) metrics.webhooks.inc({ code: String(status) });
      res
        .status(status)
        .json({ error: undecodable ? 'bad request: the path is not valid percent-encoding' : 'bad request' });
      return;
    }
    logger.error({ err: err.message }, 'request failed');
    res.status(500).json({ error: 'internal error' });
  });
  return app;
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

type Body =
  | { kind: 'json'; value: unknown; text: string }
  | { kind: 'too-large' }
  | { kind: 'invalid'; message: string }
  | { kind: 'unsupported'; message: string }
  | { kind: 'aborted' };

/**
 * Reads a JSON body of at most `limit` bytes (checked on Content-Length first, then while reading).
 * Leaner than express.json(), which matters at thousands of webhooks a second.
 */
export function readJson(req: http.IncomingMessage, limit: number): Promise<Body> {
  return new Promise((resolve) => {
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (encoding !== 'identity') {
      req.resume();
      resolve({
        kind: 'unsupported',
        message: `unsupported content encoding ${JSON.stringify(encoding)}: send the JSON uncompressed`,
      });
      return;
    }
    if (Number(req.headers['content-length'] ?? 0) > limit) {
      req.resume();
      resolve({ kind: 'too-large' });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (body: Body) => {
      if (done) return;
      done = true;
      resolve(body);
    };
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        finish({ kind: 'too-large' });
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => finish({ kind: 'aborted' }));
    req.on('aborted', () => finish({ kind: 'aborted' }));
    req.on('end', () => {
      const text = (chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)).toString('utf8');
      try {
        finish({ kind: 'json', value: JSON.parse(text), text });
      } catch (err) {
        finish({ kind: 'invalid', message: (err as Error).message });
      }
    });
  });
}

/** Checks the Authorization header; returns the WWW-Authenticate challenge when it fails. */
export function authCheck(auth: ReceiverConfig['auth']): (header: string | undefined) => string | undefined {
  return (header = '') => {
    if (!auth) return undefined;
    if (auth.bearerToken !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      const ok = match !== null && auth.bearerToken !== '' && safeEqual(match[1] as string, auth.bearerToken);
      return ok ? undefined : 'Bearer realm="license-receiver"';
    }
    const basic = auth.basic as NonNullable<typeof auth.basic>;
    const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    let ok = false;
    if (match) {
      const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const user = colon < 0 ? decoded : decoded.slice(0, colon);
      const password = colon < 0 ? '' : decoded.slice(colon + 1);
      // Both compared, always, so that timing does not tell which one was wrong.
      const userOk = safeEqual(user, basic.username);
      const passwordOk = safeEqual(password, basic.password ?? '');
      ok = userOk && passwordOk && basic.password !== undefined;
    }
    return ok ? undefined : 'Basic realm="license-receiver"';
  };
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  let shuttingDown = false;
  const app = createApp({ ...options, isShuttingDown: () => shuttingDown });
  const { config } = options;
  const timeout = config.limits.requestTimeoutMs;
  // request_timeout means what it says: the whole request (headers and body) within it. Node checks
  // these timeouts every connectionsCheckingInterval (30 s by default, so a 10 s limit cut slow clients
  // after 25–37 s); check often enough that the limit holds within a second.
  const timeouts = {
    requestTimeout: timeout,
    headersTimeout: timeout,
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(timeout / 4))),
  };
  const server = config.tls
    ? https.createServer(
        {
          ...timeouts,
          cert: readFileSync(config.tls.certFile),
          key: readFileSync(config.tls.keyFile),
          ...(config.tls.clientCaFile
            ? { ca: readFileSync(config.tls.clientCaFile), requestCert: true, rejectUnauthorized: true }
            : {}),
        },
        app,
      )
    : http.createServer(timeouts, app);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `${config.tls ? 'https' : 'http'}://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        shuttingDown = true;
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
