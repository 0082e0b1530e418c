// The alerts: for each input source, each alert's PromQL expression and description, or why the
// source cannot express it. Pure: configuration in, rules out.

import { parseDurationSeconds } from '@license-monitor/common';
import { ALERT_NAMES, type AlertName, type Config, type Source } from './config.js';
import { daysExpr, secondsExpr } from './duration.js';

export interface Rule {
  alert: AlertName;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface RuleSet {
  rules: Rule[];
  /** What was left out and why, and other caveats of the source; `render` prints them. */
  notes: string[];
}

type Definition = { expr: string; description: string } | { leftOut: string };
type Definitions = Record<AlertName, Definition>;

/** Alerts whose condition is a value of the licence (as opposed to its absence or the agent's health). */
export const VALUE_ALERTS: readonly AlertName[] = [
  'CalicoLicenseExpiringSoon',
  'CalicoLicenseExpiryCritical',
  'CalicoLicenseInGracePeriod',
  'CalicoLicenseExpired',
  'CalicoLicenseNodesOverCapacity',
  'CalicoLicenseNodesNearCapacity',
  'CalicoLicenseNodesCapacityForecast',
];

/** The expiry tiers, earliest first: at any moment at most one of them fires. */
export const EXPIRY_TIERS: readonly AlertName[] = [
  'CalicoLicenseExpiringSoon',
  'CalicoLicenseExpiryCritical',
  'CalicoLicenseInGracePeriod',
  'CalicoLicenseExpired',
];

const ANNOTATION_ORDER = ['summary', 'description', 'runbook_url', 'remediation'];

export function buildRules(config: Config): RuleSet {
  const ctx = new Context(config);
  const defs = DEFINITIONS[config.source](ctx);
  const rules: Rule[] = [];
  const notes: string[] = [...SOURCE_NOTES[config.source](ctx)];
  const disabled: string[] = [];
  for (const name of ALERT_NAMES) {
    const settings = config.alerts[name];
    const def = defs[name];
    if ('leftOut' in def) {
      notes.push(`${name} is left out: ${def.leftOut}.`);
      continue;
    }
    if (!settings.enabled) {
      disabled.push(name);
      continue;
    }
    const annotations: Record<string, string> = {
      description: def.description,
      runbook_url: config.runbookUrlPattern.replace('%s', name),
      ...config.annotations,
      ...settings.annotations,
    };
    rules.push({
      alert: name,
      expr: def.expr,
      for: settings.for,
      labels: { severity: settings.severity, ...config.labels, ...settings.labels },
      annotations: orderAnnotations(annotations),
    });
  }
  if (disabled.length > 0) notes.push(`Disabled in the configuration: ${disabled.join(', ')}.`);
  return { rules, notes };
}

function orderAnnotations(a: Record<string, string>): Record<string, string> {
  const keys = Object.keys(a).sort((x, y) => {
    const ix = ANNOTATION_ORDER.indexOf(x);
    const iy = ANNOTATION_ORDER.indexOf(y);
    if (ix !== -1 || iy !== -1) return (ix === -1 ? 99 : ix) - (iy === -1 ? 99 : iy);
    return x < y ? -1 : x > y ? 1 : 0;
  });
  const out: Record<string, string> = {};
  for (const k of keys) out[k] = a[k] as string;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Building blocks shared by the sources.

class Context {
  constructor(readonly config: Config) {}

  /** A vector selector: the metric with the target selector and any extra matchers. */
  m(metric: string, extra?: string): string {
    return `${metric}{${this.config.selector.trim()}${extra === undefined ? '' : `,${extra}`}}`;
  }

  get cluster(): string {
    return this.config.clusterLabel;
  }

  forSeconds(name: AlertName): number {
    return parseDurationSeconds(this.config.alerts[name].for) ?? 0;
  }

  /**
   * An expiry tier's entry edge, shifted by the tier's `for` so that the alert leaves `pending` at
   * the threshold itself: "+ 3600" for `for: 1h`. Without the shift the previous tier would stop at
   * the threshold and this one start `for` later, leaving a gap with no tier firing.
   */
  ahead(name: AlertName): { plus: string; comment: string } {
    const s = this.forSeconds(name);
    if (s === 0) return { plus: '', comment: '' };
    const f = this.config.alerts[name].for;
    return {
      plus: ` + ${secondsExpr(s)}`,
      comment: `# "${secondsExpr(s)}" is the rule's \`for\` (${f}), run ahead of the threshold so the alert fires at it, not ${f} later.`,
    };
  }

  /** " in cluster c1" when the alert carries the cluster label, else nothing. */
  get inCluster(): string {
    return `{{ with $labels.${this.cluster} }} in cluster {{ . }}{{ end }}`;
  }

  /**
   * A template that reads a second number for the description from the same target (job,
   * instance and cluster label of the alert, plus `extra` labels) and formats it.
   */
  lookup(metric: string, format: string, fallback: string, extra: string[] = []): string {
    const labels = [...new Set(['job', 'instance', this.cluster, ...extra])];
    const matchers = labels.map((l) => `${l}=%q`).join(',');
    const args = labels.map((l) => `$labels.${l}`).join(' ');
    return `{{ with printf \`${metric}{${matchers}}\` ${args} | query }}{{ . | first | value | ${format} }}{{ else }}${fallback}{{ end }}`;
  }
}

const lines = (...parts: string[]) => parts.filter((p) => p !== '').join('\n');
const DATE = 'humanizeTimestamp';
const DURATION = 'humanizeDuration';
const COUNT = 'printf "%.0f"';

/** Node alerts read the same two gauges from this project's agent and from Tigera's legacy agent. */
function nodeDefinitions(
  ctx: Context,
): Pick<
  Definitions,
  'CalicoLicenseNodesOverCapacity' | 'CalicoLicenseNodesNearCapacity' | 'CalicoLicenseNodesCapacityForecast'
> {
  const { config } = ctx;
  const used = ctx.m('calico_nodes_used');
  const max = ctx.m('calico_maximum_licensed_nodes');
  const maxText = ctx.lookup('calico_maximum_licensed_nodes', COUNT, 'an unknown number of');
  const usedText = ctx.lookup('calico_nodes_used', COUNT, 'an unknown number of');
  const near = config.alerts.CalicoLicenseNodesNearCapacity;
  const forecast = config.alerts.CalicoLicenseNodesCapacityForecast;
  const horizon = parseDurationSeconds(forecast.horizon) ?? 0;
  const guard = `# A licensed node count of 0 means "unknown" (Tigera's agent reports 0 for a licence that is not valid).`;
  return {
    CalicoLicenseNodesOverCapacity: {
      expr: lines(guard, `${used} > ${max}`, 'and', `${max} > 0`),
      description:
        `{{ $value | ${COUNT} }} nodes are in use${ctx.inCluster}, more than the ${maxText} the licence allows. ` +
        'Calico does not enforce the limit, so nothing stops working, but the cluster is out of licence compliance.',
    },
    CalicoLicenseNodesNearCapacity: {
      expr: lines(
        guard,
        `${used} / ${max} >= ${near.ratio}`,
        'and',
        `${used} <= ${max}`,
        'and',
        `${max} > 0`,
      ),
      description:
        `${usedText} of ${maxText} licensed nodes are in use${ctx.inCluster} ({{ $value | humanizePercentage }}; ` +
        `this alert starts at ${formatPercent(near.ratio)}).`,
    },
    CalicoLicenseNodesCapacityForecast: {
      expr: lines(
        `# Linear trend of the last ${forecast.range}, ${forecast.horizon} ahead; only while not over the limit yet.`,
        `predict_linear(${used}[${forecast.range}], ${secondsExpr(horizon)}) > ${max}`,
        'and',
        `${used} <= ${max}`,
        'and',
        `${max} > 0`,
      ),
      description:
        `At the node growth of the last ${forecast.range}, about {{ $value | ${COUNT} }} nodes will be in use` +
        `${ctx.inCluster} within ${forecast.horizon}, more than the ${maxText} the licence allows ` +
        `(${usedText} are in use now).`,
    },
  };
}

function formatPercent(ratio: number): string {
  return `${Math.round(ratio * 10_000) / 100}%`;
}

function agentDown(ctx: Context, target: string): Definition {
  const up = ctx.m('up');
  const seen = ctx.config.alerts.CalicoLicenseAgentDown.seenWithin;
  const by = `(${[...new Set([ctx.cluster, 'job'])].join(', ')})`;
  return {
    expr: lines(
      '# Down: the target is scraped and fails.',
      `${up} == 0`,
      'or',
      `# Gone: the target was there within ${seen} and is not any more (per cluster).`,
      '(',
      `  group by ${by} (max_over_time(${up}[${seen}]))`,
      `  unless on ${by}`,
      `  group by ${by} (${up})`,
      ')',
      'or',
      `# Never there: no such target within ${seen}.`,
      `absent_over_time(${up}[${seen}])`,
    ),
    description:
      `{{ if $labels.instance }}Prometheus${ctx.inCluster} cannot scrape the ${target} {{ $labels.instance }} ` +
      `(job {{ $labels.job }}){{ else }}Prometheus${ctx.inCluster} has no ${target} target for job {{ $labels.job }}{{ end }}. ` +
      'While it is down, no other licence alert can fire and their last state may be out of date.',
  };
}

const NOT_EXPORTED = (what: string) => `the source exports no ${what}`;

// ---------------------------------------------------------------------------------------------
// Sources.

/** This project's agent: timestamps, one-hot status, grace end and the agent's own health. */
function agentDefinitions(ctx: Context): Definitions {
  const { config } = ctx;
  const expiry = ctx.m('calico_license_expiry_timestamp_seconds');
  const graceEnd = ctx.m('calico_license_grace_period_end_timestamp_seconds');
  const timed = `${ctx.m('calico_license_status', 'status=~"valid|in-grace-period|expired"')} == 1`;
  const expiryDate = ctx.lookup('calico_license_expiry_timestamp_seconds', DATE, 'an unknown date');
  const graceEndDate = ctx.lookup(
    'calico_license_grace_period_end_timestamp_seconds',
    DATE,
    'an unknown date',
  );
  const graceLength = ctx.lookup('calico_license_grace_period_seconds', DURATION, 'unknown length');
  const soon = config.alerts.CalicoLicenseExpiringSoon;
  const critical = config.alerts.CalicoLicenseExpiryCritical;
  const stateComment =
    '# Only for a licence whose state follows the clock (valid, in-grace-period, expired), not an invalid one.';
  const a = {
    soon: ctx.ahead('CalicoLicenseExpiringSoon'),
    critical: ctx.ahead('CalicoLicenseExpiryCritical'),
    grace: ctx.ahead('CalicoLicenseInGracePeriod'),
    expired: ctx.ahead('CalicoLicenseExpired'),
  };
  const healthSource = ctx.lookup('license_agent_source_up', COUNT, '?');
  return {
    CalicoLicenseExpiringSoon: {
      expr: lines(
        `# Warning tier: ${critical.days} days <= time left < ${soon.days} days.`,
        a.soon.comment,
        `${expiry} - time() < ${daysExpr(soon.days)}${a.soon.plus}`,
        'and',
        `${expiry} - time() >= ${daysExpr(critical.days)}`,
        stateComment,
        'and ignoring (status)',
        timed,
      ),
      description:
        `The Calico Enterprise licence${ctx.inCluster} expires in {{ $value | ${DURATION} }}, on ${expiryDate} ` +
        `(warning from ${soon.days} days, critical from ${critical.days} days before expiry).`,
    },
    CalicoLicenseExpiryCritical: {
      expr: lines(
        `# Critical tier: 0 < time left < ${critical.days} days.`,
        a.critical.comment,
        `${expiry} - time() < ${daysExpr(critical.days)}${a.critical.plus}`,
        'and',
        `${expiry} - time() > 0`,
        stateComment,
        'and ignoring (status)',
        timed,
      ),
      description:
        `The Calico Enterprise licence${ctx.inCluster} expires in {{ $value | ${DURATION} }}, on ${expiryDate}. ` +
        `Then its grace period of ${graceLength} starts; it ends on ${graceEndDate}.`,
    },
    CalicoLicenseInGracePeriod: {
      expr: lines(
        '# Grace tier: expired, grace period not over yet.',
        a.grace.comment,
        `${graceEnd} - time() > 0`,
        'and',
        `${expiry} - time() <= ${a.grace.plus === '' ? '0' : secondsExpr(ctx.forSeconds('CalicoLicenseInGracePeriod'))}`,
        stateComment,
        'and ignoring (status)',
        timed,
      ),
      description:
        `The Calico Enterprise licence${ctx.inCluster} expired on ${expiryDate}. Its grace period ends in ` +
        `{{ $value | ${DURATION} }}, on ${graceEndDate}; every feature keeps working until then.`,
    },
    CalicoLicenseExpired: {
      expr: lines(
        '# Expired tier: the grace period is over.',
        a.expired.comment,
        `time() - ${graceEnd} >= ${a.expired.plus === '' ? '0' : `-${secondsExpr(ctx.forSeconds('CalicoLicenseExpired'))}`}`,
        stateComment,
        'and ignoring (status)',
        timed,
      ),
      description:
        `The Calico Enterprise licence${ctx.inCluster} expired on ${expiryDate} and its grace period ended ` +
        `{{ $value | ${DURATION} }} ago, on ${graceEndDate}. Calico Enterprise features are restricted until a ` +
        'renewed licence is applied.',
    },
    CalicoLicenseInvalid: {
      expr: `max without (status) (${ctx.m('calico_license_status', 'status="invalid"')}) == 1`,
      description:
        `The LicenseKey read by the licence agent {{ $labels.instance }}${ctx.inCluster} is invalid: its token ` +
        'or certificate cannot be verified, or its status is unreadable. Calico Enterprise does not treat the ' +
        'cluster as licensed.',
    },
    CalicoLicenseMissing: {
      expr: `max without (status) (${ctx.m('calico_license_status', 'status="no-license-loaded"')}) == 1`,
      description: `The licence agent {{ $labels.instance }}${ctx.inCluster} finds no LicenseKey named default: no Calico Enterprise licence is loaded.`,
    },
    ...nodeDefinitions(ctx),
    CalicoLicenseAgentDown: agentDown(ctx, 'licence agent'),
    CalicoLicenseDataStale: {
      expr: lines(
        `# The agent is scraped, but its last good read of the licence source is older than ${config.alerts.CalicoLicenseDataStale.after} ...`,
        `time() - ${ctx.m('license_agent_last_success_timestamp_seconds')} > ${secondsExpr(parseDurationSeconds(config.alerts.CalicoLicenseDataStale.after) ?? 0)}`,
        'or',
        '# ... or it has not read it successfully since it started.',
        `(${ctx.m('license_agent_source_up')} == 0 unless ${ctx.m('license_agent_last_success_timestamp_seconds')})`,
      ),
      description:
        `The licence agent {{ $labels.instance }}${ctx.inCluster} is running, but {{ if gt $value 0.0 }}its last ` +
        `successful read of the licence source was {{ $value | ${DURATION} }} ago{{ else }}it has not read the ` +
        `licence source successfully since it started{{ end }} (license_agent_source_up is ${healthSource}). ` +
        'The licence metrics may be out of date; license_agent_errors_total says why reads fail.',
    },
  };
}

/** Tigera's legacy agent: four unlabelled gauges (this project's agent exports them too). */
function legacyDefinitions(ctx: Context): Definitions {
  const { config } = ctx;
  const daysLeft = ctx.m('license_number_of_days');
  const valid = ctx.m('calico_license_valid');
  const soon = config.alerts.CalicoLicenseExpiringSoon;
  const critical = config.alerts.CalicoLicenseExpiryCritical;
  return {
    CalicoLicenseExpiringSoon: {
      expr: lines(
        `# Warning tier: ${critical.days} <= whole days left < ${soon.days}.`,
        `${daysLeft} < ${soon.days}`,
        'and',
        `${daysLeft} >= ${critical.days}`,
        'and',
        `${valid} == 1`,
      ),
      description:
        `The Calico Enterprise licence${ctx.inCluster} has {{ $value }} whole days left before it expires ` +
        `(warning from ${soon.days} days, critical from ${critical.days} days before expiry).`,
    },
    CalicoLicenseExpiryCritical: {
      expr: lines(
        `# Critical tier: whole days left < ${critical.days}, licence still valid.`,
        `${daysLeft} < ${critical.days}`,
        'and',
        `${valid} == 1`,
      ),
      description: `The Calico Enterprise licence${ctx.inCluster} has {{ $value }} whole days left before it expires.`,
    },
    CalicoLicenseInGracePeriod: {
      leftOut:
        'the legacy gauges report a licence in its grace period like an expired one (calico_license_valid 0)',
    },
    CalicoLicenseExpired: {
      expr: `${valid} == 0`,
      description:
        `The licence agent {{ $labels.instance }}${ctx.inCluster} reports the Calico Enterprise licence as not ` +
        'valid (calico_license_valid is 0). The legacy gauges cannot tell whether it is in its grace period, ' +
        'expired, invalid or missing: check the LicenseKey.',
    },
    CalicoLicenseInvalid: {
      leftOut: 'the legacy gauges report an invalid licence like an expired one (calico_license_valid 0)',
    },
    CalicoLicenseMissing: {
      leftOut:
        "the legacy gauges do not report a missing LicenseKey (Tigera's agent keeps its last or zero values)",
    },
    ...nodeDefinitions(ctx),
    CalicoLicenseAgentDown: agentDown(ctx, 'licence agent'),
    CalicoLicenseDataStale: { leftOut: NOT_EXPORTED('time of its last successful read') },
  };
}

/** The tigera-operator's two licence metrics (Calico Enterprise 3.24+, where the agent is removed). */
function operatorDefinitions(ctx: Context): Definitions {
  const { config } = ctx;
  const expiry = ctx.m('tigera_operator_license_expiry_timestamp_seconds');
  const valid = ctx.m('tigera_operator_license_valid');
  const expiryDate = ctx.lookup('tigera_operator_license_expiry_timestamp_seconds', DATE, 'an unknown date', [
    'package',
  ]);
  const soon = config.alerts.CalicoLicenseExpiringSoon;
  const critical = config.alerts.CalicoLicenseExpiryCritical;
  const pkg = '(package {{ $labels.package }})';
  const a = {
    soon: ctx.ahead('CalicoLicenseExpiringSoon'),
    critical: ctx.ahead('CalicoLicenseExpiryCritical'),
    grace: ctx.ahead('CalicoLicenseInGracePeriod'),
  };
  const validComment =
    '# tigera_operator_license_valid is 1 while the licence is valid or in its grace period.';
  return {
    CalicoLicenseExpiringSoon: {
      expr: lines(
        `# Warning tier: ${critical.days} days <= time left < ${soon.days} days.`,
        a.soon.comment,
        `${expiry} - time() < ${daysExpr(soon.days)}${a.soon.plus}`,
        'and',
        `${expiry} - time() >= ${daysExpr(critical.days)}`,
        'and',
        `${valid} == 1`,
      ),
      description:
        `The Calico Enterprise licence ${pkg}${ctx.inCluster} expires in {{ $value | ${DURATION} }}, on ${expiryDate} ` +
        `(warning from ${soon.days} days, critical from ${critical.days} days before expiry).`,
    },
    CalicoLicenseExpiryCritical: {
      expr: lines(
        `# Critical tier: 0 < time left < ${critical.days} days.`,
        a.critical.comment,
        `${expiry} - time() < ${daysExpr(critical.days)}${a.critical.plus}`,
        'and',
        `${expiry} - time() > 0`,
        'and',
        `${valid} == 1`,
      ),
      description:
        `The Calico Enterprise licence ${pkg}${ctx.inCluster} expires in {{ $value | ${DURATION} }}, on ${expiryDate}. ` +
        'A grace period follows; its length is set by the licence (status.gracePeriod of the LicenseKey).',
    },
    CalicoLicenseInGracePeriod: {
      expr: lines(
        '# Grace tier: expired, and the operator still counts the licence as valid.',
        a.grace.comment,
        `time() - ${expiry} >= ${a.grace.plus === '' ? '0' : `-${secondsExpr(ctx.forSeconds('CalicoLicenseInGracePeriod'))}`}`,
        validComment,
        'and',
        `${valid} == 1`,
      ),
      description:
        `The Calico Enterprise licence ${pkg}${ctx.inCluster} expired {{ $value | ${DURATION} }} ago, on ${expiryDate}, ` +
        'and is in its grace period: every feature keeps working until it ends. The tigera-operator does not ' +
        'export when the grace period ends: read status.gracePeriod of the LicenseKey.',
    },
    CalicoLicenseExpired: {
      expr: lines(validComment, `${valid} == 0`),
      description:
        `The tigera-operator${ctx.inCluster} reports the Calico Enterprise licence ${pkg} as no longer valid: it ` +
        `expired on ${expiryDate} and its grace period is over. Calico Enterprise features are restricted until a ` +
        'renewed licence is applied.',
    },
    CalicoLicenseInvalid: {
      leftOut: 'the tigera-operator exports no state for a licence it cannot decode',
    },
    CalicoLicenseMissing: {
      expr: lines(
        '# The operator is scraped but exports no licence series: no LicenseKey, or it could not read it.',
        `${ctx.m('up')} == 1`,
        'unless ignoring (package)',
        valid,
      ),
      description:
        `The tigera-operator {{ $labels.instance }}${ctx.inCluster} exports no licence metrics: no LicenseKey ` +
        'is loaded, or the operator could not read it.',
    },
    CalicoLicenseNodesOverCapacity: { leftOut: NOT_EXPORTED('node counts') },
    CalicoLicenseNodesNearCapacity: { leftOut: NOT_EXPORTED('node counts') },
    CalicoLicenseNodesCapacityForecast: { leftOut: NOT_EXPORTED('node counts') },
    CalicoLicenseAgentDown: agentDown(ctx, 'tigera-operator metrics target'),
    CalicoLicenseDataStale: { leftOut: NOT_EXPORTED('time of its last successful read') },
  };
}

const DEFINITIONS: Record<Source, (ctx: Context) => Definitions> = {
  agent: agentDefinitions,
  'legacy-agent': legacyDefinitions,
  'tigera-operator': operatorDefinitions,
};

const SOURCE_NOTES: Record<Source, (ctx: Context) => string[]> = {
  agent: () => [],
  'legacy-agent': (ctx) => [
    'CalicoLicenseExpired fires whenever calico_license_valid is 0, which the legacy gauges report alike ' +
      'for a licence in its grace period, expired, invalid or missing.',
    ...(ctx.forSeconds('CalicoLicenseExpiryCritical') === 0
      ? []
      : [
          'CalicoLicenseExpiryCritical counts whole days (license_number_of_days), so its `for` cannot run ahead ' +
            `of the threshold: it fires ${ctx.config.alerts.CalicoLicenseExpiryCritical.for} after CalicoLicenseExpiringSoon stops.`,
        ]),
  ],
  'tigera-operator': (ctx) => [
    'CalicoLicenseInGracePeriod cannot say when the grace period ends: the tigera-operator does not export it.',
    'CalicoLicenseExpired follows tigera_operator_license_valid, so it fires ' +
      `${ctx.config.alerts.CalicoLicenseExpired.for} after the grace period ends, not at its end.`,
  ],
};
