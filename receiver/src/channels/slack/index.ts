// Slack destination: Web API with a bot token (post, then edit in place and reply in the thread), or an
// incoming-webhook URL for simple setups (a new message each time: webhooks cannot edit or thread).
// The SDK is configured so that it never retries by itself (retries: 0, rate-limited calls rejected):
// a hidden retry of chat.postMessage after a timeout could post twice, and its 429 handling would
// pause every call. Retries belong to the outbox, which honours Retry-After.
//
// Unknown outcomes are looked up, not guessed: every post carries message metadata naming its
// delivery (the outbox row) and part (message or reply). A later attempt of the same delivery — after
// a timeout, Slack may have posted it — first reads the channel's history (or the thread) since the
// row was queued, with include_all_metadata, and posts only what is not there. When the look-up
// itself fails, the attempt fails (retryable): the look-up is retried, never a blind post.
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
  type DeliveryAttempt,
  type DeliveryEvent,
  type RateLimit,
  type WireRequest,
} from '../channel.js';
import { defineChannel } from '../descriptor.js';
import { causeText, HttpClient, oneLine, retryAfterMs } from '../http.js';
import { buildSlackSettings, type SlackSettings, slackSchema } from './config.js';
import { type ActionsState, controlBlocks, placeControls, stateFor } from './controls.js';
import { renderSlackMessage, renderSlackReply, type SlackMessage } from './render.js';

export const slackChannel = defineChannel({
  type: 'slack',
  schema: slackSchema,
  build: buildSlackSettings,
  create: (settings, logger) => new SlackChannel(settings, logger),
  summary: (settings) =>
    settings.mode === 'api' ? `api, token scopes: ${slackScopes(settings.channel)}` : 'webhook',
});

/**
 * The bot token's scopes: posting, reading back a post whose answer was lost (history of a public or
 * private channel), and finding a channel given by name (its ID is what history takes).
 */
export function slackScopes(channel: string | undefined): string {
  const byName = !CHANNEL_ID.test((channel ?? '').replace(/^#/, ''));
  return `chat:write, channels:history (groups:history for a private channel)${
    byName ? ', channels:read (groups:read) to find the channel by name — or give its ID' : ''
  }`;
}

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

/**
 * With controls (slack_interactivity), the record also keeps what a click needs of the group: its
 * title and the labels a snooze's silence matches (the group labels; the common labels when Alertmanager
 * groups by nothing).
 */
export interface SlackGroupRef extends SlackRef {
  title?: string;
  silence?: Record<string, string>;
}

/**
 * What the interactivity gives a Slack channel with controls (receiver/src/interactions/): one lock per
 * channel and group, so that a delivery and a click of one group never edit its message at once, and
 * the group's state (who acknowledged, snoozed) to show.
 */
export interface InteractionHooks {
  exclusive<T>(channel: string, groupId: string, fn: () => Promise<T>): Promise<T>;
  state(channel: string, groupId: string): Promise<ActionsState | undefined>;
}

/** The metadata event type of the receiver's posts. */
export const METADATA_EVENT = 'license_monitor_notification';
/** What a delivery posts: the message itself, or a reply in its thread. */
type Part = 'message' | 'reply';
/** Slack's clock and ours may differ: look a little before the row was queued. */
const LOOKUP_SKEW_S = 300;
/** Pages of history read at most in one look-up (200 messages each). */
const LOOKUP_PAGES = 50;

const CHANNEL_ID = /^[CGD][A-Z0-9]{6,}$/;

export function isSlackRef(ref: ChannelRef | undefined): ref is SlackRef {
  return typeof ref?.channel === 'string' && typeof ref.ts === 'string';
}

export class SlackChannel implements Channel {
  readonly type = 'slack';
  readonly name: string;
  readonly rateLimit: RateLimit;
  readonly concurrency: number;
  private readonly client: WebClient | undefined;
  /** The channel's ID: from the config, or as Slack answered (history needs the ID, not the name). */
  private channelId: string | undefined;
  /** Incoming-webhook mode: the shared HTTP client, posting to the secret URL. */
  private readonly hook: HttpClient | undefined;
  private hooks: InteractionHooks | undefined;

  constructor(
    private readonly config: SlackSettings,
    private readonly logger: Logger,
  ) {
    this.name = config.name;
    this.rateLimit = config.rateLimit;
    this.concurrency = config.concurrency;
    const bare = config.channel?.replace(/^#/, '');
    if (bare !== undefined && CHANNEL_ID.test(bare)) this.channelId = bare;
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

  /** Whether its messages carry controls (slack_interactivity, and a bot token to edit them). */
  get interactive(): boolean {
    return this.config.controls !== undefined && !this.webhookMode;
  }

  /** Wires the interactivity in (the receiver does, when slack_interactivity is configured). */
  attachInteractions(hooks: InteractionHooks): void {
    this.hooks = hooks;
  }

  render(event: DeliveryEvent, ref?: ChannelRef): WireRequest[] {
    return this.renderWith(event, ref, undefined);
  }

  /** The message with the controls and the status line of `state`, when it has controls. */
  private withControls(
    message: SlackMessage,
    event: DeliveryEvent,
    ref: ChannelRef | undefined,
    state: ActionsState | undefined,
  ): SlackMessage {
    const controls = this.config.controls;
    if (!controls || this.webhookMode) return message;
    const shown = event.kind === 'new' || !isSlackRef(ref) ? undefined : stateFor(state, ref);
    const added = controlBlocks(
      { groupId: event.group.id, channel: this.name },
      controls,
      shown,
      event.group.status === 'firing',
      event.now,
    );
    return { text: message.text, blocks: placeControls(message.blocks, added) };
  }

  private renderWith(
    event: DeliveryEvent,
    ref: ChannelRef | undefined,
    state: ActionsState | undefined,
  ): WireRequest[] {
    const message = this.withControls(renderSlackMessage(event, this.config), event, ref, state);
    if (this.webhookMode) {
      const body =
        event.kind === 'reminder' ? renderSlackReply(event, this.config) : withChangeLine(event, message);
      return [{ action: 'POST incoming webhook', body }];
    }
    const channel = this.config.channel as string;
    const metadata = (part: Part) =>
      event.delivery ? { metadata: deliveryMetadata(event.delivery, part, event.group.id) } : {};
    const post = (m: SlackMessage, extra: Record<string, unknown> = {}) => ({
      action: 'chat.postMessage',
      body: {
        channel,
        ...extra,
        text: m.text,
        blocks: m.blocks,
        unfurl_links: false,
        unfurl_media: false,
        ...metadata('message'),
      },
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
        ...metadata('reply'),
      },
    };
    const update = {
      action: 'chat.update',
      body: { channel: ref.channel, ts: ref.ts, text: message.text, blocks: message.blocks },
    };
    // A reminder leaves the message as it is, but one with controls shows their state anew (a snooze
    // that ended since).
    if (event.kind === 'reminder') return this.interactive ? [update, threadReply] : [threadReply];
    return [update, threadReply];
  }

  async send(event: DeliveryEvent, ref: ChannelRef | undefined): Promise<ChannelRef | undefined> {
    const hooks = this.hooks;
    if (!hooks || !this.interactive) return this.deliver(event, ref, undefined);
    return hooks.exclusive(this.name, event.group.id, async () =>
      this.deliver(event, ref, await hooks.state(this.name, event.group.id)),
    );
  }

  private async deliver(
    event: DeliveryEvent,
    ref: ChannelRef | undefined,
    state: ActionsState | undefined,
  ): Promise<ChannelRef | undefined> {
    const requests = this.renderWith(event, ref, state);
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
            const body = (fresh as WireRequest).body as Record<string, unknown>;
            return this.remember(await this.post(client, body, event.delivery, event.group.identity), event);
          }
          throw err;
        }
        continue;
      }
      const posted = await this.post(client, body, event.delivery, event.group.identity);
      if (!current) current = posted;
    }
    return current && this.remember(current, event);
  }

  /** The ref to keep: with controls, the group's title and silence labels as well. */
  private remember(ref: SlackRef, event: DeliveryEvent): SlackRef {
    if (!this.interactive) return ref;
    const { group } = event;
    const silence = Object.keys(group.groupLabels).length > 0 ? group.groupLabels : group.commonLabels;
    const kept: SlackGroupRef = { channel: ref.channel, ts: ref.ts, title: group.title, silence };
    return kept;
  }

  // What the interactivity does with a group's message (receiver/src/interactions/).

  /**
   * A reply in the message's thread, posted once per delivery: a later attempt looks it up by its
   * metadata first (as for notifications).
   */
  async replyInThread(
    ref: SlackRef,
    message: SlackMessage,
    delivery: DeliveryAttempt,
    groupId: string,
    identity: string,
  ): Promise<void> {
    const body = {
      channel: ref.channel,
      thread_ts: ref.ts,
      text: message.text,
      blocks: message.blocks,
      unfurl_links: false,
      metadata: deliveryMetadata(delivery, 'reply', groupId),
    };
    await this.post(this.api(), body, delivery, identity);
  }

  /**
   * Shows the controls and status line of `state` on the message as Slack has it now (read back, so
   * that nothing the last notification put there is lost). False when the message is gone.
   */
  async showControls(
    ref: SlackRef,
    groupId: string,
    state: ActionsState | undefined,
    firing: boolean,
    now: number,
  ): Promise<boolean> {
    const controls = this.config.controls;
    if (!controls) return false;
    const client = this.api();
    const answer = await call(() =>
      client.conversations.history({ channel: ref.channel, latest: ref.ts, inclusive: true, limit: 1 }),
    );
    const messages = (answer as { messages?: { ts?: string; text?: string; blocks?: unknown }[] }).messages;
    const current = messages?.find((m) => m.ts === ref.ts);
    if (!current || !Array.isArray(current.blocks)) return false;
    const added = controlBlocks({ groupId, channel: this.name }, controls, state, firing, now);
    const blocks = placeControls(current.blocks as { type: string; block_id?: unknown }[], added);
    try {
      await call(() =>
        client.chat.update({
          channel: ref.channel,
          ts: ref.ts,
          text: current.text ?? '',
          blocks,
        } as unknown as Parameters<WebClient['chat']['update']>[0]),
      );
    } catch (err) {
      const code = (err as ChannelError).cause as { data?: { error?: string } } | undefined;
      if (code?.data?.error && MESSAGE_GONE.has(code.data.error)) return false;
      throw err;
    }
    return true;
  }

  /** A message only `user` sees, in the thread of the group's message. */
  async tell(ref: SlackRef, user: string, text: string): Promise<void> {
    const client = this.api();
    await call(() => client.chat.postEphemeral({ channel: ref.channel, user, text, thread_ts: ref.ts }));
  }

  private api(): WebClient {
    if (!this.client) throw new ChannelError('no Slack token was loaded', false);
    return this.client;
  }

  /**
   * Posts once per delivery and part: on a later attempt, what an earlier one may have posted (its
   * answer lost to a timeout) is looked up first and not posted again.
   */
  private async post(
    client: WebClient,
    body: Record<string, unknown>,
    delivery: DeliveryAttempt | undefined,
    identity: string,
  ): Promise<SlackRef> {
    const part: Part = body.thread_ts === undefined ? 'message' : 'reply';
    if (delivery && delivery.attempt > 1) {
      const found = await this.lookUp(client, delivery, part, body.thread_ts as string | undefined);
      if (found) {
        this.logger.info(
          { channel: this.name, group: identity, delivery: delivery.id, part, ts: found.ts },
          'an earlier attempt was posted after all: not posting it again',
        );
        return found;
      }
    }
    const result = await call(() =>
      client.chat.postMessage(body as unknown as Parameters<WebClient['chat']['postMessage']>[0]),
    );
    const posted = { channel: String(result.channel), ts: String(result.ts) };
    this.channelId ??= posted.channel;
    return posted;
  }

  /**
   * Finds the message an earlier attempt of `delivery` posted, by its metadata: in the channel's
   * history, or in the thread for a reply. Failing to look means failing the attempt (retried later).
   */
  private async lookUp(
    client: WebClient,
    delivery: DeliveryAttempt,
    part: Part,
    threadTs: string | undefined,
  ): Promise<SlackRef | undefined> {
    const counted = delivery.lookedUp;
    try {
      const channel = await this.conversationId(client);
      const oldest = (delivery.queuedAt / 1000 - LOOKUP_SKEW_S).toFixed(6);
      let cursor: string | undefined;
      for (let page = 0; page < LOOKUP_PAGES; page++) {
        const args = {
          channel,
          oldest,
          include_all_metadata: true,
          limit: 200,
          ...(cursor ? { cursor } : {}),
        };
        const answer = await call(() =>
          threadTs === undefined
            ? client.conversations.history(args)
            : client.conversations.replies({ ...args, ts: threadTs }),
        );
        const messages = (answer as { messages?: { ts?: string; metadata?: unknown }[] }).messages ?? [];
        const match = messages.find((m) => isDeliveryOf(m.metadata, delivery.id, part));
        if (match?.ts) {
          counted?.('found');
          return { channel, ts: match.ts };
        }
        cursor = (answer as { response_metadata?: { next_cursor?: string } }).response_metadata?.next_cursor;
        if (!cursor) {
          counted?.('absent');
          return undefined;
        }
      }
      throw new ChannelError(`more than ${LOOKUP_PAGES * 200} messages since the delivery was queued`, true);
    } catch (err) {
      counted?.('failed');
      const failure = classifySlackError(err);
      throw new ChannelError(
        `cannot look up whether an earlier attempt was posted (not posting again until it can): ${failure.message}`,
        true,
        failure.retryAfterMs,
        { cause: err },
      );
    }
  }

  /** The channel's ID for conversations.history: configured, learned from an answer, or looked up by name. */
  private async conversationId(client: WebClient): Promise<string> {
    if (this.channelId) return this.channelId;
    const name = (this.config.channel as string).replace(/^#/, '');
    let cursor: string | undefined;
    do {
      const answer = await call(() =>
        client.conversations.list({
          types: 'public_channel,private_channel',
          exclude_archived: true,
          limit: 1000,
          ...(cursor ? { cursor } : {}),
        }),
      );
      const channels = (answer as { channels?: { id?: string; name?: string }[] }).channels ?? [];
      const id = channels.find((c) => c.name === name)?.id;
      if (id) {
        this.channelId = id;
        return id;
      }
      cursor = (answer as { response_metadata?: { next_cursor?: string } }).response_metadata?.next_cursor;
    } while (cursor);
    throw new ChannelError(`no channel named ${JSON.stringify(name)} among those the token can list`, true);
  }

  private async postWebhook(body: unknown): Promise<void> {
    if (!this.hook) throw new ChannelError('no incoming-webhook URL was loaded', false);
    await this.hook.request('POST', '<incoming webhook>', body);
  }

  async close(): Promise<void> {}
}

function deliveryMetadata(delivery: DeliveryAttempt, part: Part, groupId: string) {
  return { event_type: METADATA_EVENT, event_payload: { delivery_id: delivery.id, part, group_id: groupId } };
}

function isDeliveryOf(metadata: unknown, id: string, part: Part): boolean {
  const m = metadata as { event_type?: unknown; event_payload?: { delivery_id?: unknown; part?: unknown } };
  return (
    m?.event_type === METADATA_EVENT && m.event_payload?.delivery_id === id && m.event_payload.part === part
  );
}

function withChangeLine(event: DeliveryEvent, message: SlackMessage): SlackMessage {
  if (event.kind === 'new') return message;
  const reply = renderSlackReply(event, { maxAlerts: 5, mentions: {} });
  const blocks: SlackMessage['blocks'] = [...reply.blocks, { type: 'divider' }, ...message.blocks];
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

function detail(data: { response_metadata?: { messages?: string[] }; needed?: string }): string {
  // missing_scope names the scope the token lacks.
  if (typeof data.needed === 'string') return ` (the token needs the scope ${data.needed})`;
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
