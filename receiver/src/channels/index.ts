// The channel registry: every `type:` the config accepts, each described by its own folder (config
// keys, settings, the channel, how render prints it). Adding a channel is a folder and a line here.
import type { Logger } from 'pino';
import type { Channel } from './channel.js';
import { consoleChannel } from './console/index.js';
import type { ChannelDescriptor, SettingsOf } from './descriptor.js';
import { emailChannel } from './email/index.js';
import { githubChannel } from './github/index.js';
import { jiraChannel } from './jira/index.js';
import { msteamsChannel } from './msteams/index.js';
import { servicenowChannel } from './servicenow/index.js';
import { slackChannel } from './slack/index.js';
import { webhookChannel } from './webhook/index.js';

/** In the order error messages list the types. */
export const CHANNELS = [
  slackChannel,
  emailChannel,
  consoleChannel,
  jiraChannel,
  servicenowChannel,
  githubChannel,
  webhookChannel,
  msteamsChannel,
] as const;

/** The settings of any channel: a union discriminated by `type`. */
export type ChannelSettings = SettingsOf<(typeof CHANNELS)[number]>;

export const CHANNEL_TYPES: readonly string[] = CHANNELS.map((c) => c.type);

/** The descriptor of a type the config accepted. */
export function descriptorOf(type: string): ChannelDescriptor {
  const descriptor = CHANNELS.find((c) => c.type === type);
  if (!descriptor) throw new Error(`no channel type ${JSON.stringify(type)}`);
  // Each descriptor is typed by its own settings; callers pass it settings of its own type.
  return descriptor as unknown as ChannelDescriptor;
}

export function createChannel(settings: ChannelSettings, logger: Logger): Channel {
  return descriptorOf(settings.type).create(settings, logger.child({ channel: settings.name }));
}

export type { Channel } from './channel.js';
