// Generic webhook destination: one JSON POST per event (documented body, version "1") to any URL, for
// systems without a channel of their own. With a secret, each POST carries an HMAC-SHA256 signature
// over "<timestamp>.<body>"; the body is serialised once and those exact bytes are signed and sent.
// X-License-Monitor-Delivery stays the same on every retry of an event, so the peer can drop repeats.
// The URL may itself be a secret (a token in its path or query): it appears in no log line and no
// error, nor do the bearer token and the signature.
import { createHmac } from 'node:crypto';
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
import { buildWebhookSettings, type WebhookChannelSettings, webhookSchema } from './config.js';
import { renderWebhookBody } from './render.js';

export const webhookChannel = defineChannel({
  type: 'webhook',
  schema: webhookSchema,
  build: buildWebhookSettings,
  create: (settings, logger) => new WebhookChannel(settings, logger),
});

export const HEADER = {
  event: 'X-License-Monitor-Event',
  delivery: 'X-License-Monitor-Delivery',
  timestamp: 'X-License-Monitor-Timestamp',
  signature: 'X-License-Monitor-Signature',
} as const;

/** How the URL is named in errors (the URL itself may hold a secret). */
const URL_LABEL = '<url>';
/** Characters of the peer's answer kept in an error. */
const PEER_TEXT_MAX = 300;

/** `sha256=<hex>`: HMAC-SHA256 with the secret over `<timestamp>.<raw body bytes>`. */
export function webhookSignature(secret: string, timestamp: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

export class WebhookChannel implements Channel {
  readonly type = 'webhook';
  readonly name: string;
  readonly rateLimit: RateLimit;
  readonly concurrency = 4;
  private readonly client: HttpClient | undefined;

  constructor(
    private readonly settings: WebhookChannelSettings,
    private readonly logger: Logger,
  ) {
    this.name = settings.name;
    this.rateLimit = settings.rateLimit;
    if (settings.url !== undefined)
      this.client = new HttpClient({
        peer: 'Webhook',
        baseUrl: settings.url,
        webhook: true,
        headers: settings.headers,
        credentials: { token: settings.bearerToken },
        timeoutMs: settings.timeoutMs,
        describe: peerText,
      });
  }

  render(event: DeliveryEvent, _ref?: ChannelRef): WireRequest[] {
    return [
      { action: 'POST webhook', body: renderWebhookBody(event, { maxAlerts: this.settings.maxAlerts }) },
    ];
  }

  async send(event: DeliveryEvent, _ref: ChannelRef | undefined): Promise<ChannelRef | undefined> {
    const client = this.client;
    if (!client) throw new ChannelError('no webhook URL was loaded', false);
    const body = renderWebhookBody(event, { maxAlerts: this.settings.maxAlerts });
    const raw = JSON.stringify(body);
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      [HEADER.event]: event.kind,
      [HEADER.delivery]: body.deliveryId,
    };
    if (this.settings.secret !== undefined) {
      const timestamp = String(Math.floor(Date.now() / 1000));
      headers[HEADER.timestamp] = timestamp;
      headers[HEADER.signature] = webhookSignature(this.settings.secret, timestamp, raw);
    }
    const started = Date.now();
    const response = await client.request('POST', URL_LABEL, undefined, { raw, headers });
    this.logger.debug(
      {
        kind: event.kind,
        delivery_id: body.deliveryId,
        status: response.status,
        bytes: Buffer.byteLength(raw),
        ms: Date.now() - started,
      },
      'webhook delivered',
    );
    return undefined;
  }

  async close(): Promise<void> {}
}

/** The first characters of the peer's answer, on one line (JSON answers as compact JSON). */
function peerText(body: unknown): string | undefined {
  if (body === undefined) return undefined;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const line = oneLine(text);
  return line === '' ? undefined : line.slice(0, PEER_TEXT_MAX);
}

export function createWebhookChannel(settings: WebhookChannelSettings, logger: Logger): Channel {
  return new WebhookChannel(settings, logger);
}
