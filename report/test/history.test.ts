// license-report against a real Prometheus holding a month of crafted history (fixtures/history.ts),
// backfilled with promtool, on both version pairs: Prometheus 2.42 (closed range selectors) and 3.5.3
// (left-open). Every figure is exact and the same on both.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchBrowser } from '../../test/helpers/browser.js';
import {
  type HistoryPrometheus,
  startPrometheusWithHistory,
  writeOpenMetrics,
} from '../../test/helpers/prometheus-history.js';
import { describeEachPair } from '../../test/helpers/tools.js';
import type { ClusterReport, Report } from '../src/model.js';
import { PrometheusClient, probeRangeSemantics } from '../src/prometheus.js';
import { rangeFor } from '../src/queries.js';
import { buildReport } from '../src/report.js';
import { history, nov } from './fixtures/history.js';

const BIN = new URL('../bin/license-report.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'lm-report-'));
const openMetrics = join(dir, 'history.om');

beforeAll(async () => {
  await writeOpenMetrics(openMetrics, history());
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function report(
  url: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      BIN,
      ['--prometheus-url', url, '--month', '2025-11', ...args],
      {
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function jsonReport(url: string, args: string[] = []): Promise<Report> {
  const result = await report(url, ['--format', 'json', ...args]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as Report;
}

const byName = (r: Report, name: string) => r.clusters.find((c) => c.cluster === name) as ClusterReport;
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const WINDOWS = 30 * 288;

describeEachPair('license-report with backfilled history', (tools) => {
  // Prometheus 3 made range selectors left-open; 2.x includes a sample on the window's start.
  const closed = Number(tools.versions.prometheus.split('.')[0]) < 3;
  let prom: HistoryPrometheus;
  let agent: Report;
  beforeAll(async () => {
    prom = await startPrometheusWithHistory(tools, openMetrics);
    agent = await jsonReport(prom.url);
  }, 180_000);
  afterAll(async () => {
    await prom?.stop();
  });

  it('asks the engine how its range selectors treat a window start', async () => {
    const client = new PrometheusClient({ url: prom.url, timeoutMs: 10_000 });
    const semantics = await probeRangeSemantics(client, nov(1));
    client.close();
    expect(semantics).toBe(closed ? 'closed' : 'left-open');
    expect(agent.method).toEqual({ window_seconds: 300, range_selectors: semantics });
  });

  it('the history holds the boundary cases a naive query gets wrong', async () => {
    const client = new PrometheusClient({ url: prom.url, timeoutMs: 10_000 });
    const one = async (expr: string, t: number) => (await client.query(expr, t))[0]?.points[0]?.[1];
    // A daily max evaluated at midnight sees the next day's 00:00 sample on both versions: Nov 4 would
    // count as over (110 from Nov 5 00:00) and Nov 24 as in grace (from Nov 25 00:00).
    expect(await one('max_over_time(calico_nodes_used{cluster="alpha"}[1d])', nov(5))).toBe(110);
    expect(
      await one(
        'max_over_time(calico_license_status{cluster="alpha",status="in-grace-period"}[1d])',
        nov(25),
      ),
    ).toBe(1);
    // Samples every minute: a 5-minute window holds 5 of them. [5m] at the window's end gives 6 on
    // Prometheus 2 (closed) and 5 on 3; the report's range gives 5 on both.
    const end = nov(12, 0, 5) - 1;
    expect(await one('count_over_time(calico_nodes_used{cluster="charlie"}[5m])', nov(12, 0, 5))).toBe(
      closed ? 6 : 5,
    );
    const range = rangeFor(300_000, closed ? 'closed' : 'left-open');
    expect(await one(`count_over_time(calico_nodes_used{cluster="charlie"}[${range}])`, end)).toBe(5);
    client.close();
  });

  it('alpha: a 3-day episode over the limit and a single 5-minute spike, licence expiring in the period', () => {
    const alpha = byName(agent, 'alpha');
    expect(alpha.nodes).toEqual({
      // The spike: 5 samples of 130 on Nov 20, 13:02–13:06.
      max: 130,
      // 95th percentile of the 8640 five-minute peaks: 7774 × 80, 864 × 110, 2 × 130.
      p95: 110,
      // The spike's two windows average 110 (80, 80, 130, 130, 130) and 100 (130, 130, 80, 80, 80).
      avg: Math.round(((80 * 7774 + 110 * 864 + 110 + 100) / WINDOWS) * 1e6) / 1e6,
      licensed: 100,
      days_over: 4,
      over_days: [
        { date: '2025-11-05', peak: 110, licensed: 100 },
        { date: '2025-11-06', peak: 110, licensed: 100 },
        { date: '2025-11-07', peak: 110, licensed: 100 },
        { date: '2025-11-20', peak: 130, licensed: 100 },
      ],
      licensed_changes: [],
    });
    // Cores unlimited (+Inf): no cores section.
    expect(alpha.cores).toBeNull();
    expect(alpha.licence).toEqual({
      package: 'Enterprise',
      expiry: '2025-11-25T00:00:00Z',
      days_valid: 24,
      days_in_grace: 3,
      days_expired: 3,
      days_missing: 0,
      days_invalid: 0,
      days_no_data: 0,
    });
    expect([alpha.coverage, alpha.gaps, alpha.first_seen, alpha.last_seen]).toEqual([
      1,
      [],
      '2025-11-01T00:00:00Z',
      '2025-12-01T00:00:00Z',
    ]);
    expect(alpha.alerts).toEqual([
      {
        // Firing to the end of the period: clipped at Dec 1 00:00.
        alertname: 'CalicoLicenseExpired',
        firing_seconds: (nov(31) - nov(28, 0, 10, 30)) / 1000,
        episodes: [{ from: '2025-11-28T00:10:30Z', to: '2025-12-01T00:00:00Z' }],
      },
      {
        alertname: 'CalicoLicenseInGracePeriod',
        firing_seconds: (nov(28, 0, 0, 30) - nov(25, 0, 10, 30)) / 1000,
        episodes: [{ from: '2025-11-25T00:10:30Z', to: '2025-11-28T00:00:30Z' }],
      },
      {
        // First firing evaluation 01:02:30, last 23:59:30 on Nov 7, resolved at the next (00:00:30).
        alertname: 'CalicoLicenseNodesOverCapacity',
        firing_seconds: 255_480,
        episodes: [{ from: '2025-11-05T01:02:30Z', to: '2025-11-08T00:00:30Z' }],
      },
    ]);
  });

  it('bravo: a 3-day gap is listed, not read as zero; a renewal changes the limit from its time on', () => {
    const bravo = byName(agent, 'bravo');
    expect(bravo.coverage).toBe(0.9);
    expect(bravo.gaps).toEqual([
      { from: '2025-11-03T00:00:00Z', to: '2025-11-06T00:00:00Z', seconds: 3 * 86_400 },
    ]);
    expect(bravo.nodes).toEqual({
      max: 60,
      p95: 60,
      // Over the 7776 windows with data only: 7056 × 45, 719 × 60 and the renewal window (50, 50, 60, 60, 60).
      avg: Math.round(((45 * 7056 + 60 * 719 + 56) / 7776) * 1e6) / 1e6,
      licensed: 80,
      // Nov 14: 60 of 50. Nov 15: 50 of 50 until 12:02, then 60 of 80. Nov 16: 60 of 80.
      days_over: 1,
      over_days: [{ date: '2025-11-14', peak: 60, licensed: 50 }],
      licensed_changes: [{ at: '2025-11-15T12:00:00Z', licensed: 80 }],
    });
    expect(bravo.cores).toEqual({
      max: 300,
      p95: 200,
      avg: Math.round(((200 * (7776 - 72) + 300 * 72) / 7776) * 1e6) / 1e6,
      licensed: 256,
      days_over: 1,
      over_days: [{ date: '2025-11-20', peak: 300, licensed: 256 }],
      licensed_changes: [],
    });
    expect(bravo.licence).toMatchObject({ expiry: '2026-11-20T00:00:00Z', days_valid: 27, days_no_data: 3 });
    expect(bravo.alerts).toEqual([]);
  });

  it('charlie: a cluster added on day 12 is covered from then on, the days before listed as a gap', () => {
    const charlie = byName(agent, 'charlie');
    expect(charlie.first_seen).toBe(iso(nov(12)));
    expect(charlie.coverage).toBe(Math.round((19 / 30) * 1e6) / 1e6);
    expect(charlie.gaps).toEqual([
      { from: '2025-11-01T00:00:00Z', to: '2025-11-12T00:00:00Z', seconds: 11 * 86_400 },
    ]);
    expect(charlie.nodes).toEqual({
      max: 25,
      p95: 10,
      // The window of 23:55–24:00 on Nov 20 holds 6 samples: 10 × 5 and 25.
      avg: Math.round(((10 * (19 * 288 - 1) + (50 + 25) / 6) / (19 * 288)) * 1e6) / 1e6,
      licensed: 20,
      // 23:59:59.999 belongs to Nov 20 on both versions (closed ranges would also put it in Nov 21's first window).
      days_over: 1,
      over_days: [{ date: '2025-11-20', peak: 25, licensed: 20 }],
      licensed_changes: [],
    });
    expect(charlie.cores).toMatchObject({ max: 40, p95: 40, avg: 40, licensed: 64, days_over: 0 });
    expect(charlie.licence).toMatchObject({ days_valid: 19, days_no_data: 11 });
  });

  it('the total row adds the clusters window by window', () => {
    expect(agent.clusters.map((c) => c.cluster)).toEqual(['alpha', 'bravo', 'charlie']);
    expect(agent.total).toEqual({
      clusters: 3,
      // Nov 20 13:00–13:10: 130 + 45 + 10. p95: the 576 windows of Nov 6–7 at 110 + 45.
      nodes: {
        max: 185,
        p95: 155,
        avg: Math.round(((717_170 + 360_716 + 10 * (19 * 288 - 1) + 12.5) / WINDOWS) * 1e6) / 1e6,
        licensed: 200,
        days_over: 5,
      },
      cores: { max: 340, p95: 240, avg: 229.074074, licensed: 320, days_over: 1 },
      coverage: Math.round(((1 + 0.9 + 19 / 30) / 3) * 1e6) / 1e6,
      alerts_firing_seconds: 258_570 + 258_600 + 255_480,
    });
  });

  it("--source legacy-agent reads Tigera's four gauges; a limit of 0 (licence not valid) is unknown, not exceeded", async () => {
    const legacy = await jsonReport(prom.url, [
      '--source',
      'legacy-agent',
      '--selector',
      'job="tigera-license-agent"',
    ]);
    expect(legacy.clusters).toEqual([
      {
        cluster: 'delta',
        first_seen: '2025-11-01T00:00:00Z',
        last_seen: '2025-12-01T00:00:00Z',
        licence: {
          package: null,
          expiry: null,
          days_left: 0,
          days_valid: 20,
          days_in_grace: null,
          days_expired: null,
          days_missing: null,
          days_invalid: null,
          days_not_valid: 10,
          days_no_data: 0,
        },
        nodes: {
          max: 50,
          p95: 30,
          avg: (30 * 8340 + 45 * 12 + 50 * 288) / WINDOWS,
          licensed: null,
          days_over: 1,
          over_days: [{ date: '2025-11-08', peak: 45, licensed: 40 }],
          licensed_changes: [{ at: '2025-11-21T00:00:00Z', licensed: null }],
        },
        cores: null,
        coverage: 1,
        gaps: [],
        alerts: [],
      },
    ]);
  });

  it('a period in progress is read up to the last whole 5-minute window before now', async () => {
    const client = new PrometheusClient({ url: prom.url, timeoutMs: 30_000 });
    const at = async (now: number) =>
      (
        await buildReport({
          client,
          period: { from: nov(1), to: nov(31) },
          source: 'agent',
          selector: 'job="license-agent"',
          clusterLabel: 'cluster',
          clusters: ['alpha'],
          rangeSelectors: 'auto',
          now,
        })
      ).report;
    try {
      // 13:04:59: the window holding the spike (13:00–13:05) is not complete yet.
      const before = await at(nov(20, 13, 4, 59));
      expect(before.until).toBe('2025-11-20T13:00:00Z');
      const alpha = before.clusters[0] as ClusterReport;
      expect([alpha.nodes.max, alpha.nodes.days_over, alpha.coverage, alpha.gaps]).toEqual([110, 3, 1, []]);
      expect(alpha.licence).toMatchObject({ days_valid: 20, days_no_data: 0 });
      const after = (await at(nov(20, 13, 5))).clusters[0] as ClusterReport;
      expect([after.nodes.max, after.nodes.days_over]).toEqual([130, 4]);
    } finally {
      client.close();
    }
  });

  it('--cluster keeps only the named clusters and reports one without data as uncovered', async () => {
    const r = await jsonReport(prom.url, ['--cluster', 'charlie', '--cluster', 'echo']);
    expect(r.clusters.map((c) => [c.cluster, c.coverage, c.gaps.length])).toEqual([
      ['charlie', Math.round((19 / 30) * 1e6) / 1e6, 1],
      ['echo', 0, 1],
    ]);
    expect(byName(r, 'echo').licence.days_no_data).toBe(30);
  });

  it('Markdown and CSV carry the same figures', async () => {
    const md = await report(prom.url, []);
    expect(md.code).toBe(0);
    expect(md.stdout).toContain(
      '| alpha | Enterprise | 2025-11-25 00:00 | 130 | 110 | 83.0 | 100 | 4 | 100% |',
    );
    expect(md.stdout).toContain('| **total** (3 clusters) |  |  | 185 | 155 | 131.1 | 200 | 5 | 84.4% |');
    expect(md.stdout).toContain('No data (not zero usage): 2025-11-03 00:00 – 2025-11-06 00:00 (3 d) UTC.');
    const csv = await report(prom.url, ['--format', 'csv']);
    const [header, ...rows] = csv.stdout
      .trimEnd()
      .split('\r\n')
      .map((line) => line.split(','));
    const row = (name: string) =>
      Object.fromEntries((header as string[]).map((h, k) => [h, rows.find((r) => r[0] === name)?.[k]]));
    expect(row('bravo')).toMatchObject({
      nodes_max: '60',
      nodes_days_over: '1',
      cores_days_over: '1',
      coverage: '0.9',
      gap_seconds: '259200',
    });
    expect(row('TOTAL')).toMatchObject({ nodes_max: '185', nodes_licensed: '200', nodes_days_over: '5' });
  });

  it('the HTML page is self-contained and shows a chart per cluster in Chromium', async () => {
    const out = join(dir, 'report.html');
    const result = await report(prom.url, ['--format', 'html', '--out', out]);
    expect(result.code).toBe(0);
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      const requests: string[] = [];
      const errors: string[] = [];
      page.on('request', (req) => requests.push(req.url()));
      page.on('pageerror', (err) => errors.push(String(err)));
      page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
      await page.setViewport({ width: 1100, height: 1480 });
      await page.goto(`file://${out}`, { waitUntil: 'load' });
      // Nothing but the page itself is loaded: no external assets.
      expect(requests).toEqual([`file://${out}`]);
      expect(errors).toEqual([]);
      const charts = await page.$$eval('svg[role="img"]', (svgs) =>
        svgs.map((s) => ({
          label: s.getAttribute('aria-label'),
          width: s.getBoundingClientRect().width,
          paths: [...s.querySelectorAll('path')].map((p) => (p.getAttribute('d') ?? '').length),
          gaps: [...s.querySelectorAll('rect title')].filter((t) => t.textContent?.startsWith('no data'))
            .length,
          overDays: [...s.querySelectorAll('rect title')].filter((t) => / over /.test(t.textContent ?? ''))
            .length,
        })),
      );
      expect(charts.map((c) => [c.label, c.gaps, c.overDays])).toEqual([
        ['Nodes in use against licensed, alpha', 0, 4],
        ['Nodes in use against licensed, bravo', 1, 1],
        ['Cores in use against licensed, bravo', 1, 1],
        ['Nodes in use against licensed, charlie', 1, 1],
        ['Cores in use against licensed, charlie', 1, 0],
      ]);
      for (const c of charts) {
        expect(c.width).toBeGreaterThan(800);
        expect(c.paths.every((length) => length > 20)).toBe(true);
      }
      const summary = await page.$$eval('table tbody tr', (rows) =>
        rows.slice(0, 4).map((r) => (r.textContent ?? '').replace(/\s+/g, ' ').trim()),
      );
      expect(summary[0]).toBe('alphaEnterprise2025-11-25 00:0013011083.01004100%');
      const shot = process.env.LICENSE_REPORT_SCREENSHOT ?? join(dir, 'report.png');
      await page.screenshot({ path: shot });
      expect(readFileSync(shot).subarray(1, 4).toString()).toBe('PNG');
    } finally {
      await browser.close();
    }
  });
});
