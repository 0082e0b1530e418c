// What a channel folder exports to be usable from config: its `type:`, its config keys (snake_case,
// with their defaults), how the checked keys become settings (secrets read, either/or keys checked),
// how settings become a live channel, and how `render` prints its requests. The list of them is in
// channels/index.ts; nothing else names a channel type.
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { BuildContext } from '../schema.js';
import type { Channel, WireRequest } from './channel.js';

/** What every channel's settings have. */
export interface SettingsBase {
  type: string;
  name: string;
}

export interface ChannelDescriptor<
  Schema extends z.ZodObject = z.ZodObject,
  Settings extends SettingsBase = SettingsBase,
> {
  /** The `type:` of its config entries. */
  readonly type: Settings['type'];
  /** The config keys, strict, with `name` and `type: z.literal(type)` (see channelSchema). */
  readonly schema: Schema;
  /** Checked keys → settings; fails with ConfigError naming the key (ctx.key is `channels[i]`). */
  build(raw: z.output<Schema>, ctx: BuildContext): Settings;
  /** Settings → the channel (the logger already names the channel). */
  create(settings: Settings, logger: Logger): Channel;
  /** A word check-config prints after the type, such as Slack's `api` or `webhook`. */
  summary?(settings: Settings): string;
  /** How `render` prints one request for people; default: its JSON body. */
  print?(request: WireRequest): string;
}

/** Keeps the descriptor's own types (settings, schema) while the list holds them all alike. */
export function defineChannel<Schema extends z.ZodObject, Settings extends SettingsBase>(
  descriptor: ChannelDescriptor<Schema, Settings>,
): ChannelDescriptor<Schema, Settings> {
  return descriptor;
}

/** The settings a descriptor builds. */
export type SettingsOf<D> = D extends ChannelDescriptor<z.ZodObject, infer S> ? S : never;

/** The default print: the request body as indented JSON. */
export function printJson(request: WireRequest): string {
  return JSON.stringify(request.body, null, 2);
}
