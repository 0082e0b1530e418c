// Render tests: the pure config → files path, and the CLI around it.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { FACTS, type Rule } from '../src/alerts.js';
import { run as cli } from '../src/cli.js';
import { ALERT_NAMES, ConfigError, loadConfig, RECEIVER_ALERT_NAMES, SOURCES } from '../src/config.js';
import { OUTPUT_FILES, render } from '../src/render.js';
import { configWith, DEFAULTS_TEXT, DIST_DIR, EXAMPLES_DIR, REPO_DIR, RULES_DIR } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'license-rules-render-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Every leaf path whose value differs between two JSON-like values. */
function changedPaths(a: unknown, b: unknown, path = ''): string[] {
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) =>
      changedPaths(
        (a as Record<string, unknown>)[k],
        (b as Record<string, unknown>)[k],
        path ? `${path}.${k}` : k,
      ),
    );
  }
  return Object.is(a, b) ? [] : [path];
}

const OPS_PLACEHOLDER_NOTE =
  "alertmanager.opsReceiver.config is a placeholder (an example.com address): set where the license-receiver's own alerts go (your team's email or Slack, not through the license-receiver; rules/README.md says how).";

const byName = (rules: Rule[]) => Object.fromEntries(rules.map((r) => [r.alert, r]));
const defaults = render(configWith());
const diff = (override: string) =>
  changedPaths(byName(defaults.rules), byName(render(configWith(override)).rules));

/** The problems loadConfig reports for an override. */
function problems(override: string): string[] {
  try {
    loadConfig(DEFAULTS_TEXT, override, { override: 'overrides.yaml' });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('thresholds.yaml', () => {
  it('is valid and configures every alert', () => {
    const config = configWith();
    expect(Object.keys(config.alerts)).toEqual([...ALERT_NAMES]);
    expect(config.source).toBe('agent');
    expect(config.selector).toBe('job="license-agent"');
    expect(config.clusterLabel).toBe('cluster');
    expect(config.alerts.CalicoLicenseExpiringSoon.days).toBe(30);
    expect(config.alerts.CalicoLicenseExpiryCritical.days).toBe(7);
    expect(config.alerts.CalicoLicenseNodesNearCapacity.ratio).toBe(0.9);
    expect(config.alerts.CalicoLicenseAgentDown.for).toBe('10m');
    expect(config.alerts.CalicoLicenseDataStale.after).toBe('15m');
    expect(config.prometheusRule).toEqual({
      name: 'calico-license',
      namespace: 'tigera-prometheus',
      labels: { role: 'tigera-prometheus-rules', prometheus: 'calico-node-prometheus' },
      annotations: {},
    });
  });

  it('gives the issue’s default severities', () => {
    const severities = Object.fromEntries(ALERT_NAMES.map((n) => [n, configWith().alerts[n].severity]));
    expect(severities).toEqual({
      CalicoLicenseExpiringSoon: 'warning',
      CalicoLicenseExpiryCritical: 'critical',
      CalicoLicenseInGracePeriod: 'critical',
      CalicoLicenseExpired: 'critical',
      CalicoLicenseInvalid: 'critical',
      CalicoLicenseMissing: 'warning',
      CalicoLicenseNodesOverCapacity: 'warning',
      CalicoLicenseNodesNearCapacity: 'info',
      CalicoLicenseNodesCapacityForecast: 'warning',
      CalicoLicenseCoresOverCapacity: 'warning',
      CalicoLicenseCoresNearCapacity: 'info',
      CalicoLicenseCoresCapacityForecast: 'warning',
      CalicoLicenseAgentDown: 'warning',
      CalicoLicenseDataStale: 'warning',
      LicenseReceiverDown: 'warning',
      LicenseReceiverDeadLetters: 'warning',
      LicenseReceiverNotificationsFailing: 'warning',
      LicenseReceiverOutboxBacklog: 'warning',
    });
  });
});

describe('render', () => {
  it('writes the three files, deterministically', () => {
    expect(Object.keys(defaults.files)).toEqual(Object.values(OUTPUT_FILES));
    expect(render(configWith()).files).toEqual(defaults.files);
  });

  for (const source of SOURCES) {
    it(`${source}: every alert has summary, description, runbook_url and a 2-4 line remediation; labels are fixed`, () => {
      const { rules } = render(configWith(`source: ${source}`));
      expect(rules.length).toBeGreaterThan(0);
      for (const r of rules) {
        expect(Object.keys(r.annotations).slice(0, 4)).toEqual([
          'summary',
          'description',
          'runbook_url',
          'remediation',
        ]);
        expect(r.annotations.summary).not.toContain('{{');
        const lines = (r.annotations.remediation ?? '').trim().split('\n');
        expect(lines.length, r.alert).toBeGreaterThanOrEqual(2);
        expect(lines.length, r.alert).toBeLessThanOrEqual(4);
        expect(['critical', 'warning', 'info']).toContain(r.labels.severity);
        for (const value of Object.values(r.labels)) expect(value).not.toMatch(/\{\{|\$value/);
      }
    });

    it(`${source}: every aggregation and join keeps the cluster label`, () => {
      for (const clusterLabel of ['cluster', 'k8s_cluster']) {
        const { rules } = render(configWith(`source: ${source}\nclusterLabel: ${clusterLabel}`));
        for (const r of rules) {
          const expr = r.expr.replace(/#.*$/gm, '');
          for (const m of expr.matchAll(/\b(by|on)\s*\(([^)]*)\)/g)) {
            expect(
              m[2]?.split(',').map((s) => s.trim()),
              `${r.alert}: ${m[0]}`,
            ).toContain(clusterLabel);
          }
          expect(r.annotations.description).toContain(`$labels.${clusterLabel}`);
        }
      }
    });
  }

  it('says which alerts a source cannot express', () => {
    const legacy = render(configWith('source: legacy-agent'));
    expect(legacy.rules.map((r) => r.alert)).toEqual([
      'CalicoLicenseExpiringSoon',
      'CalicoLicenseExpiryCritical',
      'CalicoLicenseExpired',
      'CalicoLicenseNodesOverCapacity',
      'CalicoLicenseNodesNearCapacity',
      'CalicoLicenseNodesCapacityForecast',
      'CalicoLicenseAgentDown',
      ...RECEIVER_ALERT_NAMES,
    ]);
    for (const name of [
      'InGracePeriod',
      'Invalid',
      'Missing',
      'CoresOverCapacity',
      'CoresNearCapacity',
      'CoresCapacityForecast',
      'DataStale',
    ]) {
      expect(legacy.notes.join('\n')).toContain(`CalicoLicense${name} is left out`);
    }
    const operator = render(configWith('source: tigera-operator'));
    expect(operator.rules.map((r) => r.alert)).toEqual([
      'CalicoLicenseExpiringSoon',
      'CalicoLicenseExpiryCritical',
      'CalicoLicenseInGracePeriod',
      'CalicoLicenseExpired',
      'CalicoLicenseMissing',
      'CalicoLicenseAgentDown',
      ...RECEIVER_ALERT_NAMES,
    ]);
    expect(operator.notes.filter((n) => n.includes('is left out'))).toHaveLength(8);
    expect(operator.notes).toContain(
      'CalicoLicenseCoresOverCapacity is left out: the source exports no core counts.',
    );
    expect(operator.files[OUTPUT_FILES.rules]).toContain('# - CalicoLicenseInvalid is left out');
    expect(defaults.notes).toEqual([OPS_PLACEHOLDER_NOTE]);
  });

  it('runs each expiry tier’s `for` ahead of its threshold', () => {
    const r = byName(defaults.rules);
    expect(r.CalicoLicenseExpiringSoon?.expr).toContain('- time() < 30 * 86400 + 3600\n');
    expect(r.CalicoLicenseExpiringSoon?.expr).toContain('- time() >= 7 * 86400\n');
    expect(r.CalicoLicenseExpiryCritical?.expr).toContain('- time() < 7 * 86400 + 15 * 60\n');
    const zero = byName(render(configWith('alerts:\n  CalicoLicenseExpiringSoon: {for: 0s}')).rules);
    expect(zero.CalicoLicenseExpiringSoon?.expr).toContain('- time() < 30 * 86400\n');
    expect(zero.CalicoLicenseExpiringSoon?.expr).not.toContain('is the rule');
  });
});

describe('the annotation contract (facts the rules state for the receiver)', () => {
  // Which fact annotations each alert carries, per source: rules/README.md's contract table.
  const expiry = {
    CalicoLicenseExpiringSoon: ['days_left', 'expires_at'],
    CalicoLicenseExpiryCritical: ['days_left', 'expires_at', 'grace_period_ends_at'],
    CalicoLicenseInGracePeriod: ['expires_at', 'grace_period_ends_at'],
    CalicoLicenseExpired: ['expires_at', 'grace_period_ends_at'],
  };
  const capacity = (kind: 'Nodes' | 'Cores', prefix: string) => ({
    [`CalicoLicense${kind}OverCapacity`]: [`${prefix}_licensed`, `${prefix}_used`],
    [`CalicoLicense${kind}NearCapacity`]: [`${prefix}_licensed`, `${prefix}_used`],
    [`CalicoLicense${kind}CapacityForecast`]: [`${prefix}_forecast`, `${prefix}_licensed`, `${prefix}_used`],
  });
  const contract: Record<string, Record<string, string[]>> = {
    agent: { ...expiry, ...capacity('Nodes', 'nodes'), ...capacity('Cores', 'cores') },
    'legacy-agent': {
      CalicoLicenseExpiringSoon: ['days_left'],
      CalicoLicenseExpiryCritical: ['days_left'],
      ...capacity('Nodes', 'nodes'),
    },
    'tigera-operator': {
      CalicoLicenseExpiringSoon: ['days_left', 'expires_at'],
      CalicoLicenseExpiryCritical: ['days_left', 'expires_at'],
      CalicoLicenseInGracePeriod: ['expires_at'],
      CalicoLicenseExpired: ['expires_at'],
    },
  };

  for (const source of SOURCES) {
    it(`${source}: every alert carries exactly its facts, all of them named in FACTS`, () => {
      for (const r of render(configWith(`source: ${source}`)).rules) {
        const facts = Object.keys(r.annotations).filter((k) => k in FACTS);
        expect(facts, r.alert).toEqual(contract[source]?.[r.alert] ?? []);
        const others = Object.keys(r.annotations).filter((k) => !(k in FACTS));
        expect(others, r.alert).toEqual(['summary', 'description', 'runbook_url', 'remediation']);
      }
    });
  }

  it('facts are templates of a bare value: no words around the number or the date', () => {
    const r = byName(defaults.rules);
    expect(r.CalicoLicenseExpiryCritical?.annotations.expires_at).toMatch(
      /\{\{ \(toTime \(\. \| first \| value\)\)\.Format "2006-01-02T15:04:05Z07:00" \}\}\{\{ end \}\}$/,
    );
    expect(r.CalicoLicenseExpiringSoon?.annotations.days_left).toContain(
      'floor((calico_license_expiry_timestamp_seconds{',
    );
    expect(r.CalicoLicenseCoresCapacityForecast?.annotations.cores_forecast).toBe(
      '{{ $value | printf "%.0f" }}',
    );
  });

  it('README lists every fact', () => {
    const readme = readFileSync(join(RULES_DIR, 'README.md'), 'utf8');
    for (const fact of Object.keys(FACTS)) expect(readme).toContain(`| \`${fact}\` |`);
  });
});

describe('the capacity forecast', () => {
  it('compares whole-window averages range apart and waits for range of history', () => {
    const expr = byName(defaults.rules).CalicoLicenseNodesCapacityForecast?.expr ?? '';
    expect(expr).toContain('max_over_time(calico_nodes_used{job="license-agent"}[1d])');
    expect(expr).toContain(
      '(avg_over_time(calico_nodes_used{job="license-agent"}[1d]) - avg_over_time(calico_nodes_used{job="license-agent"}[1d] offset 2d)) * (14 * 86400) / (2 * 86400)',
    );
    expect(expr).toContain('last_over_time(calico_nodes_used{job="license-agent"}[1h] offset 3d)');
    expect(expr).not.toContain('predict_linear');
  });

  it('follows range, window and horizon', () => {
    const r = byName(
      render(
        configWith(
          'alerts:\n  CalicoLicenseCoresCapacityForecast: {range: 14d, window: 7d, horizon: 30d}\n  CalicoLicenseNodesCapacityForecast: {range: 8d}\n',
        ),
      ).rules,
    );
    const cores = r.CalicoLicenseCoresCapacityForecast?.expr ?? '';
    expect(cores).toContain('[7d] offset 7d)) * (30 * 86400) / (7 * 86400)');
    expect(cores).toContain('last_over_time(calico_cores_used{job="license-agent"}[1h] offset 14d)');
    expect(r.CalicoLicenseCoresCapacityForecast?.annotations.description).toContain(
      'The forecast waits for 14d of history and ignores swings that repeat every 7d.',
    );
    const nodes = r.CalicoLicenseNodesCapacityForecast?.expr ?? '';
    expect(nodes).toContain('[1d] offset 7d)) * (14 * 86400) / (7 * 86400)');
    expect(nodes).toContain('[1h] offset 8d)');
  });
});

describe('the license-receiver alerts', () => {
  const groupsOf = (override?: string) =>
    (
      yaml.load(render(configWith(override)).files[OUTPUT_FILES.rules] ?? '') as {
        groups: { name: string }[];
      }
    ).groups;

  it('are a rule group of their own, in the rule file and the PrometheusRule', () => {
    expect(groupsOf().map((g) => g.name)).toEqual(['calico-license', 'license-receiver']);
    const cr = yaml.load(defaults.files[OUTPUT_FILES.prometheusRule] ?? '') as { spec: unknown };
    expect(cr.spec).toEqual(yaml.load(defaults.files[OUTPUT_FILES.rules] ?? ''));
  });

  it('select the receiver with licenseReceiver.selector, and nothing else does', () => {
    const r = render(
      configWith('licenseReceiver:\n  selector: job="lr", namespace="ops"\n  groupName: lr\n'),
    );
    for (const rule of r.rules) {
      const receiver = rule.alert.startsWith('LicenseReceiver');
      expect(rule.expr.includes('{job="lr", namespace="ops"'), rule.alert).toBe(receiver);
      expect(rule.expr.includes('job="license-agent"'), rule.alert).toBe(!receiver);
    }
    expect(groupsOf('licenseReceiver:\n  groupName: lr\n').map((g) => g.name)).toEqual([
      'calico-license',
      'lr',
    ]);
  });

  it('licenseReceiver.enabled: false leaves out the group, its route, receiver and inhibit rule', () => {
    const off = render(configWith('licenseReceiver:\n  enabled: false\n'));
    expect(groupsOf('licenseReceiver:\n  enabled: false\n').map((g) => g.name)).toEqual(['calico-license']);
    expect(off.files[OUTPUT_FILES.alertmanager]).not.toContain('LicenseReceiver');
    expect(off.files[OUTPUT_FILES.alertmanager]).not.toContain('license-monitor-ops');
    expect(off.notes).toEqual([]);
  });

  it('render says when the ops receiver is still the placeholder, and not once it is set', () => {
    expect(defaults.notes).toContain(OPS_PLACEHOLDER_NOTE);
    const set = render(
      configWith(
        'alertmanager:\n  opsReceiver:\n    config:\n      slack_configs:\n        - api_url_file: /etc/alertmanager/secrets/slack-ops\n          channel: "#platform"\n',
      ),
    );
    expect(set.notes).toEqual([]);
    const fragment = yaml.load(set.files[OUTPUT_FILES.alertmanager] ?? '') as { receivers: unknown[] };
    expect(fragment.receivers[1]).toEqual({
      name: 'license-monitor-ops',
      slack_configs: [{ api_url_file: '/etc/alertmanager/secrets/slack-ops', channel: '#platform' }],
    });
  });
});

describe('a partial override changes only what it names', () => {
  it('a severity', () => {
    expect(diff('alerts:\n  CalicoLicenseNodesNearCapacity:\n    severity: warning\n')).toEqual([
      'CalicoLicenseNodesNearCapacity.labels.severity',
    ]);
  });

  it('a `for`', () => {
    expect(diff('alerts:\n  CalicoLicenseMissing:\n    for: 30m\n')).toEqual(['CalicoLicenseMissing.for']);
  });

  it('the warning threshold: the warning tier’s expression and description only', () => {
    expect(diff('alerts:\n  CalicoLicenseExpiringSoon:\n    days: 45\n')).toEqual([
      'CalicoLicenseExpiringSoon.expr',
      'CalicoLicenseExpiringSoon.annotations.description',
    ]);
  });

  it('the critical threshold: the band edge the two tiers share, nothing else', () => {
    expect(diff('alerts:\n  CalicoLicenseExpiryCritical:\n    days: 3\n')).toEqual([
      'CalicoLicenseExpiringSoon.expr',
      'CalicoLicenseExpiringSoon.annotations.description',
      'CalicoLicenseExpiryCritical.expr',
    ]);
  });

  it('disabling an alert removes it and nothing else', () => {
    const changed = diff('alerts:\n  CalicoLicenseNodesCapacityForecast:\n    enabled: false\n');
    expect(changed).toEqual(['CalicoLicenseNodesCapacityForecast']);
    const rendered = render(
      configWith('alerts:\n  CalicoLicenseNodesCapacityForecast:\n    enabled: false\n'),
    );
    expect(rendered.rules.map((r) => r.alert)).not.toContain('CalicoLicenseNodesCapacityForecast');
    expect(rendered.notes).toEqual([
      'Disabled in the configuration: CalicoLicenseNodesCapacityForecast.',
      OPS_PLACEHOLDER_NOTE,
    ]);
  });

  it('a common label: added to every alert, nothing else', () => {
    const changed = diff('labels:\n  team: network\n');
    expect(changed).toEqual(ALERT_NAMES.map((n) => `${n}.labels.team`));
  });

  it('an alert’s annotation: that annotation only', () => {
    expect(
      diff('alerts:\n  CalicoLicenseExpired:\n    annotations:\n      summary: Licence gone.\n'),
    ).toEqual(['CalicoLicenseExpired.annotations.summary']);
  });

  it('the runbook URL pattern: the runbook_url annotations only', () => {
    const changed = diff('runbookUrlPattern: https://runbooks.example.com/calico/%s\n');
    expect(changed).toEqual(ALERT_NAMES.map((n) => `${n}.annotations.runbook_url`));
    const r = byName(render(configWith('runbookUrlPattern: https://runbooks.example.com/calico/%s\n')).rules);
    expect(r.CalicoLicenseMissing?.annotations.runbook_url).toBe(
      'https://runbooks.example.com/calico/CalicoLicenseMissing',
    );
  });

  it('the PrometheusRule metadata: not the rules; null removes a default label', () => {
    const override =
      'prometheusRule:\n  namespace: monitoring\n  labels:\n    release: kps\n    role: null\n';
    const rendered = render(configWith(override));
    expect(rendered.files[OUTPUT_FILES.rules]).toBe(defaults.files[OUTPUT_FILES.rules]);
    const before = yaml.load(defaults.files[OUTPUT_FILES.prometheusRule] ?? '');
    const after = yaml.load(rendered.files[OUTPUT_FILES.prometheusRule] ?? '');
    expect(changedPaths(before, after).sort()).toEqual([
      'metadata.labels.release',
      'metadata.labels.role',
      'metadata.namespace',
    ]);
    expect((after as { metadata: { labels: unknown } }).metadata.labels).toEqual({
      prometheus: 'calico-node-prometheus',
      release: 'kps',
    });
  });

  it('the kube-prometheus-stack example', () => {
    const override = readFileSync(join(EXAMPLES_DIR, 'kube-prometheus-stack.yaml'), 'utf8');
    const cr = yaml.load(render(configWith(override)).files[OUTPUT_FILES.prometheusRule] ?? '') as {
      metadata: unknown;
    };
    expect(cr.metadata).toEqual({
      name: 'calico-license',
      namespace: 'monitoring',
      labels: { release: 'kube-prometheus-stack' },
    });
  });

  it('an empty override file changes nothing', () => {
    expect(render(configWith('# nothing to change\n')).files).toEqual(defaults.files);
  });
});

describe('invalid overrides: each names the key, the value and what was expected', () => {
  const cases: Array<[string, string, string]> = [
    [
      'negative days',
      'alerts:\n  CalicoLicenseExpiringSoon:\n    days: -3\n',
      'alerts.CalicoLicenseExpiringSoon.days: got -3; expected a number of days greater than 0',
    ],
    [
      'days as text',
      'alerts:\n  CalicoLicenseExpiryCritical:\n    days: "5"\n',
      'alerts.CalicoLicenseExpiryCritical.days: got "5"; expected a number of days greater than 0',
    ],
    [
      'critical >= warning',
      'alerts:\n  CalicoLicenseExpiryCritical:\n    days: 30\n',
      'alerts.CalicoLicenseExpiryCritical.days: got 30; expected fewer days than alerts.CalicoLicenseExpiringSoon.days (30): the critical tier starts where the warning tier ends',
    ],
    [
      'warning lowered below critical',
      'alerts:\n  CalicoLicenseExpiringSoon:\n    days: 5\n',
      'alerts.CalicoLicenseExpiryCritical.days: got 7; expected fewer days than alerts.CalicoLicenseExpiringSoon.days (5): the critical tier starts where the warning tier ends',
    ],
    [
      'unknown alert',
      'alerts:\n  CalicoLicenseExpiresSoon:\n    days: 10\n',
      `alerts.CalicoLicenseExpiresSoon: got an unknown alert "CalicoLicenseExpiresSoon" (set to {"days":10}); expected one of ${ALERT_NAMES.join(', ')}`,
    ],
    [
      'bad duration',
      'alerts:\n  CalicoLicenseMissing:\n    for: 10 minutes\n',
      'alerts.CalicoLicenseMissing.for: got "10 minutes"; expected a Prometheus duration such as 30s, 10m, 1h, 1h30m or 7d',
    ],
    [
      'zero range',
      'alerts:\n  CalicoLicenseNodesCapacityForecast:\n    range: 0s\n',
      'alerts.CalicoLicenseNodesCapacityForecast.range: got "0s"; expected a Prometheus duration such as 30s, 10m, 1h, 1h30m or 7d, longer than 0s',
    ],
    [
      'unknown key',
      'prometheusRule:\n  nmae: my-rules\n',
      'prometheusRule.nmae: got an unknown key "nmae" (set to "my-rules"); expected one of the keys name, namespace, labels, annotations',
    ],
    [
      'unknown key in an alert',
      'alerts:\n  CalicoLicenseExpiringSoon:\n    threshold: 45\n',
      'alerts.CalicoLicenseExpiringSoon.threshold: got an unknown key "threshold" (set to 45); expected one of the keys enabled, severity, for, days, labels, annotations',
    ],
    [
      'unknown top-level key',
      'alert:\n  CalicoLicenseMissing: {enabled: false}\n',
      'alert: got an unknown key "alert" (set to {"CalicoLicenseMissing":{"enabled":false}}); expected one of the keys source, selector, clusterLabel, runbookUrlPattern, groupName, licenseReceiver, labels, annotations, prometheusRule, alertmanager, alerts',
    ],
    [
      'bad severity',
      'alerts:\n  CalicoLicenseInvalid:\n    severity: page\n',
      'alerts.CalicoLicenseInvalid.severity: got "page"; expected one of critical, warning, info',
    ],
    [
      'bad source',
      'source: agent-v2\n',
      'source: got "agent-v2"; expected one of agent, legacy-agent, tigera-operator',
    ],
    [
      'bad selector',
      'selector: job=license-agent\n',
      'selector: got "job=license-agent"; expected PromQL label matchers such as job="license-agent"',
    ],
    [
      'ratio above 1',
      'alerts:\n  CalicoLicenseNodesNearCapacity:\n    ratio: 90\n',
      'alerts.CalicoLicenseNodesNearCapacity.ratio: got 90; expected a ratio greater than 0 and at most 1 (0.9 = 90%)',
    ],
    [
      '$value in a label',
      "labels:\n  value: '{{ $value }}'\n",
      'labels.value: got "{{ $value }}"; expected a fixed label value: a template (let alone $value) in a label makes a new alert each time the value changes',
    ],
    [
      'severity as a label',
      'alerts:\n  CalicoLicenseMissing:\n    labels:\n      severity: page\n',
      'alerts.CalicoLicenseMissing.labels.severity: got the label name "severity"; expected a Prometheus label name (letters, digits and _, not starting with a digit), not starting with __ and not alertname or severity (set severity with the severity key)',
    ],
    [
      'a label value that is a number',
      'labels:\n  tier: 1\n',
      'labels.tier: got 1; expected a string (quote numbers and booleans), or null to remove the label',
    ],
    [
      'runbook pattern without %s',
      'runbookUrlPattern: https://runbooks.example.com/calico\n',
      'runbookUrlPattern: got "https://runbooks.example.com/calico"; expected an http(s) URL containing %s exactly once (replaced by the alert name)',
    ],
    [
      'AgentDown lookback not longer than its for',
      'alerts:\n  CalicoLicenseAgentDown:\n    seenWithin: 5m\n',
      'alerts.CalicoLicenseAgentDown.seenWithin: got "5m"; expected a duration longer than alerts.CalicoLicenseAgentDown.for (10m), or a vanished target stops counting before the alert can fire',
    ],
    [
      'bad namespace',
      'prometheusRule:\n  namespace: Monitoring\n',
      'prometheusRule.namespace: got "Monitoring"; expected a Kubernetes namespace name (lower-case DNS label)',
    ],
    [
      'bad webhook URL',
      'alertmanager:\n  webhookUrl: license-receiver:9095\n',
      'alertmanager.webhookUrl: got "license-receiver:9095"; expected an http(s) URL',
    ],
    [
      'an alert set to null',
      'alerts:\n  CalicoLicenseMissing: null\n',
      'alerts.CalicoLicenseMissing: got null; expected a mapping of alert settings (enabled, severity, for, labels, annotations, …)',
    ],
    [
      'forecast range shorter than two windows',
      'alerts:\n  CalicoLicenseCoresCapacityForecast:\n    range: 36h\n',
      'alerts.CalicoLicenseCoresCapacityForecast.range: got "36h"; expected at least twice alerts.CalicoLicenseCoresCapacityForecast.window (1d): the trend compares the last window with the window that starts range ago, and the two must not overlap',
    ],
    [
      'receiver selector without quotes',
      'licenseReceiver:\n  selector: job=license-receiver\n',
      'licenseReceiver.selector: got "job=license-receiver"; expected PromQL label matchers such as job="license-receiver"',
    ],
    [
      'an inline secret in the ops receiver',
      'alertmanager:\n  opsReceiver:\n    config:\n      slack_configs:\n        - api_url: https://hooks.slack.com/services/T0/B0/XXXX\n',
      'alertmanager.opsReceiver.config.slack_configs[0].api_url: got a secret written inline; expected api_url_file, a file mounted into Alertmanager: secrets never go into this file',
    ],
    [
      'an inline SMTP password in the ops receiver',
      'alertmanager:\n  opsReceiver:\n    config:\n      email_configs:\n        - to: ops@example.org\n          auth_password: hunter2\n',
      'alertmanager.opsReceiver.config.email_configs[0].auth_password: got a secret written inline; expected auth_password_file, a file mounted into Alertmanager: secrets never go into this file',
    ],
    [
      'the ops receiver posting to the license-receiver',
      'alertmanager:\n  opsReceiver:\n    config:\n      webhook_configs:\n        - url: http://license-receiver.license-monitor.svc:9095/webhook\n',
      'alertmanager.opsReceiver.config.webhook_configs[0].url: got "http://license-receiver.license-monitor.svc:9095/webhook"; expected a destination other than the license-receiver\'s webhook (alertmanager.webhookUrl): its own alerts must not depend on it',
    ],
    [
      'the ops receiver named like the webhook receiver',
      'alertmanager:\n  opsReceiver:\n    name: calico-license\n',
      'alertmanager.opsReceiver.name: got "calico-license"; expected a receiver other than alertmanager.receiver (calico-license): the license-receiver\'s own alerts must not depend on it',
    ],
    [
      'an integration name that is not one',
      'alertmanager:\n  opsReceiver:\n    config:\n      email:\n        - to: ops@example.org\n',
      'alertmanager.opsReceiver.config.email: got [{"to":"ops@example.org"}]; expected an Alertmanager receiver body: integrations such as email_configs or slack_configs, each a list of settings, or null to use a receiver your alertmanager.yml defines',
    ],
    [
      'not a mapping',
      '- source: agent\n',
      'overrides.yaml: got [{"source":"agent"}]; expected a YAML mapping of settings',
    ],
  ];
  for (const [what, override, message] of cases) {
    it(what, () => {
      expect(problems(override)).toEqual([message]);
    });
  }

  it('broken YAML', () => {
    const [message, ...rest] = problems('alerts: [unclosed\n');
    expect(rest).toEqual([]);
    expect(message).toMatch(/^overrides\.yaml: could not be read as YAML: /);
  });

  it('reports every problem at once', () => {
    expect(problems('source: nope\nalerts:\n  CalicoLicenseMissing:\n    for: soon\n')).toHaveLength(2);
  });
});

describe('license-rules (CLI)', () => {
  const io = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
  };

  it('render --out writes the defaults, identical to dist/', () => {
    const { io: sink } = io();
    const dir = join(tmp, 'defaults');
    expect(cli(['render', '--out', dir], sink)).toBe(0);
    for (const name of Object.values(OUTPUT_FILES)) {
      expect(readFileSync(join(dir, name), 'utf8')).toBe(readFileSync(join(DIST_DIR, name), 'utf8'));
    }
  });

  it('render --config merges the override and prints what the source leaves out', () => {
    const { io: sink, err } = io();
    const dir = join(tmp, 'legacy');
    expect(cli(['render', '--config', join(EXAMPLES_DIR, 'legacy-agent.yaml'), '--out', dir], sink)).toBe(0);
    expect(err.join('')).toContain('note: CalicoLicenseInGracePeriod is left out');
    expect(readFileSync(join(dir, OUTPUT_FILES.rules), 'utf8')).toContain('license_number_of_days');
  });

  it('an invalid override exits 1 naming the key, the value and what was expected, and writes nothing', () => {
    const file = join(tmp, 'bad.yaml');
    writeFileSync(file, 'alerts:\n  CalicoLicenseExpiryCritical:\n    days: 40\n');
    const { io: sink, err } = io();
    const dir = join(tmp, 'bad-out');
    expect(cli(['render', '--config', file, '--out', dir], sink)).toBe(1);
    expect(err.join('')).toContain(
      'alerts.CalicoLicenseExpiryCritical.days: got 40; expected fewer days than alerts.CalicoLicenseExpiringSoon.days (30)',
    );
    expect(() => readFileSync(join(dir, OUTPUT_FILES.rules))).toThrow();
  });

  it('a missing override file exits 1, saying so with the path', () => {
    const { io: sink, err } = io();
    expect(cli(['render', '--config', join(tmp, 'nope.yaml'), '--out', tmp], sink)).toBe(1);
    expect(err.join('')).toBe(`license-rules: --config: no such file: ${join(tmp, 'nope.yaml')}\n`);
  });

  it('usage errors exit 2', () => {
    expect(cli(['draw'], io().io)).toBe(2);
    expect(cli([], io().io)).toBe(2);
    const unknown = io();
    expect(cli(['render', '--colour'], unknown.io)).toBe(2);
    expect(unknown.err.join('')).toMatch(/^license-rules: unknown option --colour\n\nUsage:/);
    const { io: sink, out } = io();
    expect(cli(['--help'], sink)).toBe(0);
    expect(out.join('')).toContain('license-rules render [--config OVERRIDES.yaml] [--out DIR]');
  });

  it('is the package binary, with a shebang, and exits non-zero as a process', async () => {
    const pkg = JSON.parse(readFileSync(join(RULES_DIR, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
      scripts: Record<string, string>;
    };
    expect(pkg.bin).toEqual({ 'license-rules': 'bin/license-rules.js' });
    expect(pkg.scripts.render).toContain('render --out dist');
    expect(readFileSync(join(RULES_DIR, 'src/main.ts'), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(
      true,
    );
    const file = join(tmp, 'bad-process.yaml');
    writeFileSync(file, 'source: nope\n');
    const result = await new Promise<{ code: number | null; stderr: string }>((done) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', join(RULES_DIR, 'src/main.ts'), 'render', '--config', file, '--out', tmp],
        { cwd: REPO_DIR },
        (err, _stdout, stderr) => done({ code: err === null ? 0 : (err.code as number), stderr }),
      );
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'source: got "nope"; expected one of agent, legacy-agent, tigera-operator',
    );
  });
});
