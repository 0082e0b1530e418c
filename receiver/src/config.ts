// The receiver's YAML config (snake_case keys, like Alertmanager's) → a checked configuration. One
// schema; an error names the key, the value and what was expected, and the program exits before
// serving anything. Relative paths are relative to the config file. Secrets come from files or
// environment variables and are read only when asked (render needs none).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import * as yaml from 'js-yaml';
import { z } from 'zod';
import { formatPath } from './alertmanager.js';
import { CHANNEL_TYPES, CHANNELS, type ChannelSettings, descriptorOf } from './channels/index.js';
import { buildInteractivity, interactivitySchema, withSlackControls } from './interactions/config.js';
import { IDENTITY_PLACEHOLDER } from './outbox/idempotency.js';
import { DEFAULT_SCHEMA, type PostgresSsl, SCHEMA_NAME } from './outbox/postgres.js';
import { MatcherError, parseMatcher, type Route } from './routing.js';
import {
  authSchema,
  type BuildContext,
  basicAuthSchema,
  bool,
  buildAuth,
  buildBasic,
  ConfigError,
  duration,
  envName,
  fail,
  failSecret,
  leaf,
  list,
  path,
  positiveDuration,
  type Secrets,
  secretOf,
  show,
  text,
  whole,
} from './schema.js';
import { BYTES_EXPECTED, parseBytes } from './units.js';

export type { ChannelSettings } from './channels/index.js';
export { ConfigError } from './schema.js';

/** The config as the receiver uses it (camelCase, paths absolute, secrets read when asked). */
export type ReceiverConfig = ReturnType<typeof build>;

// Every channel's own schema, told apart by `type`.
const channelSchema = z.discriminatedUnion(
  'type',
  CHANNELS.map((c) => c.schema) as unknown as [
    z.ZodObject<{ type: z.ZodLiteral<string>; name: z.ZodType<string> }>,
  ],
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

const postgresSchema = z.strictObject({
  url_env: envName().optional(),
  url_file: path().optional(),
  schema: leaf(z.string().regex(SCHEMA_NAME), 'a schema name of lower-case letters, digits and _').default(
    DEFAULT_SCHEMA,
  ),
  pool_size: whole(1, 100).default(10),
  statement_timeout: positiveDuration().default(5000),
  connect_timeout: positiveDuration().default(5000),
  lease: positiveDuration().default(30_000),
  migrate: bool().default(true),
  ssl: z
    .strictObject({
      mode: leaf(
        z.enum(['disable', 'require', 'verify-ca', 'verify-full']),
        'disable, require, verify-ca or verify-full',
      ),
      ca_file: path().optional(),
      cert_file: path().optional(),
      key_file: path().optional(),
    })
    .optional(),
});

const configSchema = z.strictObject(
  {
    listen: leaf(z.string().regex(/^(\[[^\]]+\]|[^:]*):\d+$/), 'HOST:PORT, such as 127.0.0.1:9095').default(
      '127.0.0.1:9095',
    ),
    tls: z
      .strictObject({ cert_file: path(), key_file: path(), client_ca_file: path().optional() })
      .optional(),
    auth: authSchema.optional(),
    ui: z.strictObject({ basic_auth: basicAuthSchema }).optional(),
    slack_interactivity: interactivitySchema.optional(),
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
      .prefault({}),
    store: z
      .strictObject({
        path: path().optional(),
        synchronous: leaf(
          z.enum(['full', 'normal']),
          '"full" (survives power loss) or "normal" (survives a crash)',
        ).optional(),
        postgres: postgresSchema.optional(),
      })
      .prefault({}),
    runbooks_dir: path().optional(),
    cluster_label: text('a label name').default('cluster'),
    alertmanager_url: leaf(z.url({ protocol: /^https?$/ }), 'an http(s) URL').optional(),
    prometheus_url: leaf(z.url({ protocol: /^https?$/ }), 'an http(s) URL').optional(),
    prometheus_timeout: positiveDuration().default(2000),
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
          .prefault({}),
        max_age: positiveDuration().default(86_400_000),
        shutdown_timeout: duration().default(10_000),
        retention: positiveDuration().default(7 * 86_400_000),
      })
      .prefault({}),
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
  /** Read the store's secret (the PostgreSQL URL) even without the others (the outbox commands, migrate). */
  storeSecret?: boolean;
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
  try {
    return build(result.data, file, options);
  } catch (err) {
    if (err instanceof ConfigError && !err.message.startsWith(`${file}:`))
      throw new ConfigError(`${file}: ${err.message}`);
    throw err;
  }
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
    return `${at}: ${show(valueAt(document, [...issue.path, key]), at)} is not valid: unknown key (keys are snake_case, see receiver/README.md)`;
  }
  const at = formatPath(issue.path) || '(top level)';
  const value = valueAt(document, issue.path);
  if (value === undefined || issue.message.startsWith('missing:'))
    return `${at}: missing: ${issue.message.replace(/^missing: /, '').replace(/^Invalid input: /, '')}`;
  let message = issue.message;
  if (issue.code === 'invalid_value' && issue.path.at(-1) === 'type')
    message = `expected one of ${CHANNEL_TYPES.join(', ')}`;
  if (message.startsWith('Invalid input')) message = message.replace(/^Invalid input: /, '');
  return `${at}: ${show(value, at)} is not valid: ${message}`;
}

/** Reads secrets from environment variables and files (relative to the config file), when asked. */
function secretReader(base: string, options: LoadOptions): Secrets {
  const env = options.env ?? process.env;
  return {
    read: options.secrets,
    fromEnv: (key, name) => {
      if (name === undefined || !options.secrets) return undefined;
      const value = env[name];
      if (!value) fail(key, name, 'the name of an environment variable that is set (this one is not)');
      return value;
    },
    fromFile: (key, p) => {
      if (p === undefined || !options.secrets) return undefined;
      let content: string;
      try {
        content = readFileSync(resolve(base, p), 'utf8');
      } catch {
        fail(key, p, 'a path to a readable file holding the secret');
      }
      const value = content.replace(/\r?\n$/, '');
      if (!value) fail(key, p, 'a file that is not empty');
      return value;
    },
  };
}

function build(raw: RawConfig, file: string, options: LoadOptions) {
  const base = dirname(resolve(file));
  const at = (p: string) => resolve(base, p);
  const secrets = secretReader(base, options);
  const existingFile = (key: string, p: string): string => {
    const full = at(p);
    if (!existsSync(full) || !statSync(full).isFile()) fail(key, p, 'a path to an existing file');
    return full;
  };

  const [, hostPart = '', portPart = '0'] = /^(\[[^\]]+\]|[^:]*):(\d+)$/.exec(raw.listen) ?? [];
  const port = Number(portPart);
  if (port > 65_535) fail('listen', raw.listen, 'HOST:PORT with a port from 0 to 65535');
  let runbooksDir: string | undefined;
  if (raw.runbooks_dir !== undefined) {
    runbooksDir = at(raw.runbooks_dir);
    if (!existsSync(runbooksDir) || !statSync(runbooksDir).isDirectory())
      fail('runbooks_dir', raw.runbooks_dir, 'a path to an existing folder of <AlertName>.md runbooks');
  }
  const tls = raw.tls && {
    certFile: existingFile('tls.cert_file', raw.tls.cert_file),
    keyFile: existingFile('tls.key_file', raw.tls.key_file),
    clientCaFile:
      raw.tls.client_ca_file === undefined
        ? undefined
        : existingFile('tls.client_ca_file', raw.tls.client_ca_file),
  };

  const names = new Set<string>();
  const channels = raw.channels.map((channel, i): ChannelSettings => {
    const key = `channels[${i}]`;
    if (names.has(channel.name)) fail(`${key}.name`, channel.name, 'a name used by no other channel');
    names.add(channel.name);
    const ctx: BuildContext = { key, secrets, existingFile };
    return descriptorOf(channel.type).build(channel, ctx) as ChannelSettings;
  });
  const known = `one of the channel names (${[...names].join(', ')})`;
  const routes = raw.routes.map((r, i): Route => {
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
    return { matchers, channels: r.channels, continue: r.continue, receiver: r.receiver };
  });
  raw.default_channels.forEach((c, j) => {
    if (!names.has(c)) fail(`default_channels[${j}]`, c, known);
  });
  if (routes.length === 0 && raw.default_channels.length === 0)
    throw new ConfigError(
      'routes / default_channels: missing: expected at least one route or a default channel, or no alert goes anywhere',
    );

  const slackInteractivity = raw.slack_interactivity && buildInteractivity(raw.slack_interactivity, secrets);

  return {
    file: resolve(file),
    listen: { host: hostPart.replace(/^\[|\]$/g, '') || '0.0.0.0', port },
    tls,
    auth: raw.auth && buildAuth(raw.auth, secrets),
    /** The status page at / and /api/v1/outbox (off without `ui`), behind its own basic auth. */
    ui: raw.ui && { basicAuth: buildBasic(raw.ui.basic_auth, secrets, 'ui.basic_auth') },
    limits: { maxBodyBytes: raw.limits.max_body_size, requestTimeoutMs: raw.limits.request_timeout },
    store: buildStore(
      raw.store,
      at,
      existingFile,
      options.storeSecret ? secretReader(base, { ...options, secrets: true }) : secrets,
    ),
    runbooksDir,
    clusterLabel: raw.cluster_label,
    alertmanagerUrl: raw.alertmanager_url,
    /** Where resolved messages ask for the licence values now (off without `prometheus_url`). */
    prometheus:
      raw.prometheus_url === undefined
        ? undefined
        : { url: raw.prometheus_url, timeoutMs: raw.prometheus_timeout },
    groupIdentityTemplate: raw.group_identity_template,
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
    channels: withSlackControls(channels, slackInteractivity),
    /** Acknowledge and Snooze from Slack (receiver/src/interactions/); off without it. */
    slackInteractivity,
    routes,
    defaultChannels: raw.default_channels,
    logLevel: raw.log_level,
  };
}

/** Where the outbox is: the SQLite file (default), or PostgreSQL, never both. */
export type StoreConfig = SqliteStoreConfig | PostgresStoreConfig;

export interface SqliteStoreConfig {
  kind: 'sqlite';
  path: string;
  synchronous: 'full' | 'normal';
}

export interface PostgresStoreConfig {
  kind: 'postgres';
  /** postgres://…: undefined when secrets are not read (render, outbox commands without it). */
  url: string | undefined;
  schema: string;
  poolSize: number;
  statementTimeoutMs: number;
  connectTimeoutMs: number;
  leaseMs: number;
  migrate: boolean;
  ssl: PostgresSsl | undefined;
}

function buildStore(
  raw: RawConfig['store'],
  at: (p: string) => string,
  existingFile: (key: string, p: string) => string,
  secrets: Secrets,
): StoreConfig {
  const pgRaw = raw.postgres;
  if (!pgRaw)
    return {
      kind: 'sqlite',
      path: raw.path === ':memory:' ? ':memory:' : at(raw.path ?? './data/receiver.db'),
      synchronous: raw.synchronous ?? 'full',
    };
  if (raw.path !== undefined)
    fail('store.path', raw.path, 'either store.path (SQLite) or store.postgres, not both');
  if (raw.synchronous !== undefined)
    fail('store.synchronous', raw.synchronous, 'no store.synchronous with store.postgres (it is for SQLite)');
  const url = secretOf(secrets, 'store.postgres.url', { env: pgRaw.url_env, file: pgRaw.url_file }, true);
  if (url !== undefined && !/^postgres(ql)?:\/\/[^\s]+$/.test(url))
    failSecret(
      'store.postgres.url',
      { env: pgRaw.url_env, file: pgRaw.url_file },
      'a PostgreSQL URL such as postgres://user:password@host:5432/database',
    );
  const ssl = pgRaw.ssl && {
    mode: pgRaw.ssl.mode,
    caFile:
      pgRaw.ssl.ca_file === undefined
        ? undefined
        : existingFile('store.postgres.ssl.ca_file', pgRaw.ssl.ca_file),
    certFile:
      pgRaw.ssl.cert_file === undefined
        ? undefined
        : existingFile('store.postgres.ssl.cert_file', pgRaw.ssl.cert_file),
    keyFile:
      pgRaw.ssl.key_file === undefined
        ? undefined
        : existingFile('store.postgres.ssl.key_file', pgRaw.ssl.key_file),
  };
  if (ssl && (ssl.certFile === undefined) !== (ssl.keyFile === undefined))
    fail(
      'store.postgres.ssl',
      pgRaw.ssl,
      'cert_file and key_file together (a client certificate and its key)',
    );
  if (pgRaw.lease < 1000) fail('store.postgres.lease', `${pgRaw.lease}ms`, 'at least 1s');
  return {
    kind: 'postgres',
    url,
    schema: pgRaw.schema,
    poolSize: pgRaw.pool_size,
    statementTimeoutMs: pgRaw.statement_timeout,
    connectTimeoutMs: pgRaw.connect_timeout,
    leaseMs: pgRaw.lease,
    migrate: pgRaw.migrate,
    ssl,
  };
}
