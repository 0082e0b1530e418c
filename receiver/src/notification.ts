// The channel-neutral view of an alert group that every channel renders: alerts split by status,
// the group's title, the licence facts it carries, remediation and links. Pure apart from reading
// runbooks through the catalog.
import { FACT_NAMES, type Fact } from '@license-monitor/common';
import { type AlertmanagerPayload, isZeroTime } from './alertmanager.js';
import { alertFingerprint, type GroupIdentity } from './outbox/idempotency.js';
import {
  type Links,
  type Remediation,
  type RunbookCatalog,
  resolveRemediation,
  safeUrl,
  silenceUrl,
} from './remediation.js';

export interface AlertView {
  fingerprint: string;
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Labels that are not common to the whole group: what tells this alert from its siblings. */
  distinct: Record<string, string>;
  startsAt: number;
  endsAt?: number;
  generatorURL?: string;
}

type Camel<S extends string> = S extends `${infer H}_${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;

/**
 * The facts of the rules' annotation contract (FACTS in @license-monitor/common: `days_left`,
 * `expires_at`, `nodes_used`…), read from the alert's annotations and named in camelCase (`daysLeft`).
 * A value is as the rule wrote it; '' means the rule could not read the number.
 */
export type LicenceFacts = { [K in Fact as Camel<K>]?: string };

const camel = (name: string) => name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

export interface GroupView {
  id: string;
  identity: string;
  receiver: string;
  status: 'firing' | 'resolved';
  groupKey?: string;
  reason?: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  firing: AlertView[];
  resolved: AlertView[];
  truncatedAlerts: number;
  alertname: string;
  cluster?: string;
  severity?: string;
  /** `CalicoLicenseExpiringSoon cluster=prod`: the alert name and the other group labels. */
  title: string;
  summary?: string;
  description?: string;
  facts: LicenceFacts;
  remediation: Remediation;
  links: Links;
  /** Earliest startsAt of the alerts in the payload. */
  startedAt: number;
  /** Latest endsAt of the resolved alerts, when the whole group is resolved. */
  resolvedAt?: number;
  /**
   * For a resolved group, the licence values now (asked from Prometheus when `prometheus_url` is set):
   * what the message may state as the current state, instead of the facts of when it fired.
   */
  current?: LicenceFacts;
}

export interface ViewOptions {
  identity: GroupIdentity;
  receiver: string;
  catalog: RunbookCatalog;
  /** Label that names the cluster (default `cluster`). */
  clusterLabel: string;
  /** Overrides the payload's externalURL for silence links (when Alertmanager's own URL is internal). */
  alertmanagerUrl?: string;
}

const SEVERITY_RANK: Record<string, number> = { critical: 3, error: 2, warning: 1, info: 0 };

export function buildGroupView(payload: AlertmanagerPayload, options: ViewOptions): GroupView {
  const common = payload.commonLabels;
  const alerts: AlertView[] = payload.alerts
    .map((a) => {
      const distinct: Record<string, string> = {};
      for (const [k, v] of Object.entries(a.labels)) if (common[k] !== v) distinct[k] = v;
      const view: AlertView = {
        fingerprint: alertFingerprint(a),
        status: a.status,
        labels: a.labels,
        annotations: a.annotations,
        distinct,
        startsAt: Date.parse(a.startsAt),
      };
      if (!isZeroTime(a.endsAt)) view.endsAt = Date.parse(a.endsAt as string);
      const url = safeUrl(a.generatorURL);
      if (url) view.generatorURL = url;
      return view;
    })
    .sort((a, b) => a.startsAt - b.startsAt || a.fingerprint.localeCompare(b.fingerprint));
  const firing = alerts.filter((a) => a.status === 'firing');
  const resolved = alerts.filter((a) => a.status === 'resolved');
  const first = firing[0] ?? resolved[0] ?? alerts[0];
  const lead = first as AlertView;

  const alertname = common.alertname ?? payload.groupLabels.alertname ?? lead.labels.alertname ?? 'Alert';
  const cluster = common[options.clusterLabel] ?? payload.groupLabels[options.clusterLabel];
  const severity =
    common.severity ??
    alerts
      .map((a) => a.labels.severity)
      .filter((s): s is string => s !== undefined)
      .sort((a, b) => (SEVERITY_RANK[b] ?? -1) - (SEVERITY_RANK[a] ?? -1))[0];
  const titleLabels = Object.entries(payload.groupLabels)
    .filter(([k]) => k !== 'alertname')
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`);
  if (titleLabels.length === 0 && cluster !== undefined && payload.groupLabels.alertname !== undefined)
    titleLabels.push(`${options.clusterLabel}=${cluster}`);
  // Annotations: common ones win; else the lead alert's.
  const annotations = { ...lead.annotations, ...payload.commonAnnotations };

  const status = firing.length > 0 ? 'firing' : 'resolved';
  const view: GroupView = {
    id: options.identity.id,
    identity: options.identity.text,
    receiver: options.receiver,
    status,
    groupLabels: payload.groupLabels,
    commonLabels: common,
    commonAnnotations: payload.commonAnnotations,
    firing,
    resolved,
    truncatedAlerts: payload.truncatedAlerts ?? 0,
    alertname,
    title: [alertname, ...titleLabels].join(' '),
    facts: pickFacts(annotations),
    remediation: resolveRemediation({ alertname, annotations }, options.catalog),
    links: {},
    startedAt: Math.min(...alerts.map((a) => a.startsAt)),
  };
  if (payload.groupKey) view.groupKey = payload.groupKey;
  if (payload.notification_reason) view.reason = payload.notification_reason;
  if (cluster !== undefined) view.cluster = cluster;
  if (severity !== undefined) view.severity = severity;
  if (annotations.summary) view.summary = annotations.summary;
  if (annotations.description) view.description = annotations.description;
  if (status === 'resolved') {
    const ends = resolved.map((a) => a.endsAt).filter((t): t is number => t !== undefined);
    if (ends.length > 0) view.resolvedAt = Math.max(...ends);
  }
  const runbook = safeUrl(annotations.runbook_url);
  if (runbook) view.links.runbook = runbook;
  if (lead.generatorURL) view.links.graph = lead.generatorURL;
  const silenceLabels = Object.keys(common).length > 0 ? common : payload.groupLabels;
  const silence = silenceUrl(options.alertmanagerUrl ?? payload.externalURL ?? undefined, silenceLabels);
  if (silence) view.links.silence = silence;
  return view;
}

/** Exactly the contract's annotations, nothing else (no labels, no other names). */
function pickFacts(annotations: Record<string, string>): LicenceFacts {
  const facts: Record<string, string> = {};
  for (const name of FACT_NAMES) {
    const value = annotations[name];
    if (value !== undefined) facts[camel(name)] = value.trim();
  }
  return facts as LicenceFacts;
}
