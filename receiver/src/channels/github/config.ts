// The `type: github` channel's config: the API base URL (GitHub Enterprise Server: https://HOST/api/v3),
// the repository, the token and the labels of a new issue.
import { z } from 'zod';
import { type BuildContext, envName, httpUrl, leaf, list, path, secretOf } from '../../schema.js';
import { type Severity, severityMap, ticketKeys, ticketSettings } from '../ticket/config.js';

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

export type GitHubChannelSettings = ReturnType<typeof buildGitHubSettings>;

export function buildGitHubSettings(raw: z.output<typeof githubSchema>, { key, secrets }: BuildContext) {
  const [owner = '', repo = ''] = raw.repository.split('/');
  const token = secretOf(secrets, `${key}.token`, { env: raw.token_env, file: raw.token_file }, true);
  return {
    ...ticketSettings(raw),
    type: 'github' as const,
    apiUrl: raw.api_url.replace(/\/+$/, ''),
    owner,
    repo,
    labels: raw.labels,
    severityLabels: raw.severity_labels as Partial<Record<Severity, string>>,
    assignees: raw.assignees,
    ...(token !== undefined ? { token } : {}),
  };
}
