// The `type: console` channel's config: how many alerts a log line lists.
import type { z } from 'zod';
import { type BuildContext, channelSchema, whole } from '../../schema.js';

export const consoleSchema = channelSchema('console', {
  max_alerts: whole(1, 500).default(20),
});

export type ConsoleSettings = ReturnType<typeof buildConsoleSettings>;

export function buildConsoleSettings(raw: z.output<typeof consoleSchema>, _ctx: BuildContext) {
  return { type: 'console' as const, name: raw.name, maxAlerts: raw.max_alerts };
}
