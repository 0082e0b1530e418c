// Builds the report: asks the server how its range selectors treat a window's start, reads the
// period's 5-minute and daily windows, refines the few windows an aggregate cannot settle with their
// raw samples, and computes each cluster's figures and the total.
import { Collector, type GridValues } from './collect.js';
import {
  alertEdgeWindows,
  alertFigures,
  coverageFigures,
  type Excess,
  exactExcess,
  isLimited,
  licenceFigures,
  spacingOf,
  totalUsage,
  type UsageInput,
  usageFigures,
  windowsToRefine,
} from './compute.js';
import type { ChartData, ClusterReport, ReportData, Source, UsageFigures } from './model.js';
import { DAY_MS, gridOf, isoTime, MINUTE_MS, type Period } from './period.js';
import { type PrometheusClient, probeRangeSemantics, type RangeSemantics } from './prometheus.js';
import { Queries } from './queries.js';

/** The width of a usage window: short enough for a chart and a p95, and every sample is read once whatever it is. */
export const WINDOW_MS = 5 * MINUTE_MS;

export interface ReportOptions {
  client: PrometheusClient;
  period: Period;
  source: Source;
  selector: string;
  clusterLabel: string;
  /** Only these clusters; each is reported even without data. */
  clusters: string[];
  rangeSelectors: RangeSemantics | 'auto';
  now: number;
}

type Kind = 'nodes' | 'cores';

interface UsageData {
  input: Omit<UsageInput, 'refined'>;
  refined: Map<number, Excess | null>;
}

export async function buildReport(options: ReportOptions): Promise<ReportData> {
  const { client, period, source } = options;
  const semantics =
    options.rangeSelectors === 'auto'
      ? await probeRangeSemantics(client, period.from)
      : options.rangeSelectors;
  const q = new Queries({
    source,
    selector: options.selector,
    clusterLabel: options.clusterLabel,
    clusters: options.clusters,
  });
  const collector = new Collector(client, semantics, options.clusterLabel);
  // A period in progress is read up to the last whole 5-minute window before now.
  const until = Math.min(period.to, Math.floor(options.now / WINDOW_MS) * WINDOW_MS);
  const grid = gridOf(period, WINDOW_MS, until);
  const days = gridOf(period, DAY_MS, until);

  const readUsage = async (kind: Kind) => {
    const queries = q.usage(kind);
    return {
      peak: await collector.grid(queries.peak, grid),
      avg: await collector.grid(queries.avg, grid),
      limitMin: await collector.grid(queries.limitMin, grid),
      limitMax: await collector.grid(queries.limitMax, grid),
    };
  };
  const nodes = await readUsage('nodes');
  const cores = source === 'agent' ? await readUsage('cores') : undefined;
  const alerts = await collector.grid(q.alerts(), grid);
  const licence: Record<string, GridValues> = {};
  for (const [name, query] of Object.entries(q.licence())) licence[name] = await collector.grid(query, days);

  const names = new Set<string>(options.clusters);
  for (const values of [nodes.peak, nodes.limitMax, alerts, ...Object.values(licence)])
    for (const cluster of values.keys()) names.add(cluster);
  const clusters = [...names].sort();

  const empty = () => new Float64Array(grid.count).fill(Number.NaN);
  const usageOf = async (kind: Kind, read: Awaited<ReturnType<typeof readUsage>>, cluster: string) => {
    const get = (values: GridValues) => values.get(cluster)?.get('') ?? empty();
    const input = {
      peak: get(read.peak),
      avg: get(read.avg),
      limitMin: get(read.limitMin),
      limitMax: get(read.limitMax),
    };
    const refined = new Map<number, Excess | null>();
    const metrics = q.metricNames(kind);
    for (const i of windowsToRefine(input)) {
      const used = await collector.raw(q.one(metrics.used, cluster), grid, i);
      const limits = await collector.raw(q.one(metrics.limit, cluster), grid, i);
      refined.set(i, exactExcess(used, limits));
    }
    return { input, refined } satisfies UsageData;
  };

  // Alerts: the raw samples of each firing run's first and last window, read once per window for all clusters.
  const edgeTimes = new Map<number, Map<string, number[]>>();
  for (const byName of alerts.values())
    for (const counts of byName.values())
      for (const i of alertEdgeWindows(counts)) if (!edgeTimes.has(i)) edgeTimes.set(i, new Map());
  for (const [i, times] of edgeTimes) {
    for (const s of await collector.raw(q.alertSelector, grid, i)) {
      const key = `${s.labels[options.clusterLabel] ?? ''}\u0000${s.labels.alertname ?? ''}`;
      times.set(
        key,
        [...(times.get(key) ?? []), ...s.points.map(([t]) => t)].sort((a, b) => a - b),
      );
    }
  }
  // The rule evaluation interval for an alert whose edge windows show only one sample each.
  const intervals = [...edgeTimes.values()]
    .flatMap((m) => [...m.values()].map((t) => spacingOf(t)))
    .filter((s): s is number => s !== undefined);
  const fallbackSpacing = intervals.length === 0 ? undefined : Math.min(...intervals);

  const charts = new Map<string, ChartData>();
  const reports: ClusterReport[] = [];
  const usageForTotal: Record<Kind, { input: UsageData['input']; figures: UsageFigures }[]> = {
    nodes: [],
    cores: [],
  };
  for (const cluster of clusters) {
    const nodeData = await usageOf('nodes', nodes, cluster);
    const nodeFigures = usageFigures(grid, { ...nodeData.input, refined: nodeData.refined });
    usageForTotal.nodes.push({ input: nodeData.input, figures: nodeFigures });
    let coreData: UsageData | undefined;
    let coreFigures: UsageFigures | null = null;
    if (cores) {
      const data = await usageOf('cores', cores, cluster);
      if (isLimited(data.input.limitMin)) {
        coreData = data;
        coreFigures = usageFigures(grid, { ...data.input, refined: data.refined });
        usageForTotal.cores.push({ input: data.input, figures: coreFigures });
      }
    }
    const byDay = (name: string, key = '') => licence[name]?.get(cluster)?.get(key);
    const licenceFig = licenceFigures(source, days.count, {
      states: licence.states?.get(cluster),
      packages: licence.package?.get(cluster),
      expiry: byDay('expiry'),
      validMin: byDay('validMin'),
      validMax: byDay('validMax'),
      daysLeft: byDay('daysLeft'),
    });
    const alertList = [...(alerts.get(cluster)?.entries() ?? [])]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([alertname, counts]) => {
        const edges = new Map<number, number[]>();
        for (const i of alertEdgeWindows(counts))
          edges.set(i, edgeTimes.get(i)?.get(`${cluster}\u0000${alertname}`) ?? []);
        return alertFigures(grid, alertname, counts, edges, fallbackSpacing);
      });
    const coverage = coverageFigures(grid, nodeData.input.peak);
    reports.push({
      cluster,
      first_seen: coverage.first_seen,
      last_seen: coverage.last_seen,
      licence: licenceFig,
      nodes: nodeFigures,
      cores: coreFigures,
      coverage: coverage.coverage,
      gaps: coverage.gaps,
      alerts: alertList,
    });
    charts.set(cluster, {
      grid,
      nodes: { peak: nodeData.input.peak, licensed: nodeData.input.limitMax },
      cores: coreData ? { peak: coreData.input.peak, licensed: coreData.input.limitMax } : null,
    });
  }

  return {
    report: {
      from: isoTime(period.from),
      to: isoTime(period.to),
      until: isoTime(until),
      generated_at: isoTime(Math.floor(options.now / 1000) * 1000),
      source,
      prometheus_url: client.url,
      selector: options.selector,
      cluster_label: options.clusterLabel,
      method: { window_seconds: WINDOW_MS / 1000, range_selectors: semantics },
      clusters: reports,
      total: {
        clusters: reports.length,
        nodes: totalUsage(grid, usageForTotal.nodes),
        cores: usageForTotal.cores.length === 0 ? null : totalUsage(grid, usageForTotal.cores),
        coverage: reports.length === 0 ? 0 : reports.reduce((s, r) => s + r.coverage, 0) / reports.length,
        alerts_firing_seconds: reports.reduce(
          (s, r) => s + r.alerts.reduce((a, alert) => a + alert.firing_seconds, 0),
          0,
        ),
      },
    },
    charts,
  };
}
