// The alerts: for each input source, each alert's PromQL expression, description and facts, or why
// the source cannot express it; and the license-receiver's own alerts. Pure: configuration in, rules out.
import { type Fact, parseDurationSeconds } from '@license-monitor/common';
import {
  type AlertName,
  type Config,
  LICENCE_ALERT_NAMES,
  type LicenceAlertName,
  RECEIVER_ALERT_NAMES,
  type ReceiverAlertName,
  type Source,
} from './config.js';
import { daysExpr, secondsExpr } from './duration.js';

export interface Rule {
  alert: AlertName;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  rules: Rule[];
}

export interface RuleSet {
  /** The rule groups: the licence alerts, then the license-receiver's own alerts (when enabled). */
  groups: RuleGroup[];
  /** Every rule of every group. */
  rules: Rule[];
  /** What was left out and why, and other caveats of the source; `render` prints them. */
  notes: string[];
}

/**
 * The facts an alert states as annotations of their own, besides summary and description: the
 * contract between the rules and whatever renders their alerts (the receiver's messages). Shared with
 * the receiver through @license-monitor/common.
 */
export { FACTS, type Fact } from '@license-monitor/common';

type Definition =
  | { expr: string; description: string; facts?: Partial<Record<Fact, string>> }
  | { leftOut: string };
type Definitions = Record<LicenceAlertName, Definition>;

/** Alerts whose condition is a value of the licence (as opposed to its absence or the agent's health). */
export const VALUE_ALERTS: readonly AlertName[] = [
  'CalicoLicenseExpiringSoon',
  'CalicoLicenseExpiryCritical',
  'CalicoLicenseInGracePeriod',
  'CalicoLicenseExpired',
  'CalicoLicenseNodesOverCapacity',
  'CalicoLicenseNodesNearCapacity',
  'CalicoLicenseNodesCapacityForecast',
  'CalicoLicenseCoresOverCapacity',
  'CalicoLicenseCoresNearCapacity',
  'CalicoLicenseCoresCapacityForecast',
];

/** The expiry tiers, earliest first: at any moment at most one of them fires. */
export const EXPIRY_TIERS: readonly AlertName[] = [
  'CalicoLicenseExpiringSoon',
  'CalicoLicenseExpiryCritical',
  'CalicoLicenseInGracePeriod',
  'CalicoLicenseExpired',
];

/** Each capacity kind's tiers: over capacity, near capacity, forecast. */
export const CAPACITY_TIERS: ReadonlyArray<readonly [AlertName, AlertName, AlertName]> = [
  ['CalicoLicenseNodesOverCapacity', 'CalicoLicenseNodesNearCapacity', 'CalicoLicenseNodesCapacityForecast'],
  ['CalicoLicenseCoresOverCapacity', 'CalicoLicenseCoresNearCapacity', 'CalicoLicenseCoresCapacityForecast'],
];

const ANNOTATION_ORDER = ['summary', 'description', 'runbook_url', 'remediation'];

export function buildRules(config: Config): RuleSet {
  const ctx = new Context(config);
  const notes: string[] = [...SOURCE_NOTES[config.source](ctx)];
  const disabled: string[] = [];
  const build = <N extends AlertName>(names: readonly N[], defs: Record<N, Definition>): Rule[] => {
    const rules: Rule[] = [];
    for (const name of names) {
      const def = defs[name];
      if ('leftOut' in def) {
        notes.push(`${name} is left out: ${def.leftOut}.`);
        continue;
      }
      if (!config.alerts[name].enabled) {
        disabled.push(name);
        continue;
      }
      rules.push(rule(config, name, def));
    }
    return rules;
  };
  const groups: RuleGroup[] = [
    { name: config.groupName, rules: build(LICENCE_ALERT_NAMES, DEFINITIONS[config.source](ctx)) },
  ];
  if (config.licenseReceiver.enabled) {
    const receiverRules = build(RECEIVER_ALERT_NAMES, receiverDefinitions(config));
    if (receiverRules.length > 0)
      groups.push({ name: config.licenseReceiver.groupName, rules: receiverRules });
  }
  if (disabled.length > 0) notes.push(`Disabled in the configuration: ${disabled.join(', ')}.`);
  return { groups, rules: groups.flatMap((g) => g.rules), notes };
}

function rule(
  config: Config,
  name: AlertName,
  def: { expr: string; description: string; facts?: Partial<Record<Fact, string>> },
): Rule {
  const settings = config.alerts[name];
  const annotations: Record<string, string> = {
    description: def.description,
    runbook_url: config.runbookUrlPattern.replace('%s', name),
    ...def.facts,
    ...config.annotations,
    ...settings.annotations,
  };
  return {
    alert: name,
    expr: def.expr,
    for: settings.for,
    labels: { severity: settings.severity, ...config.labels, ...settings.labels },
    annotations: orderAnnotations(annotations),
  };
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
  constructor(
    readonly config: Config,
    /** The target's label matchers, put in every selector. */
    readonly selector = config.selector,
  ) {}

  /** A vector selector: the metric with the target selector and any extra matchers. */
  m(metric: string, extra?: string): string {
    return `${metric}{${this.selector.trim()}${extra === undefined ? '' : `,${extra}`}}`;
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
   * A template that evaluates a PromQL expression about the alert's own target (job, instance and
   * cluster label of the alert, plus `extra` labels) and writes its first value with `format` (given
   * the template pipeline that yields the value), or `fallback` when there is none. `expr` receives
   * the selector to use for each metric.
   */
  query(
    expr: (sel: (metric: string, matchers?: string) => string) => string,
    format: (value: string) => string,
    fallback: string,
    extra: string[] = [],
  ): string {
    const labels = [...new Set(['job', 'instance', this.cluster, ...extra])];
    const matchers = labels.map((l) => `${l}=%q`).join(',');
    const text = expr((metric, more) => `${metric}{${matchers}${more === undefined ? '' : `,${more}`}}`);
    const selectors = (text.split('%q').length - 1) / labels.length;
    const args = Array.from({ length: selectors }, () => labels.map((l) => `$labels.${l}`).join(' ')).join(
      ' ',
    );
    const otherwise = fallback === '' ? '' : `{{ else }}${fallback}`;
    return `{{ with printf \`${text}\` ${args} | query }}${format('. | first | value')}${otherwise}{{ end }}`;
  }

  /** `query` of one metric, its value passed through a template function such as humanizeTimestamp. */
  lookup(metric: string, fn: string, fallback: string, extra: string[] = []): string {
    return this.query(
      (sel) => sel(metric),
      (v) => `{{ ${v} | ${fn} }}`,
      fallback,
      extra,
    );
  }
}

const lines = (...parts: string[]) => parts.filter((p) => p !== '').join('\n');
const DATE = 'humanizeTimestamp';
const DURATION = 'humanizeDuration';
const COUNT = 'printf "%.0f"';
/** A Unix timestamp as RFC 3339 in UTC (toTime: Prometheus 2.38+). */
const rfc3339 = (v: string) => `{{ (toTime (${v})).Format "2006-01-02T15:04:05Z07:00" }}`;
const count = (v: string) => `{{ ${v} | ${COUNT} }}`;
/** Whole days from now to a timestamp metric, rounded down. */
const daysUntil = (ctx: Context, metric: string, extra: string[] = []) =>
  ctx.query((sel) => `floor((${sel(metric)} - time()) / 86400)`, count, '', extra);

/** A Prometheus duration for a number of seconds: 172800 → "2d", 5400 → "1h30m". */
function durationText(seconds: number): string {
  const units: Array<[string, number]> = [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ];
  let rest = Math.round(seconds);
  let out = '';
  for (const [unit, size] of units) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out === '' ? '0s' : out;
}

interface CapacityKind<Names extends LicenceAlertName = LicenceAlertName> {
  names: { over: Names; near: Names; forecast: Names };
  used: string;
  max: string;
  /** "nodes", "CPU cores": how descriptions name what is counted. */
  what: string;
  /** The prefix of the facts: nodes_used, nodes_licensed, nodes_forecast. */
  facts: 'nodes' | 'cores';
  /** What going over means, after "the cluster is out of licence compliance". */
  overMeans: string;
}

const NODES: CapacityKind<
  'CalicoLicenseNodesOverCapacity' | 'CalicoLicenseNodesNearCapacity' | 'CalicoLicenseNodesCapacityForecast'
> = {
  names: {
    over: 'CalicoLicenseNodesOverCapacity',
    near: 'CalicoLicenseNodesNearCapacity',
    forecast: 'CalicoLicenseNodesCapacityForecast',
  },
  used: 'calico_nodes_used',
  max: 'calico_maximum_licensed_nodes',
  what: 'nodes',
  facts: 'nodes',
  overMeans:
    'Calico does not enforce the limit, so nothing stops working, but the cluster is out of licence compliance.',
};

const CORES: CapacityKind<
  'CalicoLicenseCoresOverCapacity' | 'CalicoLicenseCoresNearCapacity' | 'CalicoLicenseCoresCapacityForecast'
> = {
  names: {
    over: 'CalicoLicenseCoresOverCapacity',
    near: 'CalicoLicenseCoresNearCapacity',
    forecast: 'CalicoLicenseCoresCapacityForecast',
  },
  used: 'calico_cores_used',
  max: 'calico_maximum_licensed_cores',
  what: 'CPU cores',
  facts: 'cores',
  overMeans:
    "The cluster is out of licence compliance: Tigera's own usage reports count the same cores. Tigera does not document enforcing the limit.",
};

/**
 * Over capacity, near capacity and the forecast for one kind of limit (nodes or cores), from a
 * "used" and a "licensed" gauge. The licensed gauge is +Inf without a limit and 0 when unknown
 * (Tigera's agent reports 0 for a licence that is not valid): neither fires anything.
 */
function capacityDefinitions<Names extends LicenceAlertName>(
  ctx: Context,
  kind: CapacityKind<Names>,
): Record<Names, Definition> {
  const { config } = ctx;
  const used = ctx.m(kind.used);
  const max = ctx.m(kind.max);
  const maxText = ctx.lookup(kind.max, COUNT, 'an unknown number of');
  const usedText = ctx.lookup(kind.used, COUNT, 'an unknown number of');
  const facts = {
    [`${kind.facts}_used`]: ctx.lookup(kind.used, COUNT, ''),
    [`${kind.facts}_licensed`]: ctx.lookup(kind.max, COUNT, ''),
  } as Partial<Record<Fact, string>>;
  const near = config.alerts[kind.names.near] as { ratio: number };
  const guard = `# A licensed count of 0 means "unknown" (Tigera's agent reports 0 for a licence that is not valid); +Inf means no limit.`;
  return {
    [kind.names.over]: {
      expr: lines(guard, `${used} > ${max}`, 'and', `${max} > 0`),
      description:
        `{{ $value | ${COUNT} }} ${kind.what} are in use${ctx.inCluster}, more than the ${maxText} the licence allows. ` +
        kind.overMeans,
      facts,
    },
    [kind.names.near]: {
      expr: lines(
        guard,
        `${used} / ${max} >= ${near.ratio}`,
        'and',
        `${used} <= ${max}`,
        'and',
        `${max} > 0`,
      ),
      description:
        `${usedText} of ${maxText} licensed ${kind.what} are in use${ctx.inCluster} ({{ $value | humanizePercentage }}; ` +
        `this alert starts at ${formatPercent(near.ratio)}).`,
      facts,
    },
    [kind.names.forecast]: forecastDefinition(ctx, kind, facts),
  } as Record<Names, Definition>;
}

/**
 * The forecast: the trend of the average over a whole `window` (1d), projected `horizon` ahead from
 * the highest count of the last window. The trend compares the average of the last window with the
 * average of the window that ended `range − window` earlier, so
 * - a pattern that repeats every window (daily autoscaling swings) has the same average in both
 *   windows and forecasts no growth, whatever its shape (predict_linear over whole days does not
 *   cancel it: a day at 95 % with 6 hours at 50 % fits a rising line that crosses 100 %);
 * - it needs `range` of history: the series must have had samples `range` ago, so a fresh install
 *   (or an agent that moved to another instance) stays quiet until it has them.
 */
function forecastDefinition(
  ctx: Context,
  kind: CapacityKind,
  facts: Partial<Record<Fact, string>>,
): Definition {
  const settings = ctx.config.alerts[kind.names.forecast] as {
    range: string;
    window: string;
    horizon: string;
  };
  const range = parseDurationSeconds(settings.range) ?? 0;
  const window = parseDurationSeconds(settings.window) ?? 0;
  const horizon = parseDurationSeconds(settings.horizon) ?? 0;
  const distance = durationText(range - window);
  const w = settings.window;
  const used = ctx.m(kind.used);
  const max = ctx.m(kind.max);
  const growth = (sel: string) =>
    `(avg_over_time(${sel}[${w}]) - avg_over_time(${sel}[${w}] offset ${distance}))`;
  const historyProbe = durationText(Math.min(window, 3600));
  const perDay = ctx.query(
    (sel) => `${growth(sel(kind.used))} * 86400 / (${secondsExpr(range - window)})`,
    (v) => `{{ ${v} | printf "%.1f" }}`,
    'an unknown number of',
  );
  return {
    expr: lines(
      `# Trend: the average of the last ${w} against the average of the ${w} that ended ${distance} earlier,`,
      `# ${settings.horizon} ahead, added to the highest count of the last ${w}. An average over a whole ${w}`,
      `# cancels any pattern that repeats every ${w} (autoscaling swings).`,
      '(',
      `  max_over_time(${used}[${w}])`,
      `  + ${growth(used)} * (${secondsExpr(horizon)}) / (${secondsExpr(range - window)})`,
      `) > ${max}`,
      'and',
      '# Only while not over the limit yet (that is the over-capacity alert).',
      `${used} <= ${max}`,
      'and',
      `${max} > 0`,
      'and',
      `# History: only once the series has samples from ${settings.range} ago, so a fresh install waits ${settings.range}.`,
      `last_over_time(${used}[${historyProbe}] offset ${settings.range})`,
    ),
    description:
      `${capitalize(kind.what)} in use${ctx.inCluster} grow by about ${perDay} a day (the average of the last ${w} ` +
      `against the ${w} that ended ${distance} earlier). At that rate about {{ $value | ${COUNT} }} will be in use ` +
      `at the peak within ${settings.horizon}, more than the ${ctx.lookup(kind.max, COUNT, 'an unknown number of')} ` +
      `the licence allows (${ctx.lookup(kind.used, COUNT, 'an unknown number of')} now). The forecast waits for ` +
      `${settings.range} of history and ignores swings that repeat every ${w}.`,
    facts: { ...facts, [`${kind.facts}_forecast`]: `{{ $value | ${COUNT} }}` },
  };
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

function formatPercent(ratio: number): string {
  return `${Math.round(ratio * 10_000) / 100}%`;
}

/** Down, gone (seen within `seenWithin`, per cluster) or never there: for any scrape target. */
function targetDown(ctx: Context, seenWithin: string, description: string): Definition {
  const up = ctx.m('up');
  const by = `(${[...new Set([ctx.cluster, 'job'])].join(', ')})`;
  return {
    expr: lines(
      '# Down: the target is scraped and fails.',
      `${up} == 0`,
      'or',
      `# Gone: the target was there within ${seenWithin} and is not any more (per cluster).`,
      '(',
      `  group by ${by} (max_over_time(${up}[${seenWithin}]))`,
      `  unless on ${by}`,
      `  group by ${by} (${up})`,
      ')',
      'or',
      `# Never there: no such target within ${seenWithin}.`,
      `absent_over_time(${up}[${seenWithin}])`,
    ),
    description,
  };
}

function agentDown(ctx: Context, target: string): Definition {
  return targetDown(
    ctx,
    ctx.config.alerts.CalicoLicenseAgentDown.seenWithin,
    `{{ if $labels.instance }}Prometheus${ctx.inCluster} cannot scrape the ${target} {{ $labels.instance }} ` +
      `(job {{ $labels.job }}){{ else }}Prometheus${ctx.inCluster} has no ${target} target for job {{ $labels.job }}{{ end }}. ` +
      'While it is down, no other licence alert can fire and their last state may be out of date.',
  );
}

const NOT_EXPORTED = (what: string) => `the source exports no ${what}`;
const LEGACY_NO_CORES =
  "Tigera's licence agent exports no core counts (only calico_nodes_used and calico_maximum_licensed_nodes); use this project's agent";

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
  const facts = {
    days_left: daysUntil(ctx, 'calico_license_expiry_timestamp_seconds'),
    expires_at: ctx.query((sel) => sel('calico_license_expiry_timestamp_seconds'), rfc3339, ''),
    grace_period_ends_at: ctx.query(
      (sel) => sel('calico_license_grace_period_end_timestamp_seconds'),
      rfc3339,
      '',
    ),
  };
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
      facts: { days_left: facts.days_left, expires_at: facts.expires_at },
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
      facts,
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
      facts: { expires_at: facts.expires_at, grace_period_ends_at: facts.grace_period_ends_at },
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
      facts: { expires_at: facts.expires_at, grace_period_ends_at: facts.grace_period_ends_at },
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
    ...capacityDefinitions(ctx, NODES),
    ...capacityDefinitions(ctx, CORES),
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
      facts: { days_left: `{{ $value | ${COUNT} }}` },
    },
    CalicoLicenseExpiryCritical: {
      expr: lines(
        `# Critical tier: whole days left < ${critical.days}, licence still valid.`,
        `${daysLeft} < ${critical.days}`,
        'and',
        `${valid} == 1`,
      ),
      description: `The Calico Enterprise licence${ctx.inCluster} has {{ $value }} whole days left before it expires.`,
      facts: { days_left: `{{ $value | ${COUNT} }}` },
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
    ...capacityDefinitions(ctx, NODES),
    CalicoLicenseCoresOverCapacity: { leftOut: LEGACY_NO_CORES },
    CalicoLicenseCoresNearCapacity: { leftOut: LEGACY_NO_CORES },
    CalicoLicenseCoresCapacityForecast: { leftOut: LEGACY_NO_CORES },
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
  const metric = 'tigera_operator_license_expiry_timestamp_seconds';
  const facts = {
    days_left: daysUntil(ctx, metric, ['package']),
    expires_at: ctx.query((sel) => sel(metric), rfc3339, '', ['package']),
  };
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
      facts,
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
      facts,
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
      facts: { expires_at: facts.expires_at },
    },
    CalicoLicenseExpired: {
      expr: lines(validComment, `${valid} == 0`),
      description:
        `The tigera-operator${ctx.inCluster} reports the Calico Enterprise licence ${pkg} as no longer valid: it ` +
        `expired on ${expiryDate} and its grace period is over. Calico Enterprise features are restricted until a ` +
        'renewed licence is applied.',
      facts: { expires_at: facts.expires_at },
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
    CalicoLicenseCoresOverCapacity: { leftOut: NOT_EXPORTED('core counts') },
    CalicoLicenseCoresNearCapacity: { leftOut: NOT_EXPORTED('core counts') },
    CalicoLicenseCoresCapacityForecast: { leftOut: NOT_EXPORTED('core counts') },
    CalicoLicenseAgentDown: agentDown(ctx, 'tigera-operator metrics target'),
    CalicoLicenseDataStale: { leftOut: NOT_EXPORTED('time of its last successful read') },
  };
}

// ---------------------------------------------------------------------------------------------
// The license-receiver's own alerts: the same for every source, on its own selector. Its metrics
// (receiver/src/metrics.ts) carry a `channel` label; every alert is per channel and target.

function receiverDefinitions(config: Config): Record<ReceiverAlertName, Definition> {
  const ctx = new Context(config, config.licenseReceiver.selector);
  const a = config.alerts;
  const by = `(${[...new Set([ctx.cluster, 'job', 'instance', 'channel'])].join(', ')})`;
  const failingWindow = a.LicenseReceiverNotificationsFailing.window;
  const deadWithin = a.LicenseReceiverDeadLetters.within;
  const backlogAfter = a.LicenseReceiverOutboxBacklog.after;
  const channel = 'channel {{ $labels.channel }}';
  const receiver = `the license-receiver {{ $labels.instance }}${ctx.inCluster}`;
  const deadNow = ctx.query(
    (sel) => `sum(${sel('license_receiver_outbox_rows', 'state="dead"')})`,
    count,
    'an unknown number of',
    ['channel'],
  );
  return {
    LicenseReceiverDown: targetDown(
      ctx,
      a.LicenseReceiverDown.seenWithin,
      `{{ if $labels.instance }}Prometheus${ctx.inCluster} cannot scrape the license-receiver {{ $labels.instance }} ` +
        `(job {{ $labels.job }}){{ else }}Prometheus${ctx.inCluster} has no license-receiver target for job {{ $labels.job }}{{ end }}. ` +
        'While it is down, licence alerts reach no Slack, email or ticket: Alertmanager retries its webhook, ' +
        'but gives up on a notification after its repeat.',
    ),
    LicenseReceiverDeadLetters: {
      expr: lines(
        `# Any notification given up on (permanent error, or older than delivery.max_age) within ${deadWithin}.`,
        `sum by ${by} (increase(${ctx.m('license_receiver_notifications_dead_lettered_total')}[${deadWithin}])) > 0`,
      ),
      description:
        `${capitalize(receiver)} gave up on about {{ $value | ${COUNT} }} notification(s) for ${channel} in the ` +
        `last ${deadWithin}: they will not be delivered unless retried. ${deadNow} dead letter(s) of this ` +
        'channel are in its outbox now; the receiver logs "notification dead-lettered" with the error.',
    },
    LicenseReceiverNotificationsFailing: {
      expr: lines(
        `# Deliveries to the channel fail (at least one failure in every ${failingWindow}) and none succeeds.`,
        `# ${failingWindow} must be longer than the receiver's longest retry delay (delivery.backoff.max × (1 + jitter): 7.5m by default).`,
        `sum by ${by} (increase(${ctx.m('license_receiver_notifications_failed_total')}[${failingWindow}])) > 0`,
        `unless on ${by}`,
        `sum by ${by} (increase(${ctx.m('license_receiver_notifications_sent_total')}[${failingWindow}])) > 0`,
      ),
      description:
        `Every delivery from ${receiver} to ${channel} has failed for at least ` +
        `${a.LicenseReceiverNotificationsFailing.for} (about {{ $value | ${COUNT} }} failed attempt(s) in the last ` +
        `${failingWindow}, none delivered). Licence notifications wait in the outbox and become dead letters ` +
        'after delivery.max_age.',
    },
    LicenseReceiverOutboxBacklog: {
      expr: lines(
        `# The oldest notification not yet delivered has waited longer than ${backlogAfter}.`,
        `${ctx.m('license_receiver_outbox_oldest_age_seconds')} > ${secondsExpr(parseDurationSeconds(backlogAfter) ?? 0)}`,
      ),
      description:
        `The oldest notification for ${channel} in the outbox of ${receiver} has waited ` +
        `{{ $value | ${DURATION} }} (this alert starts at ${backlogAfter}): the channel is failing, paused by a ` +
        'rate limit, or the receiver cannot keep up.',
    },
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
