// The Request URL of the Slack app (slack_interactivity.path): Slack POSTs a click as
// `application/x-www-form-urlencoded` with `payload=<JSON>` and signs it (signature.ts). A request
// without a valid signature, older than five minutes or seen before answers 401 with no detail. A
// valid click is written to the outbox and answered 200 at once (Slack wants an answer within 3 s);
// the work happens in the delivery loop (index.ts).
import type http from 'node:http';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { parseActionId, parseControlValue } from '../channels/slack/controls.js';
import { isQueued } from '../outbox/idempotency.js';
import type { OutboxStore } from '../outbox/store.js';
import { type Click, INTERACTIONS_CHANNEL, interactionGroup } from './index.js';
import { SIGNATURE_TOLERANCE_S, verifySlackRequest } from './signature.js';

export interface EndpointOptions {
  signingSecret: string;
  store: OutboxStore;
  /** Whether a button's channel is a Slack channel with controls. */
  knows: (channel: string) => boolean;
  logger: Logger;
  maxBodyBytes: number;
  /** Called after a click was written, so that it is handled at once. */
  onAccepted: () => void;
  now: () => number;
}

export function interactionsEndpoint(options: EndpointOptions): RequestHandler {
  const { logger } = options;
  return (req, res) => {
    const answer = (status: number, text = '') => {
      res.writeHead(status, {
        'Content-Type': 'text/plain; charset=utf-8',
        'Content-Length': Buffer.byteLength(text),
      });
      res.end(text);
    };
    readRaw(req, options.maxBodyBytes)
      .then(async (body) => {
        if (body === undefined) return answer(413, 'payload too large\n');
        const verdict = verifySlackRequest(
          options.signingSecret,
          {
            timestamp: header(req, 'x-slack-request-timestamp'),
            signature: header(req, 'x-slack-signature'),
            body,
          },
          options.now(),
        );
        if (verdict !== 'ok' || options.signingSecret === '') {
          logger.warn({ verdict, path: req.path }, 'Slack request refused: signature check failed');
          return answer(401, 'unauthorized\n');
        }
        const click = parseClick(body.toString('utf8'), options.now());
        if (typeof click === 'string') {
          // Signed by Slack but nothing the receiver offers (another app's action, a new Slack payload
          // type): acknowledged so that Slack shows no error, and logged.
          logger.info({ reason: click }, 'Slack interaction ignored');
          return answer(200);
        }
        if (!options.knows(click.channel)) {
          logger.warn(
            { channel: click.channel },
            'Slack interaction for a channel without controls: ignored',
          );
          return answer(200);
        }
        const result = await options.store.enqueue({
          receivedAt: click.at,
          receiver: 'slack',
          groupId: interactionGroup(click.channel, click.groupId),
          contentKey: click.key,
          payload: JSON.stringify(click),
          destinations: [INTERACTIONS_CHANNEL],
          dedupeWindowMs: SIGNATURE_TOLERANCE_S * 1000,
        });
        if (!result.outcomes.some((o) => isQueued(o.outcome))) {
          logger.warn({ user: click.user.id, action: click.kind }, 'Slack request refused: replayed');
          return answer(401, 'unauthorized\n');
        }
        options.onAccepted();
        logger.info(
          {
            user: click.user.id,
            action: click.kind,
            duration: click.duration,
            group_id: click.groupId,
            channel: click.channel,
          },
          'Slack click accepted',
        );
        answer(200);
      })
      .catch((err: Error) => {
        logger.error({ err: err.message }, 'cannot store the Slack click: Slack shows the user an error');
        if (!res.headersSent) answer(503, 'try again\n');
      });
  };
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The body as received (the signature covers its exact bytes); undefined when over `limit`. */
function readRaw(req: http.IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > limit) {
      req.resume();
      resolve(undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > limit ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

interface BlockActions {
  type?: string;
  user?: { id?: string; username?: string; name?: string };
  container?: { channel_id?: string; message_ts?: string };
  channel?: { id?: string };
  message?: { ts?: string };
  actions?: { action_id?: string; value?: string; action_ts?: string }[];
}

/** A click of one of the receiver's buttons, or why the payload is not one. */
export function parseClick(form: string, at: number): Click | string {
  const raw = new URLSearchParams(form).get('payload');
  if (raw === null) return 'no payload field';
  let payload: BlockActions;
  try {
    payload = JSON.parse(raw) as BlockActions;
  } catch {
    return 'payload is not JSON';
  }
  if (payload.type !== 'block_actions') return `payload type ${String(payload.type)}`;
  const action = payload.actions?.[0];
  const parsed = action?.action_id ? parseActionId(action.action_id) : undefined;
  if (!action || !parsed) return `action ${String(action?.action_id)} is not the receiver's`;
  const target = action.value ? parseControlValue(action.value) : undefined;
  if (!target) return 'the button value names no group';
  const user = payload.user;
  if (!user?.id) return 'no user';
  const channel = payload.container?.channel_id ?? payload.channel?.id;
  const ts = payload.container?.message_ts ?? payload.message?.ts;
  if (!channel || !ts) return 'no message';
  const name = user.username ?? user.name;
  return {
    kind: parsed.kind,
    ...(parsed.duration !== undefined ? { duration: parsed.duration } : {}),
    user: { id: user.id, ...(name ? { name } : {}) },
    channel: target.channel,
    groupId: target.groupId,
    message: { channel, ts },
    key: `${action.action_ts ?? at}:${user.id}:${action.action_id}`,
    at,
  };
}
