// Config → channel instances.
import type { Logger } from 'pino';
import type { ChannelSettings } from '../config.js';
import type { Channel } from './channel.js';
import { ConsoleChannel } from './console/index.js';
import { EmailChannel } from './email/index.js';
import { SlackChannel } from './slack/index.js';

/** Email free-text values are capped so that one 100 KB annotation does not make a 100 KB mail. */
const EMAIL_MAX_VALUE = 20_000;

export function createChannel(settings: ChannelSettings, logger: Logger): Channel {
  const log = logger.child({ channel: settings.name });
  switch (settings.type) {
    case 'slack': {
      const config = {
        name: settings.name,
        apiUrl: settings.apiUrl,
        mentions: settings.mentions,
        maxAlerts: settings.maxAlerts,
        rateLimit: settings.rateLimit,
        timeoutMs: settings.timeoutMs,
        mode: settings.mode,
        ...(settings.channel !== undefined ? { channel: settings.channel } : {}),
        ...(settings.token !== undefined ? { token: settings.token } : {}),
        ...(settings.webhookUrl !== undefined ? { webhookUrl: settings.webhookUrl } : {}),
      };
      return new SlackChannel(config, log);
    }
    case 'email':
      return new EmailChannel(
        {
          name: settings.name,
          smtp: settings.smtp,
          from: settings.from,
          to: settings.to,
          cc: settings.cc,
          maxAlerts: settings.maxAlerts,
          maxValue: EMAIL_MAX_VALUE,
          rateLimit: settings.rateLimit,
        },
        log,
      );
    case 'console':
      return new ConsoleChannel({ name: settings.name, maxAlerts: settings.maxAlerts }, logger);
  }
}

export type { Channel } from './channel.js';
