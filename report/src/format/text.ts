// How figures are written for people (Markdown, HTML), once.
import type { ClusterReport, Licensed, Report } from '../model.js';
import { DAY_MS, shortTime } from '../period.js';

export const NO_LABEL = '(no cluster label)';

export const clusterName = (c: { cluster: string }) => (c.cluster === '' ? NO_LABEL : c.cluster);

/** "1 cluster", "3 clusters" */
export const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** 130, 83.4, – for none. */
export function num(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

export function licensed(v: Licensed): string {
  return v === null ? 'unknown' : v === 'unlimited' ? 'unlimited' : String(v);
}

export function percent(share: number): string {
  if (share === 1) return '100%';
  // Never round an incomplete coverage up to 100%.
  return `${(Math.floor(share * 1000) / 10).toFixed(1)}%`;
}

/** 3 d 4 h, 69 h 57 min, 12 min, 40 s. */
export function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 72) return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
  const days = Math.floor(hours / 24);
  return hours % 24 === 0 ? `${days} d` : `${days} d ${hours % 24} h`;
}

/** 2026-11-05 13:05 from an ISO time. */
export const when = (iso: string) => shortTime(Date.parse(iso));

/** "2026-11-01 to 2026-11-30" (the last day, inclusive) for titles. */
export function periodTitle(report: Report): string {
  const last = new Date(Date.parse(report.to) - DAY_MS).toISOString().slice(0, 10);
  const first = report.from.slice(0, 10);
  return first === last ? first : `${first} to ${last}`;
}

export function dayCountOf(report: Report): number {
  return Math.round((Date.parse(report.to) - Date.parse(report.from)) / DAY_MS);
}

/** "30 whole UTC days, … (end excluded)", and how far a period in progress is covered. */
export function periodLine(report: Report): string {
  const base = `${plural(dayCountOf(report), 'whole UTC day')}, ${when(report.from)} to ${when(report.to)} (end excluded)`;
  return report.until === report.to
    ? `${base}.`
    : `${base}, in progress: figures up to ${when(report.until)} UTC.`;
}

/** One sentence on the licence's days. */
export function licenceDays(c: ClusterReport): string {
  const l = c.licence;
  const parts =
    l.days_not_valid !== undefined
      ? [`valid ${l.days_valid}`, `not valid ${l.days_not_valid}`]
      : [
          `valid ${l.days_valid}`,
          `in grace ${l.days_in_grace}`,
          `expired ${l.days_expired}`,
          `missing ${l.days_missing}`,
          ...(l.days_invalid ? [`invalid ${l.days_invalid}`] : []),
        ];
  return `${parts.join(', ')}, no data ${l.days_no_data}`;
}

export function expiryText(c: ClusterReport): string {
  if (c.licence.expiry !== null) return when(c.licence.expiry);
  if (c.licence.days_left !== undefined && c.licence.days_left !== null)
    return `${c.licence.days_left} days left`;
  return '–';
}

export const alertsText = (c: ClusterReport) =>
  c.alerts.length === 0
    ? 'none'
    : c.alerts.map((a) => `${a.alertname} ${duration(a.firing_seconds)} (${a.episodes.length}×)`).join(', ');
