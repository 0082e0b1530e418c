// Markdown: for a ticket or an email. A summary table, a section per cluster, and how it was computed.
import type { ClusterReport, Report, TotalReport, UsageFigures, UsageSummary } from '../model.js';
import {
  alertsText,
  clusterName,
  duration,
  expiryText,
  licenceDays,
  licensed,
  num,
  percent,
  periodLine,
  periodTitle,
  plural,
  when,
} from './text.js';

const cell = (text: string) => text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\n/g, ' ');
const row = (cells: string[]) => `| ${cells.map(cell).join(' | ')} |`;

type Usage = UsageSummary;
const usageCells = (u: Usage) => [
  num(u.max),
  num(u.p95),
  num(u.avg),
  licensed(u.licensed),
  String(u.days_over),
];

export function markdown(report: Report): string {
  const out: string[] = [];
  out.push(`# Calico Enterprise licence usage, ${periodTitle(report)}`, '');
  out.push(
    `${periodLine(report)} ` +
      `Read from ${report.prometheus_url} (\`${report.selector}\`, clusters told apart by the label ` +
      `\`${report.cluster_label}\`, ${report.source === 'agent' ? "license-monitor's agent" : "Tigera's legacy agent"}) ` +
      `on ${when(report.generated_at)} UTC.`,
    '',
  );
  if (report.clusters.length === 0) {
    out.push(
      '**No licence metrics were found for this period.** Check `--selector` and `--prometheus-url`.',
      '',
    );
    return `${out.join('\n')}\n`;
  }
  out.push(
    row([
      'cluster',
      'licence',
      'expiry (UTC)',
      'nodes peak',
      'p95',
      'average',
      'licensed',
      'days over',
      'coverage',
    ]),
    '|---|---|---|--:|--:|--:|--:|--:|--:|',
  );
  for (const c of report.clusters) {
    out.push(
      row([
        clusterName(c),
        c.licence.package ?? '–',
        expiryText(c),
        ...usageCells(c.nodes),
        percent(c.coverage),
      ]),
    );
  }
  out.push(totalRow(report.total, report.total.nodes), '');
  const withCores = report.clusters.filter((c) => c.cores !== null);
  if (withCores.length > 0 && report.total.cores) {
    out.push(
      row(['cluster', 'cores peak', 'p95', 'average', 'licensed', 'days over']),
      '|---|--:|--:|--:|--:|--:|',
    );
    for (const c of withCores) out.push(row([clusterName(c), ...usageCells(c.cores as UsageFigures)]));
    out.push(row(['**total**', ...usageCells(report.total.cores)]), '');
  }
  for (const c of report.clusters) out.push(...section(c), '');
  out.push(...method(report));
  return `${out.join('\n')}\n`;
}

function totalRow(total: TotalReport, usage: Usage): string {
  return row([
    `**total** (${plural(total.clusters, 'cluster')})`,
    '',
    '',
    ...usageCells(usage),
    percent(total.coverage),
  ]);
}

function overText(kind: string, u: UsageFigures): string[] {
  const lines: string[] = [];
  if (u.days_over === 0) lines.push(`- **${kind}:** never over the licensed count.`);
  else {
    const days = u.over_days.map((d) => `${d.date} (peak ${d.peak} of ${d.licensed})`).join(', ');
    lines.push(`- **${kind} over the limit on ${plural(u.days_over, 'day')}:** ${days}.`);
  }
  if (u.licensed_changes.length > 0) {
    const changes = u.licensed_changes.map((ch) => `${when(ch.at)} → ${licensed(ch.licensed)}`).join(', ');
    lines.push(`- **Licensed ${kind.toLowerCase()} changed:** ${changes} (UTC).`);
  }
  return lines;
}

function section(c: ClusterReport): string[] {
  const lines = [`## ${clusterName(c)}`, ''];
  const pkg = c.licence.package ?? 'package unknown';
  lines.push(
    `- **Licence:** ${pkg}, expiry ${expiryText(c)}${c.licence.expiry ? ' UTC' : ''}. Days ${licenceDays(c)}.`,
  );
  lines.push(...overText('Nodes', c.nodes));
  if (c.cores) lines.push(...overText('Cores', c.cores));
  if (c.gaps.length === 0) lines.push(`- **Coverage:** ${percent(c.coverage)} of the period, no gaps.`);
  else {
    const gaps = c.gaps.map((g) => `${when(g.from)} – ${when(g.to)} (${duration(g.seconds)})`).join(', ');
    lines.push(
      `- **Coverage:** ${percent(c.coverage)} of the period. No data (not zero usage): ${gaps} UTC.`,
    );
  }
  lines.push(`- **Alerts fired:** ${alertsText(c)}.`);
  for (const a of c.alerts) {
    const episodes = a.episodes.map((e) => `${when(e.from)} – ${when(e.to)}`).join(', ');
    lines.push(`  - ${a.alertname}: ${episodes} UTC.`);
  }
  return lines;
}

function method(report: Report): string[] {
  const w = report.method.window_seconds / 60;
  return [
    '## How these figures are computed',
    '',
    `The period is cut into ${w}-minute windows that hold every sample exactly once (the server's range ` +
      `selectors are ${report.method.range_selectors}; the ranges are set so that a sample at 00:00 belongs to ` +
      `the day it starts). **Peak** is the highest sample (\`max_over_time\`), so even a single scrape above ` +
      `the rest counts. **p95** is the 95th percentile of the ${w}-minute peaks and **average** the mean of ` +
      `the ${w}-minute averages, both over the windows with data only. A **day over** is a UTC day on which ` +
      'usage exceeded the licensed count in force at that time (a renewal changes the limit from then on). ' +
      `**Coverage** is the share of ${w}-minute windows with samples; missing data is listed as a gap, never ` +
      'counted as zero. Licence days count each UTC day once, in the worst state reported that day. Alert ' +
      'durations run from the first firing evaluation of `ALERTS` to the evaluation that found it resolved.',
    '',
  ];
}
