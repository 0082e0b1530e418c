// Microsoft Teams destination: an Adaptive Card posted to a Teams Workflows webhook ("Post to a
// channel when a webhook request is received"). A Workflows webhook can only post: it cannot edit or
// thread a message, so each event of a group is a new card (the resolve is a green, resolved card).
// The webhook answers 202 Accepted (the flow runs afterwards); 429 with Retry-After, 5xx, 408 and
// network errors are retried by the outbox; 400, 401, 403, 404 (a flow deleted or its URL's signature
// wrong) and 413 are not. The URL carries its own signature: it appears in no log line and no error.
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
import { HttpClient, oneLine } from '../http.js';
import { buildMsTeamsSettings, type MsTeamsSettings, msteamsSchema } from './config.js';
import { bodyBytes, renderTeamsMessage } from './render.js';

export const msteamsChannel = defineChannel({
  type: 'msteams',
  schema: msteamsSchema,
  build: buildMsTeamsSettings,
  create: (settings, logger) => new MsTeamsChannel(settings, logger),
});

/** How the URL is named in errors. */
const URL_LABEL = '<workflows webhook>';

export class MsTeamsChannel implements Channel {
  readonly type = 'msteams';
  readonly name: string;
  readonly rateLimit: RateLimit;
  readonly concurrency = 1;
  private readonly client: HttpClient | undefined;

  constructor(
    private readonly settings: MsTeamsSettings,
    private readonly logger: Logger,
  ) {
    this.name = settings.name;
    this.rateLimit = settings.rateLimit;
    if (settings.webhookUrl !== undefined)
      this.client = new HttpClient({
        peer: 'Teams',
        baseUrl: settings.webhookUrl,
        webhook: true,
        timeoutMs: settings.timeoutMs,
        describe: describeTeams,
      });
  }

  render(event: DeliveryEvent, _ref?: ChannelRef): WireRequest[] {
    return [{ action: 'POST workflows webhook', body: renderTeamsMessage(event, this.settings) }];
  }

  async send(event: DeliveryEvent, _ref: ChannelRef | undefined): Promise<ChannelRef | undefined> {
    if (!this.client) throw new ChannelError('no Teams webhook URL was loaded', false);
    const message = renderTeamsMessage(event, this.settings);
    const response = await this.client.request('POST', URL_LABEL, message);
    this.logger.debug(
      { kind: event.kind, status: response.status, bytes: bodyBytes(message) },
      'Teams card posted',
    );
    return undefined;
  }

  async close(): Promise<void> {}
}

/** Workflows' `{"error":{"code","message"}}`, else the first words of the answer. */
export function describeTeams(body: unknown): string | undefined {
  if (typeof body === 'string') return oneLine(body).slice(0, 300) || undefined;
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (typeof error !== 'object' || error === null) return undefined;
  const text = [error.code, error.message].filter((v) => typeof v === 'string' && v !== '').join(': ');
  return text === '' ? undefined : oneLine(text).slice(0, 300);
}
