// Config → channel instances.
import type { Logger } from 'pino';
import type { ChannelSettings } from '../config.js';
import type { Channel } from './channel.js';
import { ConsoleChannel } from './console/index.js';
import { EmailChannel } from './email/index.js';
import { createGitHubSystem } from './github/index.js';
import { createJiraSystem } from './jira/index.js';
import { createServiceNowSystem } from './servicenow/index.js';
import { SlackChannel } from './slack/index.js';
import { TicketChannel } from './ticket/lifecycle.js';
import { createWebhookChannel } from './webhook/index.js';

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
    case 'jira':
      return new TicketChannel('jira', settings, createJiraSystem(settings, log), log);
    case 'servicenow':
      return new TicketChannel('servicenow', settings, createServiceNowSystem(settings, log), log);
    case 'github':
      return new TicketChannel('github', settings, createGitHubSystem(settings, log), log);
    case 'webhook':
      return createWebhookChannel(settings, log);
  }
}

export type { Channel } from './channel.js';
