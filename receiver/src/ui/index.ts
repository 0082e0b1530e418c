// The status page at / and its data at /api/v1/outbox, behind `ui.basic_auth` (compared in constant
// time, like the webhook's credentials). GETs only read. Retry and Discard are POSTs that carry a
// token only the page knows (an HMAC of the user name under a key made at start, so a page from before
// a restart must be reloaded) and must come from this origin: another site cannot make a logged-in
// browser press them. Every answer forbids caching and framing.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import type { ReceiverConfig } from '../config.js';
import { actionText, channelViews, entryDescriber, logView } from '../outbox/inspect.js';
import type { ActionResult, OutboxStore } from '../outbox/store.js';
import { authCheck, safeEqual } from '../server.js';
import { humanDuration } from '../units.js';
import { renderStatusPage, STYLE, type StatusData } from './page.js';

export interface StatusUiOptions {
  config: Pick<ReceiverConfig, 'clusterLabel' | 'delivery'> & { ui: NonNullable<ReceiverConfig['ui']> };
  store: OutboxStore;
  channels: readonly { name: string; type: string }[];
  version: string;
  logger: Logger;
  /** Makes the delivery loop look for work now (after a retry). */
  wake: () => void;
  now?: () => number;
}

/** Rows listed on the page at most (the CLI lists them all). */
const DEAD_SHOWN = 500;
const WAITING_SHOWN = 100;
const RECENT_SHOWN = 50;

const CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const OUTCOMES = ['requeued', 'discarded', 'not-found', 'in-flight', 'not-dead', 'superseded'] as const;

export function createStatusUi(options: StatusUiOptions): Router {
  const { store, config, logger } = options;
  const now = options.now ?? Date.now;
  const basic = config.ui.basicAuth;
  const check = authCheck({ basic });
  const csrf = createHmac('sha256', randomBytes(32)).update(`csrf\n${basic.username}`).digest('base64url');
  const describe = entryDescriber(config);
  const ms = config.delivery.pollIntervalMs;
  const poll = ms < 1000 ? `${ms}ms` : humanDuration(ms);

  const auth = (req: Request, res: Response, next: () => void) => {
    res.set({
      'Cache-Control': 'no-store',
      Connection: 'close',
      'X-Frame-Options': 'DENY',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'same-origin',
      'Content-Security-Policy': CSP,
    });
    const challenge = check(req.headers.authorization);
    if (!challenge) return next();
    res.status(401).set('WWW-Authenticate', challenge).type('text/plain').send('unauthorized\n');
  };
  const router = express.Router();

  const data = async (): Promise<StatusData> => {
    const [health, dead, waiting, recent] = await Promise.all([
      store.health(),
      store.list({ states: ['dead'], limit: DEAD_SHOWN }),
      store.list({ states: ['pending', 'inflight'], limit: WAITING_SHOWN }),
      store.recent(RECENT_SHOWN),
    ]);
    const channels = channelViews(health, options.channels);
    return {
      generated_at: new Date(now()).toISOString(),
      version: options.version,
      channels,
      dead: dead.map(describe),
      dead_total: channels.reduce((n, c) => n + c.dead, 0),
      waiting: waiting.map(describe),
      waiting_total: channels.reduce((n, c) => n + c.pending + c.inflight, 0),
      recent: recent.map(logView),
    };
  };

  const failed = (res: Response, err: unknown) => {
    logger.error({ err: (err as Error).message }, 'status page: cannot read the outbox');
    res
      .status(503)
      .type('text/plain')
      .send(`the outbox cannot be read: ${(err as Error).message}\n`);
  };

  router.get('/', auth, async (req, res) => {
    try {
      const notice = noticeOf(req, poll);
      res.type('text/html').send(renderStatusPage(await data(), { csrf, ...(notice ? { notice } : {}) }));
    } catch (err) {
      failed(res, err);
    }
  });

  router.get('/api/v1/outbox', auth, async (_req, res) => {
    try {
      res.json(await data());
    } catch (err) {
      failed(res, err);
    }
  });

  const form = express.urlencoded({ extended: false, limit: '4kb' });
  router.post(
    '/outbox/:id/:action',
    auth,
    form,
    async (req: Request<{ id: string; action: string }>, res) => {
      const { action } = req.params;
      const id = Number(req.params.id);
      if ((action !== 'retry' && action !== 'discard') || !/^\d+$/.test(req.params.id)) {
        res.status(404).type('text/plain').send('not found\n');
        return;
      }
      const token = typeof req.body?.csrf === 'string' ? req.body.csrf : '';
      if (!safeEqual(token, csrf) || !sameOrigin(req)) {
        logger.warn(
          { row: id, action },
          'status page: action refused (no valid page token or another origin)',
        );
        res
          .status(403)
          .type('text/plain')
          .send('refused: the request did not come from the current status page; reload it and try again\n');
        return;
      }
      try {
        const entry = await store.get(id);
        const note = {
          at: now(),
          by: `ui:${basic.username}`,
          ...(entry ? { title: describe(entry).title } : {}),
        };
        const result: ActionResult =
          action === 'retry' ? await store.requeue(id, note) : await store.discard(id, note);
        if (result.outcome === 'requeued') options.wake();
        logger.info({ row: id, action, outcome: result.outcome, by: note.by }, 'status page action');
        const query = new URLSearchParams({ row: String(id), outcome: result.outcome });
        if (result.supersededAt !== undefined) query.set('at', String(result.supersededAt));
        res.redirect(303, `/?${query}`);
      } catch (err) {
        failed(res, err);
      }
    },
  );
  return router;
}

/** The message for the outcome named in the query after an action (known outcomes only). */
function noticeOf(req: Request, poll: string): { text: string; ok: boolean } | undefined {
  const outcome = String(req.query.outcome ?? '');
  const row = String(req.query.row ?? '');
  if (!(OUTCOMES as readonly string[]).includes(outcome) || !/^\d+$/.test(row)) return undefined;
  const at = Number(req.query.at);
  const result = { id: Number(row), outcome, ...(Number.isFinite(at) ? { supersededAt: at } : {}) };
  return { text: actionText(result, poll), ok: outcome === 'requeued' || outcome === 'discarded' };
}

/**
 * A browser says where a form was posted from (Origin; Sec-Fetch-Site in current browsers): it must be
 * this host. A client that sends neither (curl with the token) is let through on the token alone.
 */
function sameOrigin(req: Request): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}
