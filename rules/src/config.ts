// thresholds.yaml (every default) + a partial override file → one checked configuration.
// Pure: takes YAML text, returns the configuration or throws ConfigError with one line per problem,
// each naming the key, the value found and what was expected.

import { DURATION_EXPECTED, POSITIVE_DURATION_EXPECTED, parseDurationSeconds } from '@license-monitor/common';
import * as yaml from 'js-yaml';
import { z } from 'zod';

export const ALERT_PREFIX = 'CalicoLicense';
export const RECEIVER_ALERT_PREFIX = 'LicenseReceiver';

/** The licence alerts (rule group `groupName`), in the order the rule file lists them. */
export const LICENCE_ALERT_NAMES = [
  'CalicoLicenseExpiringSoon',
  'CalicoLicenseExpiryCritical',
  'CalicoLicenseInGracePeriod',
  'CalicoLicenseExpired',
  'CalicoLicenseInvalid',
  'CalicoLicenseMissing',
  'CalicoLicenseNodesOverCapacity',
  'CalicoLicenseNodesNearCapacity',
  'CalicoLicenseNodesCapacityForecast',
  'CalicoLicenseCoresOverCapacity',
  'CalicoLicenseCoresNearCapacity',
  'CalicoLicenseCoresCapacityForecast',
  'CalicoLicenseAgentDown',
  'CalicoLicenseDataStale',
] as const;

/** The license-receiver's own alerts (rule group `licenseReceiver.groupName`). */
export const RECEIVER_ALERT_NAMES = [
  'LicenseReceiverDown',
  'LicenseReceiverDeadLetters',
  'LicenseReceiverNotificationsFailing',
  'LicenseReceiverOutboxBacklog',
] as const;

/** Every alert name. Fixed: receivers, runbooks and Alertmanager routes key on them. */
export const ALERT_NAMES = [...LICENCE_ALERT_NAMES, ...RECEIVER_ALERT_NAMES] as const;
export type LicenceAlertName = (typeof LICENCE_ALERT_NAMES)[number];
export type ReceiverAlertName = (typeof RECEIVER_ALERT_NAMES)[number];
export type AlertName = LicenceAlertName | ReceiverAlertName;

export const SOURCES = ['agent', 'legacy-agent', 'tigera-operator'] as const;
export type Source = (typeof SOURCES)[number];

export const SEVERITIES = ['critical', 'warning', 'info'] as const;

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const LABEL_NAME_EXPECTED = 'a Prometheus label name (letters, digits and _, not starting with a digit)';
const RESERVED_LABELS = new Set(['alertname', 'severity']);
const MATCHER = String.raw`\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(?:=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"\s*`;
const SELECTOR = new RegExp(`^${MATCHER}(?:,${MATCHER})*$`);
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const K8S_LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const K8S_LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

// ---------------------------------------------------------------------------------------------
// Schema. Every leaf carries the "expected …" text used in error messages.

const bool = z.boolean({ error: 'true or false' });
const text = (expected: string) => z.string({ error: expected }).min(1, { error: expected });
const duration = z
  .string({ error: DURATION_EXPECTED })
  .refine((s) => parseDurationSeconds(s) !== undefined, { error: DURATION_EXPECTED });
const positiveDuration = z
  .string({ error: POSITIVE_DURATION_EXPECTED })
  .refine((s) => (parseDurationSeconds(s) ?? 0) > 0, { error: POSITIVE_DURATION_EXPECTED });
const DAYS_EXPECTED = 'a number of days greater than 0';
const days = z.number({ error: DAYS_EXPECTED }).positive({ error: DAYS_EXPECTED });
const RATIO_EXPECTED = 'a ratio greater than 0 and at most 1 (0.9 = 90%)';
const ratio = z
  .number({ error: RATIO_EXPECTED })
  .positive({ error: RATIO_EXPECTED })
  .max(1, { error: RATIO_EXPECTED });
const mapping = (expected: string) => ({ error: `a mapping of ${expected}` });

/** A string map from YAML; `null` removes a key set by the defaults. */
const stringMap = (what: string) =>
  z
    .record(
      z.string(),
      z.string({ error: `a string (quote numbers and booleans), or null to remove the ${what}` }).nullable(),
      {
        error: `a mapping of ${what} names to strings`,
      },
    )
    .transform((m) => {
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(m)) if (v !== null) out[k] = v;
      return out;
    });

const alertBase = {
  enabled: bool,
  severity: z.enum(SEVERITIES, { error: 'one of critical, warning, info' }),
  for: duration,
  labels: stringMap('label'),
  annotations: stringMap('annotation'),
};
const alert = <T extends z.ZodRawShape>(extra: T) =>
  z.strictObject(
    { ...alertBase, ...extra },
    mapping('alert settings (enabled, severity, for, labels, annotations, …)'),
  );

const forecast = { range: positiveDuration, window: positiveDuration, horizon: positiveDuration };
const alertsSchema = z.strictObject(
  {
    CalicoLicenseExpiringSoon: alert({ days }),
    CalicoLicenseExpiryCritical: alert({ days }),
    CalicoLicenseInGracePeriod: alert({}),
    CalicoLicenseExpired: alert({}),
    CalicoLicenseInvalid: alert({}),
    CalicoLicenseMissing: alert({}),
    CalicoLicenseNodesOverCapacity: alert({}),
    CalicoLicenseNodesNearCapacity: alert({ ratio }),
    CalicoLicenseNodesCapacityForecast: alert(forecast),
    CalicoLicenseCoresOverCapacity: alert({}),
    CalicoLicenseCoresNearCapacity: alert({ ratio }),
    CalicoLicenseCoresCapacityForecast: alert(forecast),
    CalicoLicenseAgentDown: alert({ seenWithin: positiveDuration }),
    CalicoLicenseDataStale: alert({ after: positiveDuration }),
    LicenseReceiverDown: alert({ seenWithin: positiveDuration }),
    LicenseReceiverDeadLetters: alert({ within: positiveDuration }),
    LicenseReceiverNotificationsFailing: alert({ window: positiveDuration }),
    LicenseReceiverOutboxBacklog: alert({ after: positiveDuration }),
  },
  mapping('alert names to alert settings'),
);

const RUNBOOK_EXPECTED = 'an http(s) URL containing %s exactly once (replaced by the alert name)';
const URL_EXPECTED = 'an http(s) URL';
const isHttpUrl = (s: string) => {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && !/\s/.test(s);
  } catch {
    return false;
  }
};

const selector = (example: string) => {
  const expected = `PromQL label matchers such as ${example}`;
  return z.string({ error: expected }).refine((s) => SELECTOR.test(s), { error: expected });
};

/**
 * The body of an Alertmanager receiver, as in alertmanager.yml: integrations such as email_configs or
 * slack_configs, each a list of settings. Alertmanager (amtool check-config) checks the settings
 * themselves; here only the shape, and that no secret is written inline.
 */
const RECEIVER_CONFIG_EXPECTED =
  'an Alertmanager receiver body: integrations such as email_configs or slack_configs, each a list of settings, or null to use a receiver your alertmanager.yml defines';
const receiverConfig = z.record(
  z.string().regex(/^[a-z0-9]+_configs$/, { error: RECEIVER_CONFIG_EXPECTED }),
  z
    .array(z.record(z.string(), z.unknown(), { error: 'a mapping of integration settings' }), {
      error: 'a list of integration settings',
    })
    .min(1, { error: 'a list of integration settings' }),
  { error: RECEIVER_CONFIG_EXPECTED },
);

/**
 * Settings that hold a secret, and the settings to use instead. Slack's api_url is its secret webhook
 * URL; elsewhere api_url is a plain base URL.
 */
const SECRET_SETTINGS: Record<string, string> = {
  auth_password: 'auth_password_file',
  auth_secret: 'auth_password_file with auth_username (or smtp_auth_secret in your global section)',
  routing_key: 'routing_key_file',
  service_key: 'service_key_file',
  api_key: 'api_key_file',
  user_key: 'user_key_file',
  token: 'token_file',
  bot_token: 'bot_token_file',
  webhook_url: 'webhook_url_file',
  api_secret: 'api_secret_file',
  password: 'password_file',
  credentials: 'credentials_file',
  bearer_token: 'bearer_token_file',
  client_secret: 'client_secret_file',
};

/** Paths (and the setting to use instead) of the secrets written inline in a receiver body. */
function inlineSecrets(
  config: Record<string, unknown[]>,
  base: PropertyKey[],
): Array<{ path: PropertyKey[]; instead: string }> {
  const found: Array<{ path: PropertyKey[]; instead: string }> = [];
  const scan = (value: unknown, path: PropertyKey[], integration: string) => {
    if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) scan(v, [...path, i], integration);
    }
    if (!isPlainObject(value)) return;
    for (const [key, v] of Object.entries(value)) {
      const instead =
        key === 'api_url' && integration === 'slack_configs' ? 'api_url_file' : SECRET_SETTINGS[key];
      if (instead !== undefined && typeof v === 'string' && v !== '')
        found.push({ path: [...path, key], instead });
      else scan(v, [...path, key], integration);
    }
  };
  for (const [integration, list] of Object.entries(config)) scan(list, [...base, integration], integration);
  return found;
}

const schema = z
  .strictObject(
    {
      source: z.enum(SOURCES, { error: `one of ${SOURCES.join(', ')}` }),
      selector: selector('job="license-agent"'),
      clusterLabel: z
        .string({ error: LABEL_NAME_EXPECTED })
        .regex(LABEL_NAME, { error: LABEL_NAME_EXPECTED }),
      runbookUrlPattern: z
        .string({ error: RUNBOOK_EXPECTED })
        .refine((s) => s.split('%s').length === 2 && isHttpUrl(s.replace('%s', 'X')), {
          error: RUNBOOK_EXPECTED,
        }),
      groupName: text('a rule group name'),
      labels: stringMap('label'),
      annotations: stringMap('annotation'),
      prometheusRule: z.strictObject(
        {
          name: z
            .string({ error: 'a Kubernetes object name (lower-case DNS subdomain)' })
            .max(253, { error: 'a Kubernetes object name (lower-case DNS subdomain)' })
            .regex(DNS_SUBDOMAIN, { error: 'a Kubernetes object name (lower-case DNS subdomain)' }),
          namespace: z
            .string({ error: 'a Kubernetes namespace name (lower-case DNS label)' })
            .max(63, { error: 'a Kubernetes namespace name (lower-case DNS label)' })
            .regex(DNS_LABEL, { error: 'a Kubernetes namespace name (lower-case DNS label)' }),
          labels: stringMap('label'),
          annotations: stringMap('annotation'),
        },
        mapping('PrometheusRule settings (name, namespace, labels, annotations)'),
      ),
      alertmanager: z.strictObject(
        {
          receiver: text('a receiver name'),
          webhookUrl: z.string({ error: URL_EXPECTED }).refine(isHttpUrl, { error: URL_EXPECTED }),
          sendResolved: bool,
          credentialsFile: z.string({ error: 'a file path, or "" for none' }),
          continue: bool,
          groupWait: duration,
          groupInterval: duration,
          repeatInterval: duration,
          opsReceiver: z.strictObject(
            {
              name: text('a receiver name'),
              config: receiverConfig.nullable(),
            },
            mapping('the settings of the receiver for the license-receiver’s own alerts (name, config)'),
          ),
        },
        mapping('Alertmanager settings'),
      ),
      licenseReceiver: z.strictObject(
        {
          enabled: bool,
          groupName: text('a rule group name'),
          selector: selector('job="license-receiver"'),
        },
        mapping('the settings of the license-receiver’s own alerts (enabled, groupName, selector)'),
      ),
      alerts: alertsSchema,
    },
    mapping('settings'),
  )
  .superRefine((c, ctx) => {
    const issue = (path: PropertyKey[], message: string, got?: string) =>
      ctx.addIssue({ code: 'custom', path, message, ...(got === undefined ? {} : { params: { got } }) });

    // Cross-key checks run only on values that passed their own check (zod runs this refinement
    // even when a leaf failed), so one mistake is reported once.
    const soon = c.alerts.CalicoLicenseExpiringSoon.days;
    const critical = c.alerts.CalicoLicenseExpiryCritical.days;
    if (soon > 0 && critical > 0 && critical >= soon) {
      issue(
        ['alerts', 'CalicoLicenseExpiryCritical', 'days'],
        `fewer days than alerts.CalicoLicenseExpiringSoon.days (${soon}): the critical tier starts where the warning tier ends`,
      );
    }
    for (const name of ['CalicoLicenseAgentDown', 'LicenseReceiverDown'] as const) {
      const down = c.alerts[name];
      const seenWithin = parseDurationSeconds(down.seenWithin);
      const downFor = parseDurationSeconds(down.for);
      if (seenWithin !== undefined && downFor !== undefined && seenWithin > 0 && seenWithin <= downFor) {
        issue(
          ['alerts', name, 'seenWithin'],
          `a duration longer than alerts.${name}.for (${down.for}), or a vanished target stops counting before the alert can fire`,
        );
      }
    }
    for (const name of [
      'CalicoLicenseNodesCapacityForecast',
      'CalicoLicenseCoresCapacityForecast',
    ] as const) {
      const f = c.alerts[name];
      const range = parseDurationSeconds(f.range) ?? 0;
      const window = parseDurationSeconds(f.window) ?? 0;
      if (range > 0 && window > 0 && range < 2 * window) {
        issue(
          ['alerts', name, 'range'],
          `at least twice alerts.${name}.window (${f.window}): the trend compares the last window with the window that starts range ago, and the two must not overlap`,
        );
      }
    }
    const am = c.alertmanager;
    if (am.opsReceiver.name === am.receiver) {
      issue(
        ['alertmanager', 'opsReceiver', 'name'],
        `a receiver other than alertmanager.receiver (${am.receiver}): the license-receiver's own alerts must not depend on it`,
      );
    }
    const opsConfig = am.opsReceiver.config;
    if (opsConfig !== null) {
      const base = ['alertmanager', 'opsReceiver', 'config'];
      for (const [i, hook] of (opsConfig.webhook_configs ?? []).entries()) {
        if (isPlainObject(hook) && hook.url === am.webhookUrl) {
          issue(
            [...base, 'webhook_configs', i, 'url'],
            "a destination other than the license-receiver's webhook (alertmanager.webhookUrl): its own alerts must not depend on it",
          );
        }
      }
      for (const { path, instead } of inlineSecrets(opsConfig, base)) {
        issue(
          path,
          `${instead}, a file mounted into Alertmanager: secrets never go into this file`,
          'a secret written inline',
        );
      }
    }

    const checkLabels = (path: PropertyKey[], labels: Record<string, string>) => {
      for (const [key, value] of Object.entries(labels)) {
        if (!LABEL_NAME.test(key) || key.startsWith('__') || RESERVED_LABELS.has(key)) {
          issue(
            [...path, key],
            `${LABEL_NAME_EXPECTED}, not starting with __ and not alertname or severity (set severity with the severity key)`,
            `the label name ${JSON.stringify(key)}`,
          );
        } else if (value.includes('{{')) {
          issue(
            [...path, key],
            'a fixed label value: a template (let alone $value) in a label makes a new alert each time the value changes',
          );
        }
      }
    };
    const checkAnnotations = (path: PropertyKey[], annotations: Record<string, string>) => {
      for (const key of Object.keys(annotations)) {
        if (!LABEL_NAME.test(key)) {
          issue(
            [...path, key],
            `an annotation name: ${LABEL_NAME_EXPECTED}`,
            `the annotation name ${JSON.stringify(key)}`,
          );
        }
      }
    };
    checkLabels(['labels'], c.labels);
    checkAnnotations(['annotations'], c.annotations);
    for (const name of ALERT_NAMES) {
      const a = c.alerts[name];
      checkLabels(['alerts', name, 'labels'], a.labels);
      checkAnnotations(['alerts', name, 'annotations'], a.annotations);
      if (!(a.annotations.summary ?? c.annotations.summary)) {
        issue(['alerts', name, 'annotations', 'summary'], 'a one-line summary (every alert has one)');
      }
    }
    for (const [key, value] of Object.entries(c.prometheusRule.labels)) {
      if (!K8S_LABEL_KEY.test(key)) {
        issue(
          ['prometheusRule', 'labels', key],
          'a Kubernetes label key',
          `the label key ${JSON.stringify(key)}`,
        );
      } else if (!K8S_LABEL_VALUE.test(value)) {
        issue(
          ['prometheusRule', 'labels', key],
          'a Kubernetes label value (at most 63 letters, digits, -, _ and .)',
        );
      }
    }
  });

export type Config = z.output<typeof schema>;
export type AlertConfig = Config['alerts'][AlertName];

// ---------------------------------------------------------------------------------------------
// Loading.

/**
 * Parses the defaults (thresholds.yaml) and an optional partial override, merges the override
 * onto the defaults (mappings merge key by key; lists and scalars replace), and checks the result.
 */
export function loadConfig(
  defaultsText: string,
  overrideText?: string,
  names: { defaults?: string; override?: string } = {},
): Config {
  const defaultsName = names.defaults ?? 'thresholds.yaml';
  const defaults = parseYamlMapping(defaultsText, defaultsName);
  const override =
    overrideText === undefined ? {} : parseYamlMapping(overrideText, names.override ?? 'overrides');
  const merged = deepMerge(defaults, override);
  // A receiver body is replaced, not merged: slack_configs in an override must not keep the
  // default's email_configs beside it.
  for (const path of WHOLE_VALUES) {
    const value = get(override, path);
    if (value !== undefined) set(merged, path, value);
  }
  const result = schema.safeParse(merged);
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues, merged, defaults));
  return result.data;
}

function parseYamlMapping(text: string, name: string): Record<string, unknown> {
  let docs: unknown[];
  try {
    docs = yaml.loadAll(text, { filename: name });
  } catch (err) {
    const reason = err instanceof yaml.YAMLException ? err.toString(true) : String(err);
    throw new ConfigError([`${name}: could not be read as YAML: ${reason}`]);
  }
  if (docs.length === 0 || (docs.length === 1 && (docs[0] === null || docs[0] === undefined))) return {};
  if (docs.length > 1) {
    throw new ConfigError([`${name}: got ${docs.length} YAML documents; expected one mapping of settings`]);
  }
  const doc = docs[0];
  if (!isPlainObject(doc)) {
    throw new ConfigError([`${name}: got ${show(doc)}; expected a YAML mapping of settings`]);
  }
  return doc;
}

/** Settings an override replaces as a whole instead of merging key by key. */
const WHOLE_VALUES: ReadonlyArray<readonly string[]> = [['alertmanager', 'opsReceiver', 'config']];

function set(root: unknown, path: readonly string[], value: unknown): void {
  let v = root;
  for (const key of path.slice(0, -1)) {
    if (!isPlainObject(v)) return;
    v = v[key];
  }
  if (isPlainObject(v)) v[path[path.length - 1] as string] = value;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Mappings merge key by key; anything else in the override (scalars, lists, null) replaces. */
export function deepMerge(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return override === undefined ? base : override;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(override)) out[k] = k in base ? deepMerge(base[k], v) : v;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Error messages: "<key>: got <value>; expected <what>".

type Issue = z.ZodError['issues'][number];

function formatIssues(issues: Issue[], input: unknown, defaults: unknown): string[] {
  const out: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        const got = show(get(input, path));
        if (issue.path.length === 1 && issue.path[0] === 'alerts') {
          out.push(
            `${formatPath(path)}: got an unknown alert ${JSON.stringify(key)} (set to ${got}); expected one of ${ALERT_NAMES.join(', ')}`,
          );
        } else {
          const known = Object.keys((get(defaults, issue.path) as Record<string, unknown>) ?? {});
          out.push(
            `${formatPath(path)}: got an unknown key ${JSON.stringify(key)} (set to ${got}); expected one of the keys ${known.join(', ')}`,
          );
        }
      }
      continue;
    }
    const params = (issue as { params?: { got?: string } }).params;
    const got = params?.got ?? show(get(input, issue.path));
    out.push(`${formatPath(issue.path)}: got ${got}; expected ${issue.message}`);
  }
  return out;
}

function get(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const key of path) {
    if (!isPlainObject(v) && !Array.isArray(v)) return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  return path
    .map((key, i) => {
      if (typeof key === 'number') return `[${key}]`;
      const s = String(key);
      if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(s)) return i === 0 ? s : `.${s}`;
      return `[${JSON.stringify(s)}]`;
    })
    .join('');
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
