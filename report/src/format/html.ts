// HTML: one self-contained page (inline CSS and SVG, no scripts, no external assets) with the summary,
// and per cluster a chart of usage against the licensed count — gaps shaded, days over marked — and
// the figures. Drawn here, no browser needed.
import type {
  ChartData,
  ClusterReport,
  Report,
  ReportData,
  TotalReport,
  UsageFigures,
  UsageSummary,
} from '../model.js';
import { DAY_MS, type Grid, isoDay } from '../period.js';
import {
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

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1f2328;margin:24px auto;max-width:1040px;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h3{font-size:14px;margin:12px 0 2px;color:#57606a}h2{font-size:18px;margin:32px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
p.meta{color:#57606a;margin:0 0 16px}
table{border-collapse:collapse;margin:8px 0 16px}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:right}
th{background:#f6f8fa}td:first-child,th:first-child{text-align:left}tr.total td{font-weight:600;background:#f6f8fa}
td.over{color:#b42318;font-weight:600}td.gap{color:#9a6700}
svg{display:block;max-width:100%;height:auto}
.legend{color:#57606a;font-size:12px;margin:2px 0 8px}.legend span{margin-right:16px;white-space:nowrap}
.sw{display:inline-block;width:14px;height:10px;margin-right:4px;vertical-align:baseline}
ul{margin:4px 0 8px;padding-left:20px}
`;

const C = {
  used: '#0969da',
  licensed: '#bf8700',
  gap: '#d0d7de',
  over: '#ffd8d3',
  axis: '#8c959f',
  text: '#57606a',
};

export function html(data: ReportData): string {
  const { report, charts } = data;
  const body = [
    `<h1>Calico Enterprise licence usage, ${esc(periodTitle(report))}</h1>`,
    `<p class="meta">${esc(periodLine(report))} ` +
      `Read from ${esc(report.prometheus_url)} (<code>${esc(report.selector)}</code>, label <code>${esc(report.cluster_label)}</code>) ` +
      `on ${esc(when(report.generated_at))} UTC.</p>`,
  ];
  if (report.clusters.length === 0)
    body.push('<p><strong>No licence metrics were found for this period.</strong></p>');
  else body.push(summary(report));
  for (const c of report.clusters) body.push(section(c, charts.get(c.cluster), report));
  body.push(
    '<h2>How these figures are computed</h2>',
    `<p>${report.method.window_seconds / 60}-minute windows hold every sample exactly once (range selectors: ${esc(report.method.range_selectors)}). ` +
      'Peak is the highest sample; p95 the 95th percentile of the 5-minute peaks; average the mean of the 5-minute averages, over windows with data. ' +
      'A day over is a UTC day on which usage exceeded the licensed count in force at that time. Coverage is the share of 5-minute windows with samples: ' +
      'gaps are shaded, never read as zero.</p>',
  );
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Calico Enterprise licence usage, ${esc(periodTitle(report))}</title><style>${STYLE}</style></head>
<body>
${body.join('\n')}
</body></html>
`;
}

type Usage = UsageSummary;
const usageCells = (u: Usage) =>
  [num(u.max), num(u.p95), num(u.avg), licensed(u.licensed)].map((v) => `<td>${esc(v)}</td>`).join('') +
  `<td${u.days_over > 0 ? ' class="over"' : ''}>${u.days_over}</td>`;

function summary(report: Report): string {
  const t: TotalReport = report.total;
  const rows = report.clusters.map(
    (c) =>
      `<tr><td><a href="#${esc(anchor(c))}">${esc(clusterName(c))}</a></td><td>${esc(c.licence.package ?? '–')}</td>` +
      `<td>${esc(expiryText(c))}</td>${usageCells(c.nodes)}<td${c.coverage < 1 ? ' class="gap"' : ''}>${percent(c.coverage)}</td></tr>`,
  );
  rows.push(
    `<tr class="total"><td>Total (${plural(t.clusters, 'cluster')})</td><td></td><td></td>${usageCells(t.nodes)}<td>${percent(t.coverage)}</td></tr>`,
  );
  return (
    '<table><thead><tr><th>cluster</th><th>licence</th><th>expiry (UTC)</th><th>nodes peak</th><th>p95</th><th>average</th>' +
    `<th>licensed</th><th>days over</th><th>coverage</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
  );
}

const anchor = (c: ClusterReport) => `cluster-${c.cluster.replace(/[^A-Za-z0-9_-]/g, '-')}`;

function section(c: ClusterReport, chart: ChartData | undefined, report: Report): string {
  const parts = [`<h2 id="${esc(anchor(c))}">${esc(clusterName(c))}</h2>`];
  if (chart) {
    parts.push(svgChart(c, 'nodes', chart.grid, chart.nodes, c.nodes, report));
    if (chart.cores && c.cores) parts.push(svgChart(c, 'cores', chart.grid, chart.cores, c.cores, report));
    parts.push(
      `<div class="legend"><span><i class="sw" style="background:${C.used}"></i>in use (5-minute peak)</span>` +
        `<span><i class="sw" style="background:${C.licensed}"></i>licensed</span>` +
        `<span><i class="sw" style="background:${C.gap}"></i>no data</span>` +
        `<span><i class="sw" style="background:${C.over}"></i>day over the limit</span></div>`,
    );
  }
  const figures: [string, string][] = [
    ['Licence', `${c.licence.package ?? 'package unknown'}, expiry ${expiryText(c)}`],
    ['Days', licenceDays(c)],
    ['Nodes', usageLine(c.nodes)],
  ];
  if (c.cores) figures.push(['Cores', usageLine(c.cores)]);
  figures.push([
    'Coverage',
    c.gaps.length === 0
      ? `${percent(c.coverage)}, no gaps`
      : `${percent(c.coverage)}; no data ${c.gaps.map((g) => `${when(g.from)} – ${when(g.to)} (${duration(g.seconds)})`).join(', ')}`,
  ]);
  figures.push([
    'Alerts fired',
    c.alerts.length === 0
      ? 'none'
      : c.alerts
          .map(
            (a) =>
              `${a.alertname} ${duration(a.firing_seconds)} (${a.episodes.map((e) => `${when(e.from)} – ${when(e.to)}`).join(', ')})`,
          )
          .join('; '),
  ]);
  parts.push(
    `<table class="figures"><tbody>${figures.map(([k, v]) => `<tr><th>${esc(k)}</th><td style="text-align:left">${esc(v)}</td></tr>`).join('')}</tbody></table>`,
  );
  return parts.join('\n');
}

function usageLine(u: UsageFigures): string {
  const over =
    u.days_over === 0
      ? 'never over the limit'
      : `over the limit on ${plural(u.days_over, 'day')}: ${u.over_days.map((d) => `${d.date} (${d.peak} of ${d.licensed})`).join(', ')}`;
  const changes = u.licensed_changes.length
    ? `; licensed changed ${u.licensed_changes.map((ch) => `${when(ch.at)} → ${licensed(ch.licensed)}`).join(', ')}`
    : '';
  return `peak ${num(u.max)}, p95 ${num(u.p95)}, average ${num(u.avg)}, licensed ${licensed(u.licensed)}; ${over}${changes}`;
}

const W = 960;
const H = 240;
const M = { left: 52, right: 12, top: 12, bottom: 34 };
const BUCKETS = 720;

/** A round tick step for 4 ticks above the value: 1, 2 or 5 × 10^n, at least 1 (counts are whole). */
function niceStep(top: number): number {
  const raw = Math.max(1, top / 4);
  const base = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((k) => k * base).find((m) => m >= raw) as number;
}

function svgChart(
  c: ClusterReport,
  kind: 'nodes' | 'cores',
  grid: Grid,
  values: { peak: Float64Array; licensed: Float64Array },
  figures: UsageFigures,
  report: Report,
): string {
  const from = Date.parse(report.from);
  const to = Date.parse(report.to);
  const n = values.peak.length;
  const per = Math.max(1, Math.ceil(n / BUCKETS));
  const { start, step } = grid;
  // Per bucket: the highest peak and the lowest limit (a day over is never drawn under the line).
  const buckets: { t0: number; t1: number; used: number; lic: number }[] = [];
  let top = 0;
  for (let b = 0; b * per < n; b++) {
    let used = Number.NaN;
    let lic = Number.NaN;
    for (let i = b * per; i < Math.min(n, (b + 1) * per); i++) {
      const u = values.peak[i] as number;
      const l = values.licensed[i] as number;
      if (!Number.isNaN(u)) used = Number.isNaN(used) ? u : Math.max(used, u);
      if (!Number.isNaN(l) && Number.isFinite(l) && l > 0) lic = Number.isNaN(lic) ? l : Math.min(lic, l);
    }
    buckets.push({ t0: start + b * per * step, t1: start + Math.min(n, (b + 1) * per) * step, used, lic });
    for (const v of [used, lic]) if (!Number.isNaN(v)) top = Math.max(top, v);
  }
  const yMax = 4 * niceStep(top * 1.1);
  const x = (t: number) => M.left + ((t - from) / (to - from)) * (W - M.left - M.right);
  const y = (v: number) => M.top + (1 - v / yMax) * (H - M.top - M.bottom);
  const f = (v: number) => v.toFixed(1);

  const line = (pick: (b: (typeof buckets)[number]) => number) => {
    let d = '';
    let pen = false;
    for (const b of buckets) {
      const v = pick(b);
      if (Number.isNaN(v)) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${f(x(b.t0))},${f(y(v))}H${f(x(b.t1))}`;
      pen = true;
    }
    return d;
  };

  const shapes: string[] = [];
  for (const d of figures.over_days) {
    const t = Date.parse(`${d.date}T00:00:00Z`);
    shapes.push(
      `<rect x="${f(x(t))}" y="${M.top}" width="${f(x(t + DAY_MS) - x(t))}" height="${H - M.top - M.bottom}" fill="${C.over}"><title>${esc(`${d.date}: peak ${d.peak} over ${d.licensed}`)}</title></rect>`,
    );
  }
  for (const g of c.gaps) {
    const [g0, g1] = [Date.parse(g.from), Date.parse(g.to)];
    shapes.push(
      `<rect x="${f(x(g0))}" y="${M.top}" width="${f(Math.max(1, x(g1) - x(g0)))}" height="${H - M.top - M.bottom}" fill="${C.gap}" fill-opacity="0.7"><title>${esc(`no data ${when(g.from)} – ${when(g.to)}`)}</title></rect>`,
    );
  }
  // Axes: 5 horizontal grid lines, a tick per day (labelled so that labels do not collide).
  const axis: string[] = [];
  for (let k = 0; k <= 4; k++) {
    const v = (yMax * k) / 4;
    axis.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${f(y(v))}" y2="${f(y(v))}" stroke="#eaeef2"/>`,
      `<text x="${M.left - 6}" y="${f(y(v) + 4)}" text-anchor="end">${v}</text>`,
    );
  }
  const days = Math.round((to - from) / DAY_MS);
  const every = Math.max(1, Math.ceil(days / 16));
  for (let d = 0; d <= days; d++) {
    const t = from + d * DAY_MS;
    axis.push(
      `<line x1="${f(x(t))}" x2="${f(x(t))}" y1="${H - M.bottom}" y2="${H - M.bottom + (d % every === 0 ? 5 : 3)}" stroke="${C.axis}"/>`,
    );
    if (d % every === 0 && d < days)
      axis.push(`<text x="${f(x(t) + 2)}" y="${H - M.bottom + 17}">${isoDay(t).slice(5)}</text>`);
  }
  const label = `${kind === 'nodes' ? 'Nodes' : 'Cores'} in use against licensed, ${clusterName(c)}`;
  return `<h3>${esc(kind === 'nodes' ? 'Nodes' : 'Cores')}</h3>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(label)}" font-size="11" fill="${C.text}">
<title>${esc(label)}</title>
${shapes.join('\n')}
${axis.join('\n')}
<line x1="${M.left}" x2="${W - M.right}" y1="${H - M.bottom}" y2="${H - M.bottom}" stroke="${C.axis}"/>
<path d="${line((b) => b.lic)}" fill="none" stroke="${C.licensed}" stroke-width="2" stroke-dasharray="6 3"/>
<path d="${line((b) => b.used)}" fill="none" stroke="${C.used}" stroke-width="1.5"/>
<text x="${M.left}" y="${H - 4}">${esc(kind === 'nodes' ? 'nodes' : 'cores')} · UTC days (month-day)</text>
</svg>`;
}
