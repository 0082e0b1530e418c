// Alertmanager's webhook payload, version 4, parsed leniently: fields added by later Alertmanager
// releases (notification_reason, routeLabels…) and any other unknown field are kept, a zero endsAt
// ("0001-01-01T00:00:00Z", sent for firing alerts) is accepted. What the receiver relies on is checked,
// and a failure names the field.
import { parseRfc3339, RFC3339_EXPECTED } from '@license-monitor/common';
import { z } from 'zod';

const timestamp = z
  .string({ error: 'expected an RFC 3339 time string' })
  .refine((s) => parseRfc3339(s) !== undefined, { error: `expected ${RFC3339_EXPECTED}` });

/** A label or annotation set: names to string values. `null` (as some senders write) means empty. */
const stringMap = z
  .record(
    z.string(),
    z.string({ error: (issue) => `expected a string, received ${describe(issue.input)}` }),
    {
      error: (issue) => `expected an object of strings, received ${describe(issue.input)}`,
    },
  )
  .nullish()
  .transform((v) => v ?? {});

export const ALERT_STATUSES = ['firing', 'resolved'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

const status = z.enum(ALERT_STATUSES, {
  error: (issue) => `expected "firing" or "resolved", received ${describe(issue.input)}`,
});

const alertSchema = z.looseObject(
  {
    status,
    labels: z.record(
      z.string(),
      z.string({ error: (issue) => `expected a string, received ${describe(issue.input)}` }),
      {
        error: (issue) => `expected an object of strings, received ${describe(issue.input)}`,
      },
    ),
    annotations: stringMap,
    startsAt: timestamp,
    endsAt: timestamp.nullish(),
    generatorURL: z.string({ error: 'expected a URL string' }).nullish(),
    fingerprint: z.string({ error: 'expected a string' }).nullish(),
  },
  { error: (issue) => `expected an alert object, received ${describe(issue.input)}` },
);

export const payloadSchema = z.looseObject(
  {
    version: z.string({ error: 'expected a string such as "4"' }).optional(),
    groupKey: z.string({ error: 'expected a string' }).nullish(),
    truncatedAlerts: z.number({ error: 'expected a whole number ≥ 0' }).int().min(0).nullish(),
    status: status.nullish(),
    receiver: z.string({ error: 'expected a string' }).nullish(),
    groupLabels: stringMap,
    commonLabels: stringMap,
    commonAnnotations: stringMap,
    externalURL: z.string({ error: 'expected a URL string' }).nullish(),
    notification_reason: z.string({ error: 'expected a string' }).nullish(),
    alerts: z
      .array(alertSchema, {
        error: (issue) => `expected an array of alerts, received ${describe(issue.input)}`,
      })
      .min(1, { error: 'expected at least one alert' }),
  },
  { error: (issue) => `expected a JSON object, received ${describe(issue.input)}` },
);

export type AlertmanagerPayload = z.infer<typeof payloadSchema>;
export type AlertmanagerAlert = AlertmanagerPayload['alerts'][number];

export interface PayloadProblem {
  /** The field, as a path: `alerts[0].labels.severity`; `(body)` for the whole document. */
  field: string;
  message: string;
}

export type ParseResult =
  | { ok: true; payload: AlertmanagerPayload }
  | { ok: false; problems: PayloadProblem[] };

/** Checks a decoded JSON body. Unknown fields are kept in the result. */
export function parseWebhookPayload(body: unknown): ParseResult {
  const result = payloadSchema.safeParse(body, { reportInput: true });
  if (result.success) return { ok: true, payload: normalize(result.data) };
  const problems = result.error.issues.map((issue) => ({
    field: formatPath(issue.path) || '(body)',
    message:
      issue.code === 'invalid_type' && issue.input === undefined && issue.path.length > 0
        ? 'required field is missing'
        : issue.message,
  }));
  return { ok: false, problems };
}

/** `['alerts', 0, 'labels', 'a.b']` → `alerts[0].labels["a.b"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (typeof part === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(part))
      out += out ? `.${part}` : part;
    else out += `[${JSON.stringify(String(part))}]`;
  }
  return out;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing (the field is missing)';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string')
    return `a string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value === 'object' ? 'an object' : `a ${typeof value}`}${typeof value === 'number' || typeof value === 'boolean' ? ` (${String(value)})` : ''}`;
}

/** Alertmanager writes the zero time for "not ended yet". */
export function isZeroTime(iso: string | null | undefined): boolean {
  return !iso || Date.parse(iso) <= 0;
}

/** Fills what Alertmanager always sends but other senders may leave out: commonLabels, status. */
function normalize(payload: AlertmanagerPayload): AlertmanagerPayload {
  if (Object.keys(payload.commonLabels).length === 0) {
    const [first, ...rest] = payload.alerts;
    const common: Record<string, string> = {};
    for (const [k, v] of Object.entries(first?.labels ?? {}))
      if (rest.every((a) => a.labels[k] === v)) common[k] = v;
    payload.commonLabels = common;
  }
  payload.status = payload.alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved';
  return payload;
}
