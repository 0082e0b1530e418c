// The receiver's YAML config (snake_case keys, like Alertmanager's) → a checked configuration. One
// schema; an error names the key, the value and what was expected, and the program exits before
// serving anything. Relative paths are relative to the config file. Secrets come from files or
// environment variables and are read only when asked (render needs none).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import * as yaml from 'js-yaml';
import { z } from 'zod';
import { formatPath } from './alertmanager.js';
import type { RateLimit } from './channels/channel.js';
import type { SmtpSettings } from './channels/email/index.js';
import { buildGitHubSettings, type GitHubChannelSettings, githubSchema } from './channels/github/config.js';
import { buildJiraSettings, type JiraChannelSettings, jiraSchema } from './channels/jira/config.js';
import {
  buildServiceNowSettings,
  type ServiceNowChannelSettings,
  servicenowSchema,
} from './channels/servicenow/config.js';
import {
  buildWebhookSettings,
  type WebhookChannelSettings,
  webhookSchema,
} from './channels/webhook/config.js';
import type { BackoffPolicy } from './outbox/backoff.js';
import { IDENTITY_PLACEHOLDER } from './outbox/idempotency.js';
import { MatcherError, parseMatcher, type Route } from './routing.js';
import {
  address,
  bool,
  ConfigError,
  duration,
  envName,
  fail,
  leaf,
  list,
  path,
  positiveDuration,
  rateLimit,
  type SecretEnv,
  type SecretFile,
  type Secrets,
  show,
  text,
  toRateLimit,
  whole,
} from './schema.js';
import { BYTES_EXPECTED, parseBytes } from './units.js';

export { ConfigError } from './schema.js';

export interface SlackChannelSettings {
  type: 'slack';
  name: string;
  mode: 'api' | 'webhook';
  channel?: string;
  apiUrl: string;
  token?: string;
  webhookUrl?: string;
  mentions: Record<string, string>;
  maxAlerts: number;
  rateLimit: RateLimit;
  timeoutMs: number;
}

export interface EmailChannelSettings {
  type: 'email';
  name: string;
  smtp: SmtpSettings;
  from: string;
  to: string[];
  cc: string[];
  maxAlerts: number;
  rateLimit: RateLimit;
}

export interface ConsoleChannelSettings {
  type: 'console';
  name: string;
  maxAlerts: number;
}

export type ChannelSettings =
  | SlackChannelSettings
  | EmailChannelSettings
  | ConsoleChannelSettings
  | JiraChannelSettings
  | ServiceNowChannelSettings
  | GitHubChannelSettings
  | WebhookChannelSettings;

export interface ReceiverConfig {
  file: string;
  listen: { host: string; port: number };
  tls?: { certFile: string; keyFile: string; clientCaFile?: string };
  auth?: { bearerToken?: string; basic?: { username: string; password?: string } };
  limits: { maxBodyBytes: number; requestTimeoutMs: number };
  store: { path: string; synchronous: 'full' | 'normal' };
  runbooksDir?: string;
  clusterLabel: string;
  alertmanagerUrl?: string;
  groupIdentityTemplate?: string;
  dedupeWindowMs: number;
  delivery: {
    pollIntervalMs: number;
    backoff: BackoffPolicy;
    maxAgeMs: number;
    shutdownTimeoutMs: number;
    retentionMs: number;
  };
  channels: ChannelSettings[];
  routes: Route[];
  defaultChannels: string[];
  logLevel: string;
}

const slackSchema = z.strictObject({
  name: text('a channel name'),
  type: z.literal('slack'),
  token_env: envName().optional(),
  token_file: path().optional(),
  channel: text('the Slack channel to post to, such as "#platform-alerts" or C0123456789').optional(),
  api_url: leaf(z.url({ protocol: /^https?$/ }), 'an http(s) URL such as https://slack.com/api/').default(
    'https://slack.com/api/',
  ),
  webhook_url_env: envName().optional(),
  webhook_url_file: path().optional(),
  mentions: leaf(
    z.partialRecord(z.enum(['critical', 'error', 'warning', 'info']), z.string()),
    'a map from severity (critical, error, warning, info) to a Slack mention such as "<!subteam^S0123ABCD>"',
  ).default({}),
  max_alerts: whole(1, 40).default(10),
  rate_limit: rateLimit().default({ per_second: 1, burst: 3 }),
  timeout: positiveDuration().default(10_000),
});

const emailSchema = z.strictObject({
  name: text('a channel name'),
  type: z.literal('email'),
  smtp: z.strictObject(
    {
      host: text('an SMTP host name'),
      port: whole(1, 65_535).default(587),
      require_tls: bool().default(true),
      force_implicit_tls: bool().optional(),
      username: text('an SMTP user name').optional(),
      username_env: envName().optional(),
      password_env: envName().optional(),
      password_file: path().optional(),
      hello: text('a host name for EHLO').optional(),
      ca_file: path().optional(),
      server_name: text('a TLS server name').optional(),
      insecure_skip_verify: bool().default(false),
      max_connections: whole(1, 50).default(3),
      timeout: positiveDuration().default(10_000),
    },
    { error: 'expected an object with host, port, require_tls…' },
  ),
  from: address(),
  to: list(address(), 'a list of email addresses').min(1, { error: 'expected at least one address' }),
  cc: list(address(), 'a list of email addresses').default([]),
  max_alerts: whole(1, 500).default(50),
  rate_limit: rateLimit().default({ per_second: 5, burst: 10 }),
});

const consoleSchema = z.strictObject({
  name: text('a channel name'),
  type: z.literal('console'),
  max_alerts: whole(1, 500).default(20),
});

const CHANNEL_TYPES = ['slack', 'email', 'console', 'jira', 'servicenow', 'github', 'webhook'] as const;
const channelSchema = z.discriminatedUnion(
  'type',
  [slackSchema, emailSchema, consoleSchema, jiraSchema, servicenowSchema, githubSchema, webhookSchema],
  {
    error: (issue) =>
      issue.code === 'invalid_union' && (issue as { note?: string }).note === 'No matching discriminator'
        ? `expected one of ${CHANNEL_TYPES.join(', ')}`
        : undefined,
  },
);

const routeSchema = z.strictObject({
  matchers: list(
    leaf(z.string(), 'a matcher string such as alertname="X"'),
    'a list of matcher strings',
  ).default([]),
  receiver: text('an Alertmanager receiver name').optional(),
  channels: list(text('a channel name'), 'a list of channel names').min(1, {
    error: 'expected at least one channel name',
  }),
  continue: bool().default(false),
});

const configSchema = z.strictObject(
  {
    listen: leaf(z.string().regex(/^(\[[^\]]+\]|[^:]*):\d+$/), 'HOST:PORT, such as 127.0.0.1:9095').default(
      '127.0.0.1:9095',
    ),
    tls: z
      .strictObject({ cert_file: path(), key_file: path(), client_ca_file: path().optional() })
      .optional(),
    auth: z
      .strictObject({
        bearer_token_file: path().optional(),
        bearer_token_env: envName().optional(),
        basic_auth: z
          .strictObject({
            username: text('a user name'),
            password_file: path().optional(),
            password_env: envName().optional(),
          })
          .optional(),
      })
      .optional(),
    limits: z
      .strictObject({
        max_body_size: leaf(
          z
            .union([z.number(), z.string()])
            .transform((v) => parseBytes(v) ?? -1)
            .pipe(z.number().min(1024)),
          `${BYTES_EXPECTED}, at least 1KiB`,
        ).default(1024 * 1024),
        request_timeout: positiveDuration().default(10_000),
      })
      .default({ max_body_size: 1024 * 1024, request_timeout: 10_000 }),
    store: z
      .strictObject({
        path: path().default('./data/receiver.db'),
        synchronous: leaf(
          z.enum(['full', 'normal']),
          '"full" (survives power loss) or "normal" (survives a crash)',
        ).default('full'),
      })
      .default({ path: './data/receiver.db', synchronous: 'full' }),
    runbooks_dir: path().optional(),
    cluster_label: text('a label name').default('cluster'),
    alertmanager_url: leaf(z.url({ protocol: /^https?$/ }), 'an http(s) URL').optional(),
    group_identity_template: leaf(
      z.string().regex(IDENTITY_PLACEHOLDER),
      'a template using {{receiver}}, {{groupLabels.NAME}}, {{commonLabels.NAME}} or {{groupKey}}',
    ).optional(),
    dedupe_window: duration().default(120_000),
    delivery: z
      .strictObject({
        poll_interval: positiveDuration().default(1000),
        backoff: z
          .strictObject({
            initial: positiveDuration().default(1000),
            max: positiveDuration().default(300_000),
            factor: leaf(z.number().min(1), 'a number ≥ 1').default(2),
            jitter: leaf(z.number().min(0).max(1), 'a number from 0 to 1').default(0.5),
          })
          .default({ initial: 1000, max: 300_000, factor: 2, jitter: 0.5 }),
        max_age: positiveDuration().default(86_400_000),
        shutdown_timeout: duration().default(10_000),
        retention: positiveDuration().default(7 * 86_400_000),
      })
      .default({
        poll_interval: 1000,
        backoff: { initial: 1000, max: 300_000, factor: 2, jitter: 0.5 },
        max_age: 86_400_000,
        shutdown_timeout: 10_000,
        retention: 7 * 86_400_000,
      }),
    channels: list(channelSchema, 'a list of channels').min(1, { error: 'expected at least one channel' }),
    routes: list(routeSchema, 'a list of routes').default([]),
    default_channels: list(text('a channel name'), 'a list of channel names').default([]),
    log_level: leaf(
      z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']),
      'trace, debug, info, warn or error',
    ).default('info'),
  },
  { error: 'expected a YAML mapping at the top level' },
);

type RawConfig = z.output<typeof configSchema>;

// ---------------------------------------------------------------------------------------------------

export interface LoadOptions {
  /** Read tokens and passwords from their files and environment variables (serve, check-config, test-send). */
  secrets: boolean;
  env?: NodeJS.ProcessEnv;
}

export function loadConfig(file: string, options: LoadOptions): ReceiverConfig {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `${file}: cannot read the config file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  let document: unknown;
  try {
    document = yaml.load(source);
  } catch (err) {
    throw new ConfigError(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  return parseConfig(document, file, options);
}

export function parseConfig(document: unknown, file: string, options: LoadOptions): ReceiverConfig {
  const result = configSchema.safeParse(document ?? {});
  if (!result.success) {
    const issue = result.error.issues[0] as z.core.$ZodIssue;
    throw new ConfigError(`${file}: ${describeIssue(issue, document)}`);
  }
  return build(result.data, file, options);
}

function valueAt(document: unknown, path: readonly PropertyKey[]): unknown {
  let value = document;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function describeIssue(issue: z.core.$ZodIssue, document: unknown): string {
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] as string;
    const at = formatPath([...issue.path, key]);
    return `${at}: ${show(valueAt(document, [...issue.path, key]))} is not valid: unknown key (keys are snake_case, see receiver/README.md)`;
  }
  const at = formatPath(issue.path) || '(top level)';
  const value = valueAt(document, issue.path);
  if (value === undefined || issue.message.startsWith('missing:'))
    return `${at}: missing: ${issue.message.replace(/^missing: /, '').replace(/^Invalid input: /, '')}`;
  let message = issue.message;
  if (issue.code === 'invalid_value' && issue.path.at(-1) === 'type')
    message = `expected one of ${CHANNEL_TYPES.join(', ')}`;
  if (message.startsWith('Invalid input')) message = message.replace(/^Invalid input: /, '');
  return `${at}: ${show(value)} is not valid: ${message}`;
}

function build(raw: RawConfig, file: string, options: LoadOptions): ReceiverConfig {
  const base = dirname(resolve(file));
  const at = (p: string) => resolve(base, p);
  const env = options.env ?? process.env;
  const prefixed = (fn: () => ReceiverConfig): ReceiverConfig => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof ConfigError && !err.message.startsWith(`${file}:`))
        throw new ConfigError(`${file}: ${err.message}`);
      throw err;
    }
  };

  const secretFromEnv = (key: string, name: string | undefined): string | undefined => {
    if (name === undefined || !options.secrets) return undefined;
    const value = env[name];
    if (!value) fail(key, name, `the name of an environment variable that is set (${name} is not)`);
    return value;
  };
  const secretFromFile = (key: string, p: string | undefined): string | undefined => {
    if (p === undefined || !options.secrets) return undefined;
    const full = at(p);
    let content: string;
    try {
      content = readFileSync(full, 'utf8');
    } catch {
      fail(key, p, 'a path to a readable file holding the secret');
    }
    const value = content.replace(/\r?\n$/, '');
    if (!value) fail(key, p, 'a file that is not empty');
    return value;
  };
  const secrets: Secrets = { fromEnv: secretFromEnv, fromFile: secretFromFile, read: options.secrets };
  const existing = (key: string, p: string): string => {
    const full = at(p);
    if (!existsSync(full) || !statSync(full).isFile()) fail(key, p, 'a path to an existing file');
    return full;
  };

  return prefixed(() => {
    const [, hostPart = '', portPart = '0'] = /^(\[[^\]]+\]|[^:]*):(\d+)$/.exec(raw.listen) ?? [];
    const port = Number(portPart);
    if (port > 65_535) fail('listen', raw.listen, 'HOST:PORT with a port from 0 to 65535');

    const config: ReceiverConfig = {
      file: resolve(file),
      listen: { host: hostPart.replace(/^\[|\]$/g, '') || '0.0.0.0', port },
      limits: { maxBodyBytes: raw.limits.max_body_size, requestTimeoutMs: raw.limits.request_timeout },
      store: {
        path: raw.store.path === ':memory:' ? ':memory:' : at(raw.store.path),
        synchronous: raw.store.synchronous,
      },
      clusterLabel: raw.cluster_label,
      dedupeWindowMs: raw.dedupe_window,
      delivery: {
        pollIntervalMs: raw.delivery.poll_interval,
        backoff: {
          initialMs: raw.delivery.backoff.initial,
          maxMs: raw.delivery.backoff.max,
          factor: raw.delivery.backoff.factor,
          jitter: raw.delivery.backoff.jitter,
        },
        maxAgeMs: raw.delivery.max_age,
        shutdownTimeoutMs: raw.delivery.shutdown_timeout,
        retentionMs: raw.delivery.retention,
      },
      channels: [],
      routes: [],
      defaultChannels: raw.default_channels,
      logLevel: raw.log_level,
    };
    if (raw.runbooks_dir !== undefined) {
      const dir = at(raw.runbooks_dir);
      if (!existsSync(dir) || !statSync(dir).isDirectory())
        fail('runbooks_dir', raw.runbooks_dir, 'a path to an existing folder of <AlertName>.md runbooks');
      config.runbooksDir = dir;
    }
    if (raw.alertmanager_url !== undefined) config.alertmanagerUrl = raw.alertmanager_url;
    if (raw.group_identity_template !== undefined) config.groupIdentityTemplate = raw.group_identity_template;
    if (raw.tls) {
      config.tls = {
        certFile: existing('tls.cert_file', raw.tls.cert_file),
        keyFile: existing('tls.key_file', raw.tls.key_file),
      };
      if (raw.tls.client_ca_file !== undefined)
        config.tls.clientCaFile = existing('tls.client_ca_file', raw.tls.client_ca_file);
    }
    if (raw.auth) config.auth = buildAuth(raw.auth, secretFromEnv, secretFromFile);

    const names = new Set<string>();
    raw.channels.forEach((channel, i) => {
      const key = `channels[${i}]`;
      if (names.has(channel.name)) fail(`${key}.name`, channel.name, 'a name used by no other channel');
      names.add(channel.name);
      config.channels.push(buildChannel(channel, key, secrets, existing));
    });
    const known = `one of the channel names (${[...names].join(', ')})`;
    raw.routes.forEach((r, i) => {
      const matchers = r.matchers.map((m, j) => {
        try {
          return parseMatcher(m);
        } catch (err) {
          if (err instanceof MatcherError)
            throw new ConfigError(`routes[${i}].matchers[${j}]: ${show(m)} is not valid: ${err.message}`);
          throw err;
        }
      });
      r.channels.forEach((c, j) => {
        if (!names.has(c)) fail(`routes[${i}].channels[${j}]`, c, known);
      });
      const route: Route = { matchers, channels: r.channels, continue: r.continue };
      if (r.receiver !== undefined) route.receiver = r.receiver;
      config.routes.push(route);
    });
    raw.default_channels.forEach((c, j) => {
      if (!names.has(c)) fail(`default_channels[${j}]`, c, known);
    });
    if (config.routes.length === 0 && config.defaultChannels.length === 0)
      throw new ConfigError(
        'routes / default_channels: missing: expected at least one route or a default channel, or no alert goes anywhere',
      );
    return config;
  });
}

function buildAuth(
  raw: NonNullable<RawConfig['auth']>,
  fromEnv: SecretEnv,
  fromFile: SecretFile,
): ReceiverConfig['auth'] {
  const bearer = raw.bearer_token_file !== undefined || raw.bearer_token_env !== undefined;
  if (bearer === (raw.basic_auth !== undefined))
    fail('auth', raw, 'exactly one of bearer_token_file / bearer_token_env, or basic_auth');
  if (raw.bearer_token_file !== undefined && raw.bearer_token_env !== undefined)
    fail('auth.bearer_token_env', raw.bearer_token_env, 'only one of bearer_token_file and bearer_token_env');
  if (bearer) {
    const token =
      fromFile('auth.bearer_token_file', raw.bearer_token_file) ??
      fromEnv('auth.bearer_token_env', raw.bearer_token_env);
    return token === undefined ? { bearerToken: '' } : { bearerToken: token };
  }
  const basic = raw.basic_auth as NonNullable<typeof raw.basic_auth>;
  if ((basic.password_file === undefined) === (basic.password_env === undefined))
    fail('auth.basic_auth', basic, 'exactly one of password_file and password_env');
  const password =
    fromFile('auth.basic_auth.password_file', basic.password_file) ??
    fromEnv('auth.basic_auth.password_env', basic.password_env);
  return {
    basic: password === undefined ? { username: basic.username } : { username: basic.username, password },
  };
}

function buildChannel(
  raw: RawConfig['channels'][number],
  key: string,
  secrets: Secrets,
  existing: (key: string, p: string) => string,
): ChannelSettings {
  const { fromEnv, fromFile } = secrets;
  const limit = toRateLimit;
  switch (raw.type) {
    case 'slack': {
      const api = raw.token_env !== undefined || raw.token_file !== undefined;
      const hook = raw.webhook_url_env !== undefined || raw.webhook_url_file !== undefined;
      if (api === hook)
        fail(
          key,
          raw.name,
          'a Slack channel with either a bot token (token_env or token_file, and channel) or an incoming webhook (webhook_url_env or webhook_url_file)',
        );
      if (raw.token_env !== undefined && raw.token_file !== undefined)
        fail(`${key}.token_file`, raw.token_file, 'only one of token_env and token_file');
      if (raw.webhook_url_env !== undefined && raw.webhook_url_file !== undefined)
        fail(
          `${key}.webhook_url_file`,
          raw.webhook_url_file,
          'only one of webhook_url_env and webhook_url_file',
        );
      if (api && raw.channel === undefined)
        fail(`${key}.channel`, undefined, 'the Slack channel to post to, such as "#platform-alerts"');
      if (hook && raw.channel !== undefined)
        fail(
          `${key}.channel`,
          raw.channel,
          'no channel with an incoming webhook (the webhook URL decides the channel)',
        );
      const settings: SlackChannelSettings = {
        type: 'slack',
        name: raw.name,
        mode: api ? 'api' : 'webhook',
        apiUrl: raw.api_url,
        mentions: raw.mentions,
        maxAlerts: raw.max_alerts,
        rateLimit: limit(raw.rate_limit),
        timeoutMs: raw.timeout,
      };
      if (raw.channel !== undefined) settings.channel = raw.channel;
      const token =
        fromFile(`${key}.token_file`, raw.token_file) ?? fromEnv(`${key}.token_env`, raw.token_env);
      if (token !== undefined) settings.token = token;
      const url =
        fromFile(`${key}.webhook_url_file`, raw.webhook_url_file) ??
        fromEnv(`${key}.webhook_url_env`, raw.webhook_url_env);
      if (url !== undefined) {
        if (!/^https?:\/\//.test(url))
          fail(
            raw.webhook_url_env !== undefined ? `${key}.webhook_url_env` : `${key}.webhook_url_file`,
            raw.webhook_url_env ?? raw.webhook_url_file,
            'a secret holding an http(s) URL',
          );
        settings.webhookUrl = url;
      }
      return settings;
    }
    case 'email': {
      const s = raw.smtp;
      if (s.username !== undefined && s.username_env !== undefined)
        fail(`${key}.smtp.username_env`, s.username_env, 'only one of username and username_env');
      if (s.password_env !== undefined && s.password_file !== undefined)
        fail(`${key}.smtp.password_file`, s.password_file, 'only one of password_env and password_file');
      const hasUser = s.username !== undefined || s.username_env !== undefined;
      const hasPassword = s.password_env !== undefined || s.password_file !== undefined;
      if (hasUser !== hasPassword)
        fail(
          `${key}.smtp`,
          { username: s.username ?? s.username_env, password: s.password_env ?? s.password_file },
          'both a user name and a password for SMTP authentication, or neither',
        );
      const implicitTls = s.force_implicit_tls ?? s.port === 465;
      const smtp: EmailChannelSettings['smtp'] = {
        host: s.host,
        port: s.port,
        requireTls: s.require_tls,
        implicitTls,
        insecureSkipVerify: s.insecure_skip_verify,
        maxConnections: s.max_connections,
        timeoutMs: s.timeout,
      };
      const username = s.username ?? fromEnv(`${key}.smtp.username_env`, s.username_env);
      if (username !== undefined) smtp.username = username;
      const password =
        fromFile(`${key}.smtp.password_file`, s.password_file) ??
        fromEnv(`${key}.smtp.password_env`, s.password_env);
      if (password !== undefined) smtp.password = password;
      if (s.hello !== undefined) smtp.hello = s.hello;
      if (s.server_name !== undefined) smtp.serverName = s.server_name;
      if (s.ca_file !== undefined) smtp.ca = readFileSync(existing(`${key}.smtp.ca_file`, s.ca_file), 'utf8');
      return {
        type: 'email',
        name: raw.name,
        smtp,
        from: raw.from,
        to: raw.to,
        cc: raw.cc,
        maxAlerts: raw.max_alerts,
        rateLimit: limit(raw.rate_limit),
      };
    }
    case 'console':
      return { type: 'console', name: raw.name, maxAlerts: raw.max_alerts };
    case 'jira':
      return buildJiraSettings(raw, key, secrets);
    case 'servicenow':
      return buildServiceNowSettings(raw, key, secrets);
    case 'github':
      return buildGitHubSettings(raw, key, secrets);
    case 'webhook':
      return buildWebhookSettings(raw, key, secrets);
  }
}
