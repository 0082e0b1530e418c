// The `type: jira` channel's config: where Jira is, which API, the project and the fields of a new
// issue, the credentials (Cloud: email + API token; Data Center: personal access token) and the
// workflow's transition names.
import { z } from 'zod';
import {
  type BuildContext,
  duration,
  envName,
  fail,
  httpUrl,
  leaf,
  list,
  path,
  secretOf,
  text,
} from '../../schema.js';
import { type Severity, severityMap, ticketKeys, ticketSettings } from '../ticket/config.js';

export const jiraSchema = z.strictObject({
  ...ticketKeys({ per_second: 2, burst: 5 }),
  type: z.literal('jira'),
  url: httpUrl('the Jira base URL, such as https://example.atlassian.net'),
  api: leaf(z.enum(['cloud', 'datacenter', 'auto']), 'cloud, datacenter or auto').default('auto'),
  project: leaf(z.string().regex(/^[A-Z][A-Z0-9_]{1,99}$/), 'a Jira project key such as LIC'),
  issue_type: text('an issue type name such as Task').default('Task'),
  priority: severityMap('a Jira priority name').default({
    critical: 'Highest',
    error: 'High',
    warning: 'High',
    info: 'Medium',
  }),
  labels: list(leaf(z.string().regex(/^\S{1,255}$/), 'a label without spaces'), 'a list of labels').default(
    [],
  ),
  components: list(text('a component name'), 'a list of component names').default([]),
  fields: leaf(
    z.record(z.string().regex(/^[A-Za-z0-9_]+$/), z.unknown()),
    'a map from a field id (such as customfield_10010) to its value as Jira expects it',
  ).default({}),
  email: text('the email address of the Jira Cloud account').optional(),
  api_token_env: envName().optional(),
  api_token_file: path().optional(),
  personal_access_token_env: envName().optional(),
  personal_access_token_file: path().optional(),
  resolve_transition: text('a transition name such as Done').default('Done'),
  reopen_transition: text('a transition name such as "To Do" or Reopen').default('To Do'),
  wont_fix_resolution: text('a resolution name such as "Won\'t Do"').default("Won't Do"),
  link_type: text('an issue link type name such as Relates').default('Relates'),
  search_lag: duration().default(60_000),
});

export type JiraChannelSettings = ReturnType<typeof buildJiraSettings>;

export function buildJiraSettings(raw: z.output<typeof jiraSchema>, { key, secrets }: BuildContext) {
  const cloudAuth =
    raw.email !== undefined || raw.api_token_env !== undefined || raw.api_token_file !== undefined;
  const pat = raw.personal_access_token_env !== undefined || raw.personal_access_token_file !== undefined;
  if (cloudAuth === pat)
    fail(
      key,
      raw.name,
      'a Jira channel with either email and api_token_env/api_token_file (Cloud) or personal_access_token_env/personal_access_token_file (Data Center)',
    );
  if (cloudAuth && raw.email === undefined)
    fail(`${key}.email`, undefined, 'the email address of the Jira Cloud account that owns the API token');
  if (raw.api === 'cloud' && pat)
    fail(
      `${key}.api`,
      raw.api,
      'datacenter or auto with a personal access token (Jira Cloud takes email + API token)',
    );
  // Cloud: basic auth with email + API token; Data Center: a bearer personal access token.
  const apiToken = cloudAuth
    ? secretOf(secrets, `${key}.api_token`, { env: raw.api_token_env, file: raw.api_token_file }, true)
    : undefined;
  const personalAccessToken = cloudAuth
    ? undefined
    : secretOf(
        secrets,
        `${key}.personal_access_token`,
        { env: raw.personal_access_token_env, file: raw.personal_access_token_file },
        true,
      );
  return {
    ...ticketSettings(raw),
    type: 'jira' as const,
    url: raw.url.replace(/\/+$/, ''),
    api: raw.api,
    project: raw.project,
    issueType: raw.issue_type,
    priority: raw.priority as Partial<Record<Severity, string>>,
    labels: raw.labels,
    components: raw.components,
    fields: raw.fields,
    resolveTransition: raw.resolve_transition,
    reopenTransition: raw.reopen_transition,
    wontFixResolution: raw.wont_fix_resolution,
    linkType: raw.link_type,
    /** After a create whose outcome is unknown, a search miss is not trusted for this long. */
    searchLagMs: raw.search_lag,
    ...(cloudAuth ? { email: raw.email as string } : {}),
    ...(apiToken !== undefined ? { apiToken } : {}),
    ...(personalAccessToken !== undefined ? { personalAccessToken } : {}),
  };
}
