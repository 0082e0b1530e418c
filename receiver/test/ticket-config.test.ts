// Config of the ticket channels (jira, servicenow, github): defaults, secrets from env/files only,
// and errors that name the key, the value and what was expected.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../src/config.js';

const ENV = { JIRA_TOKEN: 'jira-tok', JIRA_PAT: 'pat-1', SN_PASS: 'sn-pw', GH_TOKEN: 'ghp_x' };

function parse(channel: Record<string, unknown>, secrets = true) {
  return parseConfig(
    { channels: [{ name: 'tickets', ...channel }], default_channels: ['tickets'] },
    '/etc/r.yaml',
    {
      secrets,
      env: ENV,
    },
  );
}
function error(channel: Record<string, unknown>): string {
  try {
    parse(channel);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('the config was accepted');
}

const JIRA = {
  type: 'jira',
  url: 'https://acme.atlassian.net/',
  project: 'LIC',
  email: 'bot@acme.com',
  api_token_env: 'JIRA_TOKEN',
};

describe('ticket channel config', () => {
  it('jira: defaults of the lifecycle and the Cloud credentials', () => {
    const [jira] = parse(JIRA).channels;
    expect(jira).toMatchObject({
      type: 'jira',
      url: 'https://acme.atlassian.net',
      api: 'auto',
      issueType: 'Task',
      email: 'bot@acme.com',
      apiToken: 'jira-tok',
      resolveTransition: 'Done',
      reopenTransition: 'To Do',
      wontFixResolution: "Won't Do",
      reopenWindowMs: 7 * 86_400_000,
      reminderComments: false,
      searchLagMs: 60_000,
      priority: { critical: 'Highest', warning: 'High' },
    });
  });

  it('jira: Data Center with a personal access token; no secret is read for render', () => {
    const dc = {
      type: 'jira',
      url: 'https://jira.acme.com',
      project: 'LIC',
      api: 'datacenter',
      personal_access_token_env: 'JIRA_PAT',
    };
    expect(parse(dc).channels[0]).toMatchObject({ api: 'datacenter', personalAccessToken: 'pat-1' });
    expect(parse(dc, false).channels[0]).not.toHaveProperty('personalAccessToken');
  });

  it.each([
    [
      { ...JIRA, project: 'lic' },
      'channels[0].project: "lic" is not valid: expected a Jira project key such as LIC',
    ],
    [
      { ...JIRA, api: 'server' },
      'channels[0].api: "server" is not valid: expected cloud, datacenter or auto',
    ],
    [
      { ...JIRA, api_token_env: 'NOPE' },
      'channels[0].api_token_env: "NOPE" is not valid: expected the name of an environment variable that is set (this one is not)',
    ],
    [
      { ...JIRA, api_token_file: '/x' },
      'channels[0].api_token_file: "/x" is not valid: expected only one of channels[0].api_token_env and channels[0].api_token_file',
    ],
    [
      { ...JIRA, personal_access_token_env: 'JIRA_PAT' },
      'channels[0]: "tickets" is not valid: expected a Jira channel with either email and api_token_env',
    ],
    [{ ...JIRA, email: undefined }, 'channels[0].email: missing: expected the email address'],
    [
      { ...JIRA, labels: ['two words'] },
      'channels[0].labels[0]: "two words" is not valid: expected a label without spaces',
    ],
    [
      { ...JIRA, reopen_window: 'a week' },
      'channels[0].reopen_window: "a week" is not valid: expected a Prometheus duration',
    ],
    [
      { ...JIRA, priority: { urgent: 'High' } },
      'channels[0].priority: {"urgent":"High"} is not valid: expected a map from severity',
    ],
    [
      { ...JIRA, token: 'inline' },
      'channels[0].token: the value given (not shown: it may be a secret) is not valid: unknown key',
    ],
  ])('jira error %#', (channel, message) => {
    expect(error(channel)).toContain(`/etc/r.yaml: ${message}`);
  });

  it('servicenow: basic auth, severity maps and the close code', () => {
    const [sn] = parse({
      type: 'servicenow',
      url: 'https://acme.service-now.com',
      username: 'svc',
      password_env: 'SN_PASS',
    }).channels;
    expect(sn).toMatchObject({
      username: 'svc',
      password: 'sn-pw',
      resolveState: '6',
      reopenState: '2',
      closeCode: 'Solved (Permanently)',
      urgency: { critical: '1' },
    });
    expect(
      error({
        type: 'servicenow',
        url: 'https://acme.service-now.com',
        token_env: 'SN_PASS',
        urgency: { warning: '4' },
      }),
    ).toContain('channels[0].urgency.warning: "4" is not valid: expected "1", "2" or "3"');
    expect(
      error({
        type: 'servicenow',
        url: 'https://acme.service-now.com',
        username: 'svc',
        password_env: 'SN_PASS',
        token_env: 'SN_PASS',
      }),
    ).toContain(
      'expected a ServiceNow channel with either username and password_env/password_file, or token_env/token_file',
    );
  });

  it('github: repository, token and the rate limit within GitHub content limits', () => {
    const [gh] = parse({ type: 'github', repository: 'acme/licences', token_env: 'GH_TOKEN' }).channels;
    expect(gh).toMatchObject({
      owner: 'acme',
      repo: 'licences',
      token: 'ghp_x',
      apiUrl: 'https://api.github.com',
      labels: ['alert'],
    });
    expect((gh as { rateLimit: { perSecond: number } }).rateLimit.perSecond * 60).toBeLessThanOrEqual(80 / 3);
    expect(error({ type: 'github', repository: 'acme', token_env: 'GH_TOKEN' })).toContain(
      'channels[0].repository: "acme" is not valid: expected OWNER/REPOSITORY',
    );
    expect(error({ type: 'github', repository: 'acme/x' })).toContain('channels[0].token_env: missing');
  });

  it('an unknown type lists every type', () => {
    expect(error({ type: 'pagerduty' })).toContain(
      'expected one of slack, email, console, jira, servicenow, github, webhook',
    );
  });
});
