// Config keys every ticket channel (Jira, ServiceNow, GitHub) shares, and their checked form.
import { z } from 'zod';
import { bool, duration, leaf, positiveDuration, rateLimit, text, toRateLimit, whole } from '../../schema.js';

const WEEK_MS = 7 * 86_400_000;

export const SEVERITIES = ['critical', 'error', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** A map from severity to a value of the ticket system (a priority name, an urgency…). */
export const severityMap = (expected: string) =>
  leaf(
    z.partialRecord(z.enum(SEVERITIES), z.string().min(1)),
    `a map from severity (critical, error, warning, info) to ${expected}`,
  );

/** The shared keys, spread into each ticket channel's schema; `rate` is that system's default. */
export function ticketKeys(rate: { per_second: number; burst: number }) {
  return {
    name: text('a channel name'),
    reopen_window: duration().default(WEEK_MS),
    reminder_comments: bool().default(false),
    max_alerts: whole(1, 200).default(50),
    rate_limit: rateLimit().default(rate),
    timeout: positiveDuration().default(10_000),
  };
}

/** The settings every ticket channel has. */
export type TicketSettings = ReturnType<typeof ticketSettings>;

/** The shared keys, checked (see ticketKeys). */
type TicketKeys = z.output<z.ZodObject<ReturnType<typeof ticketKeys>>>;

export function ticketSettings(raw: TicketKeys) {
  return {
    name: raw.name,
    /** A resolved ticket that fires again within this window is reopened; after it, a new one is opened. */
    reopenWindowMs: raw.reopen_window,
    /** Comment on the ticket when Alertmanager repeats an unchanged group (repeat_interval). */
    reminderComments: raw.reminder_comments,
    maxAlerts: raw.max_alerts,
    rateLimit: toRateLimit(raw.rate_limit),
    timeoutMs: raw.timeout,
  };
}

/** The severity's entry of a map, else the nearest lower one that is set, else undefined. */
export function bySeverity<T>(
  map: Partial<Record<Severity, T>>,
  severity: string | undefined,
): T | undefined {
  const order: Severity[] = ['critical', 'error', 'warning', 'info'];
  const at = order.indexOf((severity ?? 'info') as Severity);
  for (const s of order.slice(at < 0 ? order.length - 1 : at)) if (map[s] !== undefined) return map[s];
  return undefined;
}
