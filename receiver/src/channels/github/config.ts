// The `type: github` channel's config: the API base URL (GitHub Enterprise Server: https://HOST/api/v3),
// the repository, the token and the labels of a new issue.
import { z } from 'zod';
import { type BuildContext, envName, httpUrl, leaf, list, path, secretOf } from '../../schema.js';
import {
  type Severity,
  severityMap,
  type TicketSettings,
  ticketKeys,
  ticketSettings,
} from '../ticket/config.js';

const LABEL = leaf(z.string().min(1).max(50), 'a label of 1 to 50 characters');

export const githubSchema = z.strictObject({
  // GitHub allows about 80 content-creating requests a minute and 500 an hour; a delivery makes 1–3.
  ...ticketKeys({ per_second: 0.1, burst: 5 }),
  type: z.literal('github'),
  api_url: httpUrl('the GitHub API URL, such as https://api.github.com').default('https://api.github.com'),
  repository: leaf(
    z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/),
    'OWNER/REPOSITORY, such as acme/platform-licences',
  ),
  token_env: envName().optional(),
  token_file: path().optional(),
  labels: list(LABEL, 'a list of labels').default(['alert']),
  severity_labels: severityMap('a label').default({}),
  assignees: list(leaf(z.string().min(1), 'a GitHub login'), 'a list of GitHub logins').default([]),
});

export interface GitHubChannelSettings extends TicketSettings {
  type: 'github';
  apiUrl: string;
  owner: string;
  repo: string;
  token?: string;
  labels: string[];
  severityLabels: Partial<Record<Severity, string>>;
  assignees: string[];
}

export function buildGitHubSettings(
  raw: z.output<typeof githubSchema>,
  { key, secrets }: BuildContext,
): GitHubChannelSettings {
  const [owner = '', repo = ''] = raw.repository.split('/');
  const settings: GitHubChannelSettings = {
    ...ticketSettings(raw),
    type: 'github',
    apiUrl: raw.api_url.replace(/\/+$/, ''),
    owner,
    repo,
    labels: raw.labels,
    severityLabels: raw.severity_labels,
    assignees: raw.assignees,
  };
  const token = secretOf(secrets, `${key}.token`, { env: raw.token_env, file: raw.token_file }, true);
  if (token !== undefined) settings.token = token;
  return settings;
}
