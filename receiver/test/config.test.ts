import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

const EXAMPLE = new URL('../examples/receiver.yaml', import.meta.url).pathname;
const ENV = { SLACK_BOT_TOKEN: 'xoxb-1', SMTP_USER: 'alerts', SMTP_PASS: 'secret' };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lm-config-'));
  writeFileSync(join(dir, 'token'), 's3cret\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function load(text: string, env: NodeJS.ProcessEnv = ENV, secrets = true) {
  const file = join(dir, 'receiver.yaml');
  writeFileSync(file, text);
  return loadConfig(file, { secrets, env });
}

const MINIMAL = `
channels:
  - { name: out, type: console }
default_channels: [out]
`;

describe('config', () => {
  it('reads the example from the issue (secrets from files and environment)', () => {
    const text = `${require('node:fs').readFileSync(EXAMPLE, 'utf8')}`.replace(
      '/run/secrets/webhook-token',
      join(dir, 'token'),
    );
    const config = load(text.replace('runbooks_dir: ../../rules/runbooks\n', ''));
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 9095 });
    expect(config.auth).toEqual({ bearerToken: 's3cret' });
    expect(config.store.path).toBe(join(dir, 'data/receiver.db')); // relative to the config file
    expect(config.channels[0]).toMatchObject({
      name: 'slack-ops',
      type: 'slack',
      mode: 'api',
      token: 'xoxb-1',
      channel: '#platform-alerts',
      apiUrl: 'https://slack.com/api/',
      rateLimit: { perSecond: 1, burst: 3 },
      maxAlerts: 10,
      mentions: { critical: '<!subteam^S0123ABCD>' },
    });
    expect(config.channels[1]).toMatchObject({
      type: 'email',
      smtp: {
        host: 'smtp.example.com',
        port: 587,
        requireTls: true,
        implicitTls: false,
        username: 'alerts',
        password: 'secret',
      },
      from: 'alerts@example.com',
      to: ['licensing@example.com'],
    });
    expect(config.routes[0]?.matchers.map((m) => m.text)).toEqual([
      'alertname=~"CalicoLicense.*"',
      'severity!="info"',
    ]);
    expect(config.defaultChannels).toEqual(['slack-ops']);
    expect(config.dedupeWindowMs).toBe(120_000);
    expect(config.delivery.maxAgeMs).toBe(86_400_000);
    expect(config.limits.maxBodyBytes).toBe(1024 * 1024);
  });

  it('reads the status page credentials and the Prometheus to ask, both off by default', () => {
    expect(load(MINIMAL)).toMatchObject({ ui: undefined, prometheus: undefined });
    const config = load(
      `ui: { basic_auth: { username: ops, password_file: token } }\nprometheus_url: http://prometheus:9090\nprometheus_timeout: 500ms\n${MINIMAL}`,
    );
    expect(config.ui).toEqual({ basicAuth: { username: 'ops', password: 's3cret' } });
    expect(config.prometheus).toEqual({ url: 'http://prometheus:9090', timeoutMs: 500 });
  });

  it('reads no secret for render', () => {
    const config = load(
      `channels: [{ name: s, type: slack, token_env: NOT_SET, channel: "#c" }]\ndefault_channels: [s]\n`,
      {},
      false,
    );
    expect(config.channels[0]).toMatchObject({ mode: 'api', channel: '#c' });
    expect((config.channels[0] as { token?: string }).token).toBeUndefined();
  });

  it('takes durations, sizes and implicit TLS on port 465', () => {
    const config = load(`
limits: { max_body_size: 512KiB }
dedupe_window: 90s
delivery: { poll_interval: 50ms, backoff: { initial: 100ms, max: 2s }, max_age: 1h30m }
channels:
  - name: m
    type: email
    smtp: { host: smtp.example.com, port: 465 }
    from: "Alerts <alerts@example.com>"
    to: [a@example.com]
default_channels: [m]
`);
    expect(config.limits.maxBodyBytes).toBe(512 * 1024);
    expect(config.dedupeWindowMs).toBe(90_000);
    expect(config.delivery).toMatchObject({
      pollIntervalMs: 50,
      maxAgeMs: 5_400_000,
      backoff: { initialMs: 100, maxMs: 2000, factor: 2 },
    });
    expect(config.channels[0]).toMatchObject({ smtp: { implicitTls: true, requireTls: true } });
  });

  it.each([
    [
      `listen: localhost\n${MINIMAL}`,
      'listen: "localhost" is not valid: expected HOST:PORT, such as 127.0.0.1:9095',
    ],
    [
      `listen: 1.2.3.4:99999\n${MINIMAL}`,
      'listen: "1.2.3.4:99999" is not valid: expected HOST:PORT with a port from 0 to 65535',
    ],
    [
      `dedupe_window: soon\n${MINIMAL}`,
      'dedupe_window: "soon" is not valid: expected a Prometheus duration such as',
    ],
    [
      `limits: { max_body_size: 1 GB }\n${MINIMAL}`,
      'limits.max_body_size: "1 GB" is not valid: expected a size in bytes',
    ],
    [`chanels: []\n${MINIMAL}`, 'chanels: [] is not valid: unknown key'],
    ['channels: []\n', 'channels: [] is not valid: expected at least one channel'],
    ['default_channels: [out]\n', 'channels: missing: expected a list of channels'],
    [
      'channels: [{ name: x, type: pager }]\n',
      'channels[0].type: "pager" is not valid: expected one of slack, email, console',
    ],
    [
      'channels: [{ name: x, type: console, maxAlerts: 3 }]\n',
      'channels[0].maxAlerts: 3 is not valid: unknown key',
    ],
    [
      'channels: [{ name: x, type: console, max_alerts: 0 }]\ndefault_channels: [x]\n',
      'channels[0].max_alerts: 0 is not valid: expected a whole number from 1 to 500',
    ],
    [
      'channels: [{ name: s, type: slack, channel: "#c" }]\ndefault_channels: [s]\n',
      'channels[0]: "s" is not valid: expected a Slack channel with either a bot token',
    ],
    [
      'channels: [{ name: s, type: slack, token_env: SLACK_BOT_TOKEN }]\ndefault_channels: [s]\n',
      'channels[0].channel: missing: expected the Slack channel to post to',
    ],
    [
      'channels: [{ name: s, type: slack, token_env: NOPE, channel: "#c" }]\ndefault_channels: [s]\n',
      'channels[0].token_env: "NOPE" is not valid: expected the name of an environment variable that is set (this one is not)',
    ],
    [
      'channels: [{ name: s, type: slack, token_env: bad-name, channel: "#c" }]\ndefault_channels: [s]\n',
      // Not written as variable names are: it may be a token pasted in, so it is not shown.
      'channels[0].token_env: the value given (not shown: it may be a secret) is not valid: expected the name of an environment variable',
    ],
    [
      'channels: [{ name: s, type: slack, token_file: missing.txt, channel: "#c" }]\ndefault_channels: [s]\n',
      'channels[0].token_file: "missing.txt" is not valid: expected a path to a readable file',
    ],
    [
      'channels: [{ name: s, type: slack, token_env: SLACK_BOT_TOKEN, channel: "#c", api_url: "ftp://x" }]\ndefault_channels: [s]\n',
      'channels[0].api_url: "ftp://x" is not valid: expected an http(s) URL',
    ],
    [
      'channels: [{ name: s, type: slack, token_env: SLACK_BOT_TOKEN, channel: "#c", mentions: { urgent: "<!here>" } }]\ndefault_channels: [s]\n',
      'channels[0].mentions: {"urgent":"<!here>"} is not valid: expected a map from severity',
    ],
    [
      'channels: [{ name: m, type: email, smtp: { host: h, port: "25" }, from: a@b.c, to: [x@y.z] }]\ndefault_channels: [m]\n',
      'channels[0].smtp.port: "25" is not valid: expected a whole number from 1 to 65535',
    ],
    [
      'channels: [{ name: m, type: email, smtp: { host: h }, from: nobody, to: [x@y.z] }]\ndefault_channels: [m]\n',
      'channels[0].from: "nobody" is not valid: expected an email address',
    ],
    [
      'channels: [{ name: m, type: email, smtp: { host: h }, from: a@b.c, to: [] }]\ndefault_channels: [m]\n',
      'channels[0].to: [] is not valid: expected at least one address',
    ],
    [
      'channels: [{ name: m, type: email, smtp: { host: h, username: u }, from: a@b.c, to: [x@y.z] }]\ndefault_channels: [m]\n',
      'channels[0].smtp: {"username":"u"} is not valid: expected both a user name and a password',
    ],
    [
      `${MINIMAL}routes: [{ matchers: ["alertname=~\\"(\\""], channels: [out] }]\n`,
      'routes[0].matchers[0]: "alertname=~\\"(\\"" is not valid: invalid regular expression',
    ],
    [
      `${MINIMAL}routes: [{ matchers: [], channels: [nowhere] }]\n`,
      'routes[0].channels[0]: "nowhere" is not valid: expected one of the channel names (out)',
    ],
    [
      'channels: [{ name: out, type: console }]\n',
      'routes / default_channels: missing: expected at least one route or a default channel',
    ],
    [
      'channels: [{ name: out, type: console }, { name: out, type: console }]\ndefault_channels: [out]\n',
      'channels[1].name: "out" is not valid: expected a name used by no other channel',
    ],
    [
      `auth: { bearer_token_env: UNSET }\n${MINIMAL}`,
      'auth.bearer_token_env: "UNSET" is not valid: expected the name of an environment variable that is set',
    ],
    [
      `auth: {}\n${MINIMAL}`,
      'auth: {} is not valid: expected exactly one of bearer_token_file / bearer_token_env, or basic_auth',
    ],
    [
      `auth: { basic_auth: { username: am } }\n${MINIMAL}`,
      'auth.basic_auth: {"username":"am"} is not valid: expected exactly one of password_file and password_env',
    ],
    [`ui: {}\n${MINIMAL}`, 'ui.basic_auth: missing: expected object, received undefined'],
    [
      `ui: { basic_auth: { username: ops, password_env: UNSET } }\n${MINIMAL}`,
      'ui.basic_auth.password_env: "UNSET" is not valid: expected the name of an environment variable that is set',
    ],
    [
      `prometheus_url: prometheus:9090\n${MINIMAL}`,
      'prometheus_url: "prometheus:9090" is not valid: expected an http(s) URL',
    ],
    [
      `tls: { cert_file: no.pem, key_file: no.key }\n${MINIMAL}`,
      'tls.cert_file: "no.pem" is not valid: expected a path to an existing file',
    ],
    [
      `runbooks_dir: nowhere\n${MINIMAL}`,
      'runbooks_dir: "nowhere" is not valid: expected a path to an existing folder',
    ],
    [
      `group_identity_template: static\n${MINIMAL}`,
      'group_identity_template: "static" is not valid: expected a template using {{receiver}}',
    ],
    ['- just\n- a list\n', '(top level): ["just","a list"] is not valid: expected a YAML mapping'],
    ['a: [unclosed\n', 'not valid YAML'],
  ])('%j → %s', (text, message) => {
    let error: unknown;
    try {
      load(text);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(
      `receiver.yaml: ${message}`.replace('receiver.yaml: not valid', 'not valid'),
    );
  });
});
