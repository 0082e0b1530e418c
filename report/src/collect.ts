// Reads what the report needs from the Prometheus API: window queries over the period (split into
// requests of at most MAX_POINTS points, Prometheus's limit being 11,000 per series), and raw samples
// of single windows where a window's aggregate is not enough (a limit that changed inside it, the
// first and last window of an alert's firing).
import { type Grid, windowStart } from './period.js';
import { type PrometheusClient, PrometheusError, type RangeSemantics, type Series } from './prometheus.js';
import { rangeFor, type WindowQuery } from './queries.js';

const MAX_POINTS = 10_000;

/** cluster → key (the `by` label's value, '' without one) → one value per window, NaN where absent. */
export type GridValues = Map<string, Map<string, Float64Array>>;

export class Collector {
  constructor(
    private readonly client: PrometheusClient,
    private readonly semantics: RangeSemantics,
    private readonly clusterLabel: string,
  ) {}

  /** Evaluates `query` at the last millisecond of every window of `grid`. */
  async grid(query: WindowQuery, grid: Grid): Promise<GridValues> {
    const expr = query.expr(rangeFor(grid.step, this.semantics));
    const out: GridValues = new Map();
    for (let first = 0; first < grid.count; first += MAX_POINTS) {
      const last = Math.min(first + MAX_POINTS, grid.count) - 1;
      const series = await this.client.queryRange(
        expr,
        windowStart(grid, first + 1) - 1,
        windowStart(grid, last + 1) - 1,
        grid.step,
      );
      for (const s of series) {
        const cluster = s.labels[this.clusterLabel] ?? '';
        const key = query.by === undefined ? '' : (s.labels[query.by] ?? '');
        const byKey = out.get(cluster) ?? new Map<string, Float64Array>();
        out.set(cluster, byKey);
        const values = byKey.get(key) ?? new Float64Array(grid.count).fill(Number.NaN);
        byKey.set(key, values);
        for (const [t, v] of s.points) values[this.windowIndex(grid, t, expr)] = v;
      }
    }
    return out;
  }

  /** The raw samples of `selector` in window i of `grid` (filtered to the window whatever the engine's range semantics). */
  async raw(selector: string, grid: Grid, i: number): Promise<Series[]> {
    const from = windowStart(grid, i);
    const to = from + grid.step;
    // One millisecond more than the window on either engine; the filter below keeps [from, to).
    const series = await this.client.query(`${selector}[${grid.step + 1}ms]`, to - 1);
    return series
      .map((s) => ({ labels: s.labels, points: s.points.filter(([t]) => t >= from && t < to) }))
      .filter((s) => s.points.length > 0);
  }

  private windowIndex(grid: Grid, t: number, expr: string): number {
    const i = (t + 1 - grid.start) / grid.step - 1;
    if (!Number.isInteger(i) || i < 0 || i >= grid.count) {
      throw new PrometheusError(
        `the server answered for ${new Date(t).toISOString()}, which is not a time the report asked for ` +
          `(a query frontend that aligns or caches steps?), to ${expr}`,
      );
    }
    return i;
  }
}
