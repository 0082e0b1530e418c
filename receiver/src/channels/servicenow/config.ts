// The `type: servicenow` channel's config: the instance, the credentials (basic auth or an OAuth
// bearer token), how severity maps to urgency and impact, extra incident fields, and the states and
// close code used to resolve and reopen.
import { z } from 'zod';
import { type BuildContext, envName, fail, httpUrl, leaf, list, path, secretOf, text } from '../../schema.js';
import { type Severity, severityMap, ticketKeys, ticketSettings } from '../ticket/config.js';

const LEVEL = leaf(z.enum(['1', '2', '3']), '"1" (high), "2" (medium) or "3" (low)');

export const servicenowSchema = z.strictObject({
  ...ticketKeys({ per_second: 2, burst: 5 }),
  type: z.literal('servicenow'),
  url: httpUrl('the instance URL, such as https://example.service-now.com'),
  username: text('the ServiceNow user name').optional(),
  password_env: envName().optional(),
  password_file: path().optional(),
  token_env: envName().optional(),
  token_file: path().optional(),
  urgency: severityMap('"1", "2" or "3"').default({ critical: '1', error: '1', warning: '2', info: '3' }),
  impact: severityMap('"1", "2" or "3"').default({ critical: '2', error: '2', warning: '2', info: '3' }),
  fields: leaf(
    z.record(z.string().regex(/^[a-z0-9_]+$/), z.string()),
    'a map from an incident field (such as assignment_group or category) to a string value',
  ).default({}),
  resolve_state: text('an incident state value such as "6" (Resolved)').default('6'),
  reopen_state: text('an incident state value such as "2" (In Progress)').default('2'),
  close_code: text('a resolution code such as "Solved (Permanently)"').default('Solved (Permanently)'),
  close_notes: text('a text put first in the close notes').optional(),
  wont_fix_close_codes: list(text('a resolution code'), 'a list of resolution codes').default([]),
});

export type ServiceNowChannelSettings = ReturnType<typeof buildServiceNowSettings>;

export function buildServiceNowSettings(
  raw: z.output<typeof servicenowSchema>,
  { key, secrets }: BuildContext,
) {
  for (const map of ['urgency', 'impact'] as const)
    for (const [severity, value] of Object.entries(raw[map]))
      if (!LEVEL.safeParse(value).success) fail(`${key}.${map}.${severity}`, value, '"1", "2" or "3"');
  const basic =
    raw.username !== undefined || raw.password_env !== undefined || raw.password_file !== undefined;
  const bearer = raw.token_env !== undefined || raw.token_file !== undefined;
  if (basic === bearer)
    fail(
      key,
      raw.name,
      'a ServiceNow channel with either username and password_env/password_file, or token_env/token_file (OAuth bearer token)',
    );
  if (basic && raw.username === undefined) fail(`${key}.username`, undefined, 'the ServiceNow user name');
  const password = basic
    ? secretOf(secrets, `${key}.password`, { env: raw.password_env, file: raw.password_file }, true)
    : undefined;
  const token = basic
    ? undefined
    : secretOf(secrets, `${key}.token`, { env: raw.token_env, file: raw.token_file }, true);
  return {
    ...ticketSettings(raw),
    type: 'servicenow' as const,
    url: raw.url.replace(/\/+$/, ''),
    urgency: raw.urgency as Partial<Record<Severity, string>>,
    impact: raw.impact as Partial<Record<Severity, string>>,
    fields: raw.fields,
    resolveState: raw.resolve_state,
    reopenState: raw.reopen_state,
    closeCode: raw.close_code,
    wontFixCloseCodes: raw.wont_fix_close_codes,
    /** Put before the generated resolve text in close_notes. */
    ...(raw.close_notes !== undefined ? { closeNotes: raw.close_notes } : {}),
    ...(basic ? { username: raw.username as string } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(token !== undefined ? { token } : {}),
  };
}
