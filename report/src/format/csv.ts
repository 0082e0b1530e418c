// CSV: one row per cluster and a total row, for a spreadsheet (RFC 4180 quoting, CRLF line ends).
import type { Licensed, Report, UsageSummary } from '../model.js';

const COLUMNS = [
  'cluster',
  'from',
  'to',
  'until',
  'package',
  'expiry',
  'days_valid',
  'days_in_grace',
  'days_expired',
  'days_missing',
  'days_invalid',
  'days_not_valid',
  'days_left',
  'days_no_data',
  'nodes_max',
  'nodes_p95',
  'nodes_avg',
  'nodes_licensed',
  'nodes_days_over',
  'cores_max',
  'cores_p95',
  'cores_avg',
  'cores_licensed',
  'cores_days_over',
  'coverage',
  'gaps',
  'gap_seconds',
  'alerts_firing_seconds',
  'alerts',
] as const;

type Value = string | number | null | undefined;

function quote(v: Value): string {
  if (v === null || v === undefined) return '';
  const text = typeof v === 'number' ? String(Math.round(v * 1000) / 1000) : v;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const lic = (v: Licensed) => (v === null ? '' : v);
type Usage = UsageSummary | null;
const usage = (prefix: 'nodes' | 'cores', u: Usage): Record<string, Value> =>
  u === null
    ? {}
    : {
        [`${prefix}_max`]: u.max,
        [`${prefix}_p95`]: u.p95,
        [`${prefix}_avg`]: u.avg,
        [`${prefix}_licensed`]: lic(u.licensed),
        [`${prefix}_days_over`]: u.days_over,
      };

export function csv(report: Report): string {
  const rows: Record<string, Value>[] = report.clusters.map((c) => ({
    cluster: c.cluster,
    from: report.from,
    to: report.to,
    until: report.until,
    package: c.licence.package,
    expiry: c.licence.expiry,
    days_valid: c.licence.days_valid,
    days_in_grace: c.licence.days_in_grace,
    days_expired: c.licence.days_expired,
    days_missing: c.licence.days_missing,
    days_invalid: c.licence.days_invalid,
    days_not_valid: c.licence.days_not_valid,
    days_left: c.licence.days_left,
    days_no_data: c.licence.days_no_data,
    ...usage('nodes', c.nodes),
    ...usage('cores', c.cores),
    coverage: c.coverage,
    gaps: c.gaps.length,
    gap_seconds: c.gaps.reduce((s, g) => s + g.seconds, 0),
    alerts_firing_seconds: c.alerts.reduce((s, a) => s + a.firing_seconds, 0),
    alerts: c.alerts.map((a) => `${a.alertname}=${a.firing_seconds}`).join(';'),
  }));
  rows.push({
    cluster: 'TOTAL',
    from: report.from,
    to: report.to,
    until: report.until,
    ...usage('nodes', report.total.nodes),
    ...usage('cores', report.total.cores),
    coverage: report.total.coverage,
    alerts_firing_seconds: report.total.alerts_firing_seconds,
  });
  const lines = [COLUMNS.join(','), ...rows.map((r) => COLUMNS.map((k) => quote(r[k])).join(','))];
  return `${lines.join('\r\n')}\r\n`;
}
