// Slack destination: Web API with a bot token (post, then edit in place and reply in the thread), or an
// incoming-webhook URL for simple setups (a new message each time: webhooks cannot edit or thread).
// The SDK is configured so that it never retries by itself (retries: 0, rate-limited calls rejected):
// a hidden retry of chat.postMessage after a timeout could post twice, and its 429 handling would
// pause every call. Retries belong to the outbox, which honours Retry-After.
import {
  LogLevel,
  type Logger as SlackLogger,
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
  WebClient,
} from '@slack/web-api';
import type { Logger } from 'pino';
import {
  type Channel,
  ChannelError,
  type ChannelRef,
  type DeliveryEvent,
  type RateLimit,
  type WireRequest,
} from '../channel.js';
import { defineChannel } from '../descriptor.js';
import { causeText, HttpClient, oneLine, retryAfterMs } from '../http.js';
import { buildSlackSettings, type SlackSettings, slackSchema } from './config.js';
import { type Block, renderSlackMessage, renderSlackReply, type SlackMessage } from './render.js';

export const slackChannel = defineChannel({
  type: 'slack',
  schema: slackSchema,
  build: buildSlackSettings,
  create: (settings, logger) => new SlackChannel(settings, logger),
  summary: (settings) => settings.mode,
});

/** Slack errors (`ok: false`) worth another try; every other one is permanent. */
const RETRYABLE_ERRORS = new Set([
  'ratelimited',
  'rate_limited',
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
  'team_added_to_org',
]);
/** chat.update errors after which the original is gone or frozen: post a new message instead. */
const MESSAGE_GONE = new Set(['message_not_found', 'cant_update_message', 'edit_window_closed']);

export interface SlackRef extends ChannelRef {
  channel: string;
  ts: string;
}

function isSlackRef(ref: ChannelRef | undefined): ref is SlackRef {
  return typeof ref?.channel === 'string' && typeof ref.ts === 'string';
}

export class SlackChannel implements Channel {
  readonly type = 'slack';
  readonly name: string;
  readonly rateLimit: RateLimit;
  readonly concurrency = 1;
  private readonly client: WebClient | undefined;
  /** Incoming-webhook mode: the shared HTTP client, posting to the secret URL. */
  private readonly hook: HttpClient | undefined;

  constructor(
    private readonly config: SlackSettings,
    private readonly logger: Logger,
  ) {
    this.name = config.name;
    this.rateLimit = config.rateLimit;
    if (config.token !== undefined) {
      this.client = new WebClient(config.token, {
        slackApiUrl: config.apiUrl.endsWith('/') ? config.apiUrl : `${config.apiUrl}/`,
        retryConfig: { retries: 0 },
        rejectRateLimitedCalls: true,
        timeout: config.timeoutMs,
        logger: sdkLogger(logger),
        allowAbsoluteUrls: false,
      });
    }
    if (config.webhookUrl !== undefined)
      this.hook = new HttpClient({
        peer: 'Slack',
        baseUrl: config.webhookUrl,
        webhook: true,
        timeoutMs: config.timeoutMs,
        // Slack answers an incoming webhook's errors as text: invalid_payload, no_service…
        describe: (answer) => (typeof answer === 'string' ? oneLine(answer).slice(0, 300) : undefined),
      });
  }

  private get webhookMode(): boolean {
    return this.config.mode === 'webhook';
  }

  render(event: DeliveryEvent, ref?: ChannelRef): WireRequest[] {
    const message = renderSlackMessage(event, this.config);
    if (this.webhookMode) {
      const body =
        event.kind === 'reminder' ? renderSlackReply(event, this.config) : withChangeLine(event, message);
      return [{ action: 'POST incoming webhook', body }];
    }
    const channel = this.config.channel as string;
    const post = (m: SlackMessage, extra: Record<string, unknown> = {}) => ({
      action: 'chat.postMessage',
      body: { channel, ...extra, text: m.text, blocks: m.blocks, unfurl_links: false, unfurl_media: false },
    });
    if (event.kind === 'new' || !isSlackRef(ref)) return [post(message)];
    const reply = renderSlackReply(event, this.config);
    const threadReply = {
      action: 'chat.postMessage',
      body: {
        channel: ref.channel,
        thread_ts: ref.ts,
        text: reply.text,
        blocks: reply.blocks,
        unfurl_links: false,
      },
    };
    if (event.kind === 'reminder') return [threadReply];
    return [
      {
        action: 'chat.update',
        body: { channel: ref.channel, ts: ref.ts, text: message.text, blocks: message.blocks },
      },
      threadReply,
    ];
  }

  async send(event: DeliveryEvent, ref: ChannelRef | undefined): Promise<ChannelRef | undefined> {
    const requests = this.render(event, ref);
    if (this.webhookMode) {
      await this.postWebhook((requests[0] as WireRequest).body);
      return undefined;
    }
    const client = this.client;
    if (!client) throw new ChannelError('no Slack token was loaded', false);
    let current = isSlackRef(ref) && event.kind !== 'new' ? ref : undefined;
    for (const request of requests) {
      const body = request.body as Record<string, unknown>;
      if (request.action === 'chat.update') {
        try {
          await call(() => client.chat.update(body as unknown as Parameters<WebClient['chat']['update']>[0]));
        } catch (err) {
          const code =
            err instanceof ChannelError
              ? (err.cause as { data?: { error?: string } })?.data?.error
              : undefined;
          if (code && MESSAGE_GONE.has(code)) {
            this.logger.warn(
              { channel: this.name, group: event.group.identity, slack_error: code },
              'Slack message cannot be edited: posting a new one',
            );
            const [fresh] = this.render({ ...event, kind: 'new' });
            const result = await call(() =>
              client.chat.postMessage(
                (fresh as WireRequest).body as Parameters<WebClient['chat']['postMessage']>[0],
              ),
            );
            return { channel: result.channel, ts: result.ts };
          }
          throw err;
        }
        continue;
      }
      const result = await call(() =>
        client.chat.postMessage(body as unknown as Parameters<WebClient['chat']['postMessage']>[0]),
      );
      if (!current) current = { channel: String(result.channel), ts: String(result.ts) };
    }
    return current;
  }

  private async postWebhook(body: unknown): Promise<void> {
    if (!this.hook) throw new ChannelError('no incoming-webhook URL was loaded', false);
    await this.hook.request('POST', '<incoming webhook>', body);
  }

  async close(): Promise<void> {}
}

function withChangeLine(event: DeliveryEvent, message: SlackMessage): SlackMessage {
  if (event.kind === 'new') return message;
  const reply = renderSlackReply(event, { maxAlerts: 5, mentions: {} });
  const blocks: Block[] = [...reply.blocks, { type: 'divider' }, ...message.blocks];
  return { text: message.text, blocks: blocks.slice(0, 50) };
}

/** Runs one Web API call; turns the SDK's errors into retryable or permanent ChannelErrors. */
async function call<T extends { ok?: boolean }>(
  fn: () => Promise<T>,
): Promise<T & { channel?: string; ts?: string }> {
  try {
    return (await fn()) as T & { channel?: string; ts?: string };
  } catch (err) {
    throw classifySlackError(err);
  }
}

export function classifySlackError(err: unknown): ChannelError {
  if (err instanceof ChannelError) return err;
  if (err instanceof WebAPIRateLimitedError)
    return new ChannelError(
      `Slack rate limited the call (Retry-After ${err.retryAfter}s)`,
      true,
      err.retryAfter * 1000,
      { cause: err },
    );
  if (err instanceof WebAPIPlatformError) {
    const code = err.data.error;
    return new ChannelError(
      `Slack answered ${code}${detail(err.data)}`,
      RETRYABLE_ERRORS.has(code),
      undefined,
      { cause: err },
    );
  }
  if (err instanceof WebAPIHTTPError) {
    const retryable = err.statusCode >= 500 || err.statusCode === 408;
    return new ChannelError(
      `Slack answered HTTP ${err.statusCode} ${err.statusMessage}`,
      retryable,
      retryAfterMs(err.headers['retry-after']),
      {
        cause: err,
      },
    );
  }
  if (err instanceof WebAPIRequestError)
    return new ChannelError(`Slack request failed: ${causeText(err.original)}`, true, undefined, {
      cause: err,
    });
  return new ChannelError(`Slack call failed: ${(err as Error)?.message ?? String(err)}`, true, undefined, {
    cause: err,
  });
}

function detail(data: { response_metadata?: { messages?: string[] } }): string {
  const messages = data.response_metadata?.messages;
  return messages && messages.length > 0 ? ` (${messages.join('; ').slice(0, 500)})` : '';
}

function sdkLogger(logger: Logger): SlackLogger {
  const child = logger.child({ component: 'slack-sdk' });
  const log =
    (level: 'debug' | 'info') =>
    (...msgs: unknown[]) =>
      child[level](msgs.map(String).join(' '));
  return {
    debug: log('debug'),
    info: log('debug'),
    warn: log('debug'),
    error: log('debug'),
    setLevel: () => {},
    getLevel: () => LogLevel.DEBUG,
    setName: () => {},
  };
}
