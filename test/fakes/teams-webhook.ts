// A fake Microsoft Teams Workflows webhook ("Post to a channel when a webhook request is received"),
// as the Power Automate trigger answers: plain HTTP on 127.0.0.1; a POST to
// /workflows/<id>/triggers/manual/paths/invoke?…&sig=<signature> is answered 202 Accepted with an empty
// body (or 200, if asked) and the flow then posts the message's Adaptive Card to the channel. A wrong
// signature answers 401, an unknown workflow 404, a body that is not JSON 400, a body over 28 KB 413
// (Teams' limit) — all with Power Automate's `{"error":{"code","message"}}`. Faults on purpose: any
// status with Retry-After (429), or a slow answer. A body the flow cannot post (no Adaptive Card
// attachment, or a card Microsoft's adaptivecards library rejects) is accepted (202: the trigger does
// not look at it) and recorded as a failed run, as Teams shows it in the flow's run history.

import type http from 'node:http';
import { createRequire } from 'node:module';
import type * as AC from 'adaptivecards';
import { closeLoopback, listenLoopback } from '../helpers/loopback.js';

const require = createRequire(import.meta.url);
// The library's ES build imports without file extensions; its bundle loads in Node.
const adaptiveCards = require('adaptivecards/dist/adaptivecards.js') as typeof AC;

/** Teams' limit for a webhook message, in bytes. */
export const TEAMS_MAX_BYTES = 28 * 1024;
export const CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';

/**
 * What Microsoft's own library says about a card: its parse events (unknown elements or actions,
 * invalid values) and validateProperties events (required properties missing…). Empty: a valid card.
 */
export function validateCard(content: unknown): string[] {
  const card = new adaptiveCards.AdaptiveCard();
  const context = new adaptiveCards.SerializationContext();
  card.parse(content, context);
  const problems: string[] = [];
  for (let i = 0; i < context.eventCount; i++) problems.push(`parse: ${context.getEventAt(i).message}`);
  for (const event of card.validateProperties().validationEvents) problems.push(`validate: ${event.message}`);
  const version = (content as { version?: unknown }).version;
  if (version !== '1.5') problems.push(`version: ${JSON.stringify(version)}, expected "1.5"`);
  return problems;
}

/** Every text a card shows (TextRun, TextBlock, Fact and action titles), in order, one per line. */
export function cardText(content: unknown): string {
  const out: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    const n = node as Record<string, unknown>;
    if ((n.type === 'TextRun' || n.type === 'TextBlock') && typeof n.text === 'string') out.push(n.text);
    if (n.type === 'RichTextBlock') {
      out.push(((n.inlines as { text?: string }[]) ?? []).map((i) => i.text ?? '').join(''));
      return;
    }
    if (typeof n.title === 'string' && String(n.type).startsWith('Action.')) out.push(n.title);
    for (const [key, value] of Object.entries(n)) if (key !== 'inlines') walk(value);
  };
  walk(content);
  return out.join('\n');
}

export interface TeamsPost {
  at: number;
  status: number;
  bytes: number;
  headers: http.IncomingHttpHeaders;
  /** The parsed body, when it was JSON. */
  body?: unknown;
}

export type TeamsFault =
  | { status: number; retryAfter?: number | string; body?: string }
  | { delayMs: number };

export interface FakeTeamsOptions {
  /** What a post that is accepted gets: 202 (Workflows) or 200. */
  acceptStatus?: 202 | 200;
}

export class FakeTeams {
  readonly posts: TeamsPost[] = [];
  /** Cards the flow posted to the channel. */
  readonly cards: unknown[] = [];
  /** Accepted posts the flow could not show, with why. */
  readonly failedRuns: { post: number; reason: string }[] = [];
  url = '';
  private readonly faults: TeamsFault[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private server!: http.Server;
  private readonly signature = 'fAkEsIgNaTuRe0123456789';
  private readonly workflow = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';

  private constructor(private readonly options: FakeTeamsOptions) {}

  static async start(options: FakeTeamsOptions = {}): Promise<FakeTeams> {
    const fake = new FakeTeams(options);
    const { server, url } = await listenLoopback((req, res) => fake.handle(req, res));
    fake.server = server;
    fake.url = url;
    return fake;
  }

  /** The workflow's webhook URL; its `sig` is the secret. */
  get webhookUrl(): string {
    return `${this.url}/workflows/${this.workflow}/triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=${this.signature}`;
  }

  /** The next `count` posts get `fault`. */
  failNext(fault: TeamsFault, count = 1): void {
    for (let i = 0; i < count; i++) this.faults.push(fault);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => res.destroy());
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const post: TeamsPost = { at: Date.now(), status: 0, bytes: raw.length, headers: req.headers };
      this.posts.push(post);
      const answer = (
        status: number,
        code?: string,
        message?: string,
        headers: Record<string, string> = {},
      ) => {
        post.status = status;
        const body = code ? JSON.stringify({ error: { code, message } }) : '';
        res
          .writeHead(status, { ...(code ? { 'Content-Type': 'application/json' } : {}), ...headers })
          .end(body);
      };
      const url = new URL(req.url ?? '/', this.url);
      if (
        req.method !== 'POST' ||
        url.pathname !== `/workflows/${this.workflow}/triggers/manual/paths/invoke`
      )
        return answer(404, 'WorkflowNotFound', 'The workflow could not be found.');
      if (url.searchParams.get('sig') !== this.signature)
        return answer(401, 'DirectApiAuthorizationRequired', 'The request must be authenticated.');
      const fault = this.faults.shift();
      if (fault && 'status' in fault) {
        post.status = fault.status;
        res
          .writeHead(fault.status, {
            'Content-Type': 'application/json',
            ...(fault.retryAfter !== undefined ? { 'Retry-After': String(fault.retryAfter) } : {}),
          })
          .end(fault.body ?? JSON.stringify({ error: { code: 'Fault', message: `status ${fault.status}` } }));
        return;
      }
      if (raw.length > TEAMS_MAX_BYTES)
        return answer(
          413,
          'RequestEntityTooLarge',
          `The request is ${raw.length} bytes; the limit is ${TEAMS_MAX_BYTES}.`,
        );
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        return answer(400, 'InvalidRequestContent', 'The request content is not valid JSON.');
      }
      post.body = body;
      const accept = () => {
        post.status = this.options.acceptStatus ?? 202;
        this.run(this.posts.length - 1, body);
        res.writeHead(post.status).end();
      };
      if (fault && 'delayMs' in fault) {
        // The trigger has the request; the answer comes late (a timeout on the sender's side).
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          if (!res.destroyed) accept();
        }, fault.delayMs);
        this.timers.add(timer);
        return;
      }
      accept();
    });
  }

  /** The flow's run: post each Adaptive Card attachment, or record why it could not. */
  private run(index: number, body: unknown): void {
    const message = body as { type?: unknown; attachments?: { contentType?: unknown; content?: unknown }[] };
    const cards = Array.isArray(message?.attachments)
      ? message.attachments.filter((a) => a?.contentType === CARD_CONTENT_TYPE)
      : [];
    if (message?.type !== 'message' || cards.length === 0) {
      this.failedRuns.push({ post: index, reason: 'no Adaptive Card attachment in a "message"' });
      return;
    }
    for (const { content } of cards) {
      const problems = validateCard(content);
      if (problems.length > 0) this.failedRuns.push({ post: index, reason: problems.join('; ') });
      else this.cards.push(content);
    }
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await closeLoopback(this.server);
  }
}
