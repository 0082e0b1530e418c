// A fake Slack for tests and benchmarks: plain HTTP on 127.0.0.1 speaking the Web API's wire format
// (POST /api/<method>, form-encoded or JSON bodies, `Authorization: Bearer`, answers `{ok, …}` with
// HTTP 200 and errors as `ok: false`), plus an incoming-webhook endpoint (answers `ok` as text).
//
// It checks what real Slack checks and what matters to a sender: the token, the method, channel IDs
// for chat.update, thread_ts of an existing message, and Block Kit limits (≤ 50 blocks, header
// ≤ 150, section text ≤ 3,000, ≤ 10 fields of ≤ 2,000, buttons ≤ 75 with URLs ≤ 3,000, total text of
// about 13,200 → msg_blocks_too_long). It enforces chat.postMessage's rate limit per channel (about
// one message a second, short bursts) with 429 + Retry-After, and can be told to fail on purpose:
// 429 with Retry-After, HTTP 5xx, a Slack error, or a delayed answer (a message in flight).
//
// Reading back: conversations.history (top-level messages, newest first) and conversations.replies
// (a thread, parent first) with `oldest`/`latest`/`inclusive`, cursor pagination (`limit`,
// response_metadata.next_cursor) and message `metadata` only with include_all_metadata, as Slack does;
// conversations.list for a channel's ID by name. Each checks its scope (channels:history,
// channels:read…) against the token's scopes, answering missing_scope with `needed` like Slack.
import { createHash, createHmac } from 'node:crypto';
import type http from 'node:http';
import { closeLoopback, listenLoopback } from '../helpers/loopback.js';

export interface SlackMessage {
  channel: string;
  ts: string;
  thread_ts?: string;
  text: string;
  blocks: Block[];
  /** Message metadata as posted (event_type, event_payload). */
  metadata?: { event_type: string; event_payload: Json };
  /** Edits by chat.update, oldest first; text/blocks above are the current content. */
  updates: { at: number; text: string; blocks: Block[] }[];
  postedAt: number;
}

export interface SlackCall {
  method: string;
  at: number;
  /** HTTP status answered. */
  status: number;
  /** When the answer was sent (later than `at` for a delayed answer). */
  answeredAt?: number;
  ok: boolean;
  error?: string;
  channel?: string;
}

export interface WebhookPost {
  at: number;
  text: string;
  blocks: Block[];
}

export type Fault =
  | { status: 429; retryAfter: number }
  | { status: 500 | 502 | 503 }
  | { error: string }
  /** Handle the call (the message is posted) but answer only after `delayMs`. */
  | { delayMs: number };

export interface FakeSlackOptions {
  token?: string;
  /** chat.postMessage per channel; false turns the limit off. Default 1/s with a burst of 4. */
  rateLimit?: { perSecond: number; burst: number } | false;
  /** The token's scopes; default every scope the receiver may use. */
  scopes?: string[];
  /** Channels that exist from the start (a post to another name creates it); default platform-alerts. */
  channels?: string[];
}

export const ALL_SCOPES = [
  'chat:write',
  'channels:history',
  'groups:history',
  'channels:read',
  'groups:read',
];
/** The scope each read method needs (for public channels, as the fake's channels are). */
const SCOPE_OF: Record<string, string> = {
  'conversations.history': 'channels:history',
  'conversations.replies': 'channels:history',
  'conversations.list': 'channels:read',
};
const METHODS = [
  'chat.postMessage',
  'chat.postEphemeral',
  'chat.update',
  'auth.test',
  'conversations.history',
  'conversations.replies',
  'conversations.list',
];

// biome-ignore lint/suspicious/noExplicitAny: Block Kit JSON as received
type Block = Record<string, any>;
type Json = Record<string, unknown>;

export const BLOCK_LIMITS = {
  blocks: 50,
  headerText: 150,
  sectionText: 3000,
  fields: 10,
  fieldText: 2000,
  contextElements: 10,
  actionElements: 25,
  buttonText: 75,
  actionId: 255,
  blockId: 255,
  buttonValue: 2000,
  url: 3000,
  totalText: 13_200,
  messageText: 40_000,
} as const;

/** Block Kit checks; returns Slack's error and the pointer of the first bad element, or undefined. */
export function checkBlocks(blocks: unknown): { error: string; pointer: string } | undefined {
  if (!Array.isArray(blocks)) return { error: 'invalid_blocks_format', pointer: '/blocks' };
  if (blocks.length > BLOCK_LIMITS.blocks)
    return { error: 'invalid_blocks', pointer: `/blocks (more than ${BLOCK_LIMITS.blocks})` };
  let total = 0;
  const textObject = (t: unknown, pointer: string, max: number, types = ['plain_text', 'mrkdwn']) => {
    const o = t as Json | undefined;
    if (!o || typeof o.text !== 'string' || !types.includes(String(o.type)) || o.text.length === 0)
      return pointer;
    if (o.text.length > max) return `${pointer}/text (${o.text.length} > ${max})`;
    total += o.text.length;
    return undefined;
  };
  const actionIds = new Set<string>();
  const blockIds = new Set<string>();
  for (const [i, block] of (blocks as Block[]).entries()) {
    const at = `/blocks/${i}`;
    let bad: string | undefined;
    switch (block?.type) {
      case 'header':
        bad = textObject(block.text, `${at}/text`, BLOCK_LIMITS.headerText, ['plain_text']);
        break;
      case 'section':
        if (block.text === undefined && block.fields === undefined) bad = at;
        if (!bad && block.text !== undefined)
          bad = textObject(block.text, `${at}/text`, BLOCK_LIMITS.sectionText);
        if (!bad && block.fields !== undefined) {
          if (!Array.isArray(block.fields) || block.fields.length > BLOCK_LIMITS.fields) bad = `${at}/fields`;
          else
            for (const [j, f] of block.fields.entries()) {
              bad = textObject(f, `${at}/fields/${j}`, BLOCK_LIMITS.fieldText);
              if (bad) break;
            }
        }
        break;
      case 'divider':
        break;
      case 'context':
        if (
          !Array.isArray(block.elements) ||
          block.elements.length === 0 ||
          block.elements.length > BLOCK_LIMITS.contextElements
        )
          bad = `${at}/elements`;
        else
          for (const [j, e] of block.elements.entries()) {
            bad = textObject(e, `${at}/elements/${j}`, BLOCK_LIMITS.sectionText);
            if (bad) break;
          }
        break;
      case 'actions':
        if (
          !Array.isArray(block.elements) ||
          block.elements.length === 0 ||
          block.elements.length > BLOCK_LIMITS.actionElements
        )
          bad = `${at}/elements`;
        else
          for (const [j, e] of block.elements.entries()) {
            const p = `${at}/elements/${j}`;
            if (e?.type !== 'button') bad = p;
            else bad = textObject(e.text, `${p}/text`, BLOCK_LIMITS.buttonText, ['plain_text']);
            if (
              !bad &&
              e.url !== undefined &&
              (typeof e.url !== 'string' || e.url.length > BLOCK_LIMITS.url || !/^https?:\/\//.test(e.url))
            )
              bad = `${p}/url`;
            if (!bad && e.action_id !== undefined) {
              if (typeof e.action_id !== 'string' || e.action_id.length > BLOCK_LIMITS.actionId)
                bad = `${p}/action_id`;
              else if (actionIds.has(e.action_id)) bad = `${p}/action_id (duplicate)`;
              actionIds.add(e.action_id);
            }
            if (
              !bad &&
              e.value !== undefined &&
              (typeof e.value !== 'string' || e.value.length > BLOCK_LIMITS.buttonValue)
            )
              bad = `${p}/value`;
            if (!bad && e.style !== undefined && e.style !== 'primary' && e.style !== 'danger')
              bad = `${p}/style`;
            if (bad) break;
          }
        break;
      default:
        bad = `${at}/type`;
    }
    if (!bad && block.block_id !== undefined) {
      if (typeof block.block_id !== 'string' || block.block_id.length > BLOCK_LIMITS.blockId)
        bad = `${at}/block_id`;
      else if (blockIds.has(block.block_id)) bad = `${at}/block_id (duplicate)`;
      blockIds.add(block.block_id);
    }
    if (bad) return { error: 'invalid_blocks', pointer: bad };
  }
  if (total > BLOCK_LIMITS.totalText)
    return { error: 'msg_blocks_too_long', pointer: `/blocks (${total} characters)` };
  return undefined;
}

/** A message only one user sees (chat.postEphemeral): not in any history, as in Slack. */
export interface EphemeralMessage {
  channel: string;
  user: string;
  thread_ts?: string;
  text: string;
  at: number;
}

export class FakeSlack {
  readonly token: string;
  readonly calls: SlackCall[] = [];
  readonly messages: SlackMessage[] = [];
  readonly ephemeral: EphemeralMessage[] = [];
  readonly webhookPosts: WebhookPost[] = [];
  /** Answers of chat.postMessage that were 429 because the fake's own rate limit was exceeded. */
  rateLimitedByLimit = 0;
  private readonly faults: { method?: string; fault: Fault }[] = [];
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly channelIds = new Map<string, string>();
  private counter = 0;
  private server!: http.Server;
  private readonly pendingTimers = new Set<NodeJS.Timeout>();
  url = '';

  private constructor(private readonly options: FakeSlackOptions) {
    this.token = options.token ?? 'xoxb-test-token';
    for (const name of options.channels ?? ['platform-alerts']) this.channelId(name);
  }

  static async start(options: FakeSlackOptions = {}): Promise<FakeSlack> {
    const fake = new FakeSlack(options);
    const { server, url } = await listenLoopback((req, res) => fake.handle(req, res));
    fake.server = server;
    fake.url = url;
    return fake;
  }

  /** Base URL for the Web API (the SDK's slackApiUrl). */
  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  /** An incoming-webhook URL; its path is the secret. */
  get webhookUrl(): string {
    return `${this.url}/services/T0001/B0001/fakewebhooksecret`;
  }

  /** The channel ID Slack would answer for a name such as "#platform-alerts". */
  channelId(name: string): string {
    const key = name.replace(/^#/, '');
    let id = this.channelIds.get(key);
    if (!id) {
      id = `C${createHash('sha1').update(key).digest('hex').slice(0, 10).toUpperCase()}`;
      this.channelIds.set(key, id);
    }
    return id;
  }

  /** Messages that start a thread (or stand alone), optionally of one channel name or ID. */
  roots(channel?: string): SlackMessage[] {
    const id =
      channel === undefined ? undefined : channel.startsWith('C') ? channel : this.channelId(channel);
    return this.messages.filter((m) => m.thread_ts === undefined && (id === undefined || m.channel === id));
  }

  replies(root: SlackMessage): SlackMessage[] {
    return this.messages.filter((m) => m.thread_ts === root.ts && m.channel === root.channel);
  }

  /** The next `count` calls (of `method`, if given) fail with `fault`. */
  failNext(fault: Fault, count = 1, method?: string): void {
    for (let i = 0; i < count; i++) this.faults.push(method === undefined ? { fault } : { method, fault });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  /**
   * What Slack POSTs to an app's Request URL when `user` presses the button `actionId` of `message`
   * (a block_actions payload, form-encoded as `payload=<JSON>`, signed with the app's signing secret
   * at `at`). Throws when the message has no such button, as Slack would offer none to press.
   */
  interaction(
    message: SlackMessage,
    actionId: string,
    user: { id: string; username: string },
    signingSecret: string,
    at = Date.now(),
  ): { body: string; headers: Record<string, string> } {
    const block = message.blocks.find(
      (b) => b.type === 'actions' && (b.elements as Block[]).some((e) => e.action_id === actionId),
    );
    const button = (block?.elements as Block[] | undefined)?.find((e) => e.action_id === actionId);
    if (!block || !button) throw new Error(`the message has no button ${actionId}`);
    this.counter++;
    const actionTs = `${(at / 1000).toFixed(6)}`;
    const payload = {
      type: 'block_actions',
      user: { id: user.id, username: user.username, name: user.username, team_id: 'T0FAKE' },
      api_app_id: 'A0FAKE',
      token: 'deprecated-verification-token',
      container: {
        type: 'message',
        message_ts: message.ts,
        channel_id: message.channel,
        is_ephemeral: false,
      },
      trigger_id: `${this.counter}.1.fake`,
      team: { id: 'T0FAKE', domain: 'fake' },
      enterprise: null,
      is_enterprise_install: false,
      channel: { id: message.channel, name: this.nameOf(message.channel) },
      message: {
        type: 'message',
        ts: message.ts,
        text: message.text,
        blocks: message.blocks,
        bot_id: 'B0FAKE',
      },
      state: { values: {} },
      response_url: `${this.url}/actions/T0FAKE/${this.counter}/fake`,
      actions: [
        {
          action_id: actionId,
          block_id: block.block_id,
          text: button.text,
          value: button.value,
          ...(button.style ? { style: button.style } : {}),
          type: 'button',
          action_ts: actionTs,
        },
      ],
    };
    const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    const timestamp = String(Math.floor(at / 1000));
    const signature = `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
    return {
      body,
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        'X-Slack-Request-Timestamp': timestamp,
        'X-Slack-Signature': signature,
        'User-Agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
      },
    };
  }

  private nameOf(id: string): string {
    for (const [name, known] of this.channelIds) if (known === id) return name;
    return id;
  }

  callsOf(method: string): SlackCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  async close(): Promise<void> {
    for (const t of this.pendingTimers) clearTimeout(t);
    await closeLoopback(this.server);
  }

  private takeFault(method: string): Fault | undefined {
    const i = this.faults.findIndex((f) => f.method === undefined || f.method === method);
    if (i < 0) return undefined;
    return (this.faults.splice(i, 1)[0] as { fault: Fault }).fault;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const path = (req.url ?? '/').split('?')[0] as string;
    const at = Date.now();

    if (path.startsWith('/services/')) {
      this.handleWebhook(req, res, path, raw, at);
      return;
    }
    const match = /^\/api\/([A-Za-z.]+)$/.exec(path);
    const method = match?.[1] ?? path;
    const call: SlackCall = { method, at, status: 200, ok: false };
    this.calls.push(call);
    const answer = (status: number, body: Json, headers: Record<string, string> = {}) => {
      call.status = status;
      call.answeredAt = Date.now();
      call.ok = body.ok === true;
      if (typeof body.error === 'string') call.error = body.error;
      res
        .writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers })
        .end(JSON.stringify(body));
    };
    if (req.method !== 'POST') return answer(405, { ok: false, error: 'method_not_allowed' });
    if (!match || !METHODS.includes(method)) return answer(404, { ok: false, error: 'unknown_method' });

    const auth = req.headers.authorization;
    if (!auth) return answer(200, { ok: false, error: 'not_authed' });
    if (auth !== `Bearer ${this.token}`) return answer(200, { ok: false, error: 'invalid_auth' });

    let args: Json;
    try {
      args = parseBody(req.headers['content-type'] ?? '', raw);
    } catch {
      return answer(200, { ok: false, error: 'invalid_arguments' });
    }
    if (typeof args.channel === 'string') call.channel = args.channel;

    const fault = this.takeFault(method);
    if (fault && 'status' in fault) {
      if (fault.status === 429)
        return answer(429, { ok: false, error: 'ratelimited' }, { 'Retry-After': String(fault.retryAfter) });
      return answer(fault.status, { ok: false, error: 'internal_error' });
    }
    if (fault && 'error' in fault) return answer(200, { ok: false, error: fault.error });

    if (method === 'auth.test') return answer(200, { ok: true, team: 'fake', user: 'license-receiver' });
    const scope = SCOPE_OF[method];
    if (scope && !(this.options.scopes ?? ALL_SCOPES).includes(scope))
      return answer(200, {
        ok: false,
        error: 'missing_scope',
        needed: scope,
        provided: this.options.scopes?.join(','),
      });

    const result =
      method === 'chat.postMessage'
        ? this.postMessage(args, at)
        : method === 'chat.postEphemeral'
          ? this.postEphemeral(args, at)
          : method === 'chat.update'
            ? this.update(args, at)
            : this.read(method, args);
    if ('retryAfter' in result) {
      this.rateLimitedByLimit++;
      return answer(429, { ok: false, error: 'ratelimited' }, { 'Retry-After': String(result.retryAfter) });
    }
    if (fault && 'delayMs' in fault) {
      const timer = setTimeout(() => {
        this.pendingTimers.delete(timer);
        answer(200, result);
      }, fault.delayMs);
      this.pendingTimers.add(timer);
      return;
    }
    answer(200, result);
  }

  private resolveChannel(channel: unknown, allowName: boolean): string | undefined {
    if (typeof channel !== 'string' || channel === '') return undefined;
    if (/^C[0-9A-Z]+$/.test(channel))
      return [...this.channelIds.values()].includes(channel) ? channel : undefined;
    return allowName ? this.channelId(channel) : undefined;
  }

  private checkMessage(args: Json): Json | undefined {
    const text = typeof args.text === 'string' ? args.text : '';
    if (args.blocks === undefined && text === '') return { ok: false, error: 'no_text' };
    if (text.length > BLOCK_LIMITS.messageText) return { ok: false, error: 'msg_too_long' };
    if (args.blocks !== undefined) {
      const problem = checkBlocks(args.blocks);
      if (problem)
        return {
          ok: false,
          error: problem.error,
          errors: [`failed to match all allowed schemas [json-pointer:${problem.pointer}]`],
          response_metadata: { messages: [`[ERROR] ${problem.error} [json-pointer:${problem.pointer}]`] },
        };
    }
    return undefined;
  }

  private postMessage(args: Json, at: number): Json | { retryAfter: number } {
    const channel = this.resolveChannel(args.channel, true);
    if (!channel) return { ok: false, error: 'channel_not_found' };
    const bad = this.checkMessage(args);
    if (bad) return bad;
    const threadTs = typeof args.thread_ts === 'string' ? args.thread_ts : undefined;
    if (
      threadTs !== undefined &&
      !this.messages.some((m) => m.channel === channel && m.ts === threadTs && !m.thread_ts)
    )
      return { ok: false, error: 'thread_not_found' };
    if (this.options.rateLimit !== false) {
      const limit = this.options.rateLimit ?? { perSecond: 1, burst: 4 };
      const bucket = this.buckets.get(channel) ?? { tokens: limit.burst, at };
      bucket.tokens = Math.min(limit.burst, bucket.tokens + ((at - bucket.at) / 1000) * limit.perSecond);
      bucket.at = at;
      this.buckets.set(channel, bucket);
      if (bucket.tokens < 1)
        return { retryAfter: Math.max(1, Math.ceil((1 - bucket.tokens) / limit.perSecond)) };
      bucket.tokens -= 1;
    }
    this.counter++;
    const ts = `${Math.floor(at / 1000)}.${String(this.counter).padStart(6, '0')}`;
    const message: SlackMessage = {
      channel,
      ts,
      text: typeof args.text === 'string' ? args.text : '',
      blocks: (args.blocks as Block[] | undefined) ?? [],
      updates: [],
      postedAt: at,
    };
    if (threadTs !== undefined) message.thread_ts = threadTs;
    const metadata = args.metadata as SlackMessage['metadata'] | undefined;
    if (metadata !== undefined) {
      if (typeof metadata?.event_type !== 'string' || typeof metadata.event_payload !== 'object')
        return { ok: false, error: 'invalid_metadata_format' };
      message.metadata = metadata;
    }
    this.messages.push(message);
    return { ok: true, channel, ts, message: { type: 'message', text: message.text, ts } };
  }

  private postEphemeral(args: Json, at: number): Json {
    const channel = this.resolveChannel(args.channel, true);
    if (!channel) return { ok: false, error: 'channel_not_found' };
    if (typeof args.user !== 'string' || !/^[UW][A-Z0-9]+$/.test(args.user))
      return { ok: false, error: 'user_not_in_channel' };
    const bad = this.checkMessage(args);
    if (bad) return bad;
    const message: EphemeralMessage = {
      channel,
      user: args.user,
      text: typeof args.text === 'string' ? args.text : '',
      at,
    };
    if (typeof args.thread_ts === 'string') message.thread_ts = args.thread_ts;
    this.ephemeral.push(message);
    return { ok: true, message_ts: `${Math.floor(at / 1000)}.${String(++this.counter).padStart(6, '0')}` };
  }

  private update(args: Json, at: number): Json {
    // chat.update needs the channel ID, as Slack answered it; a name is channel_not_found.
    const channel = this.resolveChannel(args.channel, false);
    if (!channel) return { ok: false, error: 'channel_not_found' };
    const message = this.messages.find((m) => m.channel === channel && m.ts === args.ts);
    if (!message) return { ok: false, error: 'message_not_found' };
    const bad = this.checkMessage(args);
    if (bad) return bad;
    message.text = typeof args.text === 'string' ? args.text : message.text;
    message.blocks = (args.blocks as Block[] | undefined) ?? message.blocks;
    message.updates.push({ at, text: message.text, blocks: message.blocks });
    return { ok: true, channel, ts: message.ts, text: message.text };
  }

  /** conversations.history, conversations.replies and conversations.list. */
  private read(method: string, args: Json): Json {
    const limit = Math.min(
      999,
      Math.max(1, Number(args.limit ?? (method === 'conversations.list' ? 100 : 100))),
    );
    const offset = decodeCursor(args.cursor);
    if (offset === undefined) return { ok: false, error: 'invalid_cursor' };
    if (method === 'conversations.list') {
      const all = [...this.channelIds.entries()].map(([name, id]) => ({ id, name, is_channel: true }));
      return page('channels', all, offset, limit);
    }
    const channel = this.resolveChannel(args.channel, false);
    if (!channel) return { ok: false, error: 'channel_not_found' };
    const inclusive = args.inclusive === true || args.inclusive === 'true' || args.inclusive === '1';
    const oldest = typeof args.oldest === 'string' ? Number(args.oldest) : 0;
    const latest = typeof args.latest === 'string' ? Number(args.latest) : Number.POSITIVE_INFINITY;
    const inRange = (m: SlackMessage) => {
      const ts = Number(m.ts);
      return inclusive ? ts >= oldest && ts <= latest : ts > oldest && ts < latest;
    };
    const withMetadata = args.include_all_metadata === true || args.include_all_metadata === 'true';
    const shown = (m: SlackMessage) => ({
      type: 'message',
      ts: m.ts,
      text: m.text,
      blocks: m.blocks,
      bot_id: 'B0FAKE',
      ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}),
      ...(withMetadata && m.metadata ? { metadata: m.metadata } : {}),
    });
    let messages: SlackMessage[];
    if (method === 'conversations.history') {
      // Top-level messages, newest first.
      messages = this.messages.filter((m) => m.channel === channel && !m.thread_ts && inRange(m)).reverse();
    } else {
      const root = this.messages.find((m) => m.channel === channel && m.ts === args.ts);
      if (!root) return { ok: false, error: 'thread_not_found' };
      // The parent first, then its replies oldest first (the parent is shown whatever the range).
      const thread = root.thread_ts ? (this.messages.find((m) => m.ts === root.thread_ts) ?? root) : root;
      messages = [thread, ...this.replies(thread).filter(inRange)];
    }
    return page('messages', messages.map(shown), offset, limit);
  }

  private handleWebhook(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    path: string,
    raw: string,
    at: number,
  ): void {
    const call: SlackCall = { method: 'webhook', at, status: 200, ok: false };
    this.calls.push(call);
    const answer = (status: number, text: string, headers: Record<string, string> = {}) => {
      call.status = status;
      call.ok = status === 200;
      if (status !== 200) call.error = text;
      res.writeHead(status, { 'Content-Type': 'text/plain', ...headers }).end(text);
    };
    let body: Json | undefined;
    try {
      body = JSON.parse(raw) as Json;
    } catch {
      body = undefined;
    }
    const reachable =
      req.method === 'POST' && path === new URL(this.webhookUrl).pathname && body !== undefined;
    const fault = reachable ? this.takeFault('webhook') : undefined;
    const bad = reachable && body ? this.checkMessage(body) : undefined;
    if (req.method !== 'POST') answer(405, 'invalid_method');
    else if (path !== new URL(this.webhookUrl).pathname) answer(404, 'no_service');
    else if (body === undefined) answer(400, 'invalid_payload');
    else if (fault && 'status' in fault && fault.status === 429)
      answer(429, 'rate_limited', { 'Retry-After': String(fault.retryAfter) });
    else if (fault && 'status' in fault) answer(fault.status, 'service_unavailable');
    else if (fault && 'error' in fault) answer(400, fault.error);
    else if (bad) answer(400, String(bad.error));
    else {
      this.webhookPosts.push({ at, text: String(body.text ?? ''), blocks: (body.blocks as Block[]) ?? [] });
      answer(200, 'ok');
    }
  }
}

function decodeCursor(cursor: unknown): number | undefined {
  if (cursor === undefined || cursor === '') return 0;
  const match = /^offset:(\d+)$/.exec(Buffer.from(String(cursor), 'base64').toString('utf8'));
  return match ? Number(match[1]) : undefined;
}

/** One page of a list, with Slack's cursor (has_more for message lists). */
function page(key: string, items: unknown[], offset: number, limit: number): Json {
  const next =
    offset + limit < items.length ? Buffer.from(`offset:${offset + limit}`).toString('base64') : '';
  return {
    ok: true,
    [key]: items.slice(offset, offset + limit),
    ...(key === 'messages' ? { has_more: next !== '' } : {}),
    response_metadata: { next_cursor: next },
  };
}

function parseBody(contentType: string, raw: string): Json {
  if (contentType.includes('application/json')) return JSON.parse(raw) as Json;
  const args: Json = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    // The SDK sends objects (blocks, metadata) as JSON strings inside the form.
    const structured = key === 'blocks' || key === 'attachments' || key === 'metadata';
    args[key] = structured && (value.startsWith('[') || value.startsWith('{')) ? JSON.parse(value) : value;
  }
  return args;
}

/** All the text a reader sees in a message: its blocks' text (or the fallback text). */
export function visibleText(message: { text: string; blocks: Block[] }): string {
  const out: string[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const o = node as Json;
      if (typeof o.text === 'string') out.push(o.text);
      for (const [k, v] of Object.entries(o)) if (k !== 'text' && typeof v === 'object') walk(v);
      if (o.text && typeof o.text === 'object') walk(o.text);
    }
  };
  walk(message.blocks);
  return out.length > 0 ? out.join('\n') : message.text;
}
