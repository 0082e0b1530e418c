// Console destination: the rendered notification as one JSON log line (for demos and dry runs).
import type { Logger } from 'pino';
import type { Channel, ChannelRef, DeliveryEvent, RateLimit, WireRequest } from '../channel.js';
import { defineChannel } from '../descriptor.js';
import { headline, linkList, plainText } from '../text.js';
import { buildConsoleSettings, type ConsoleSettings, consoleSchema } from './config.js';

export const consoleChannel = defineChannel({
  type: 'console',
  schema: consoleSchema,
  build: buildConsoleSettings,
  create: (settings, logger) => new ConsoleChannel(settings, logger),
});

export class ConsoleChannel implements Channel {
  readonly type = 'console';
  readonly name: string;
  readonly rateLimit: RateLimit = { perSecond: Number.POSITIVE_INFINITY, burst: Number.POSITIVE_INFINITY };
  readonly concurrency = 4;

  constructor(
    private readonly config: ConsoleSettings,
    private readonly logger: Logger,
  ) {
    this.name = config.name;
  }

  render(event: DeliveryEvent, _ref?: ChannelRef): WireRequest[] {
    const { group } = event;
    return [
      {
        action: 'log',
        body: {
          kind: event.kind,
          status: group.status,
          title: headline(group),
          firing: group.firing.length,
          resolved: group.resolved.length,
          ...(group.status === 'firing' ? { remediation_source: group.remediation.source } : {}),
          links: Object.fromEntries(linkList(group).map(([label, url]) => [label.toLowerCase(), url])),
          text: plainText(event, { maxAlerts: this.config.maxAlerts, maxValue: 4000 }),
        },
      },
    ];
  }

  async send(event: DeliveryEvent, ref: ChannelRef | undefined): Promise<ChannelRef | undefined> {
    const [request] = this.render(event, ref);
    this.logger.info(
      { group: event.group.identity, notification: (request as WireRequest).body },
      'notification',
    );
    return { logged_at: event.now };
  }

  async close(): Promise<void> {}
}
