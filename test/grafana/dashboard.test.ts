// The Grafana dashboard: valid JSON, every PromQL expression parses, and names only metrics the
// agent exports (read from the agent's own registry, not from a list written here).
import { readFileSync } from 'node:fs';
import { parser } from '@prometheus-io/lezer-promql';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../../agent/src/metrics.js';
import { Snapshot } from '../../agent/src/snapshot.js';

const DASHBOARD = new URL('../../grafana/dashboards/calico-license.json', import.meta.url);

interface Panel {
  title: string;
  targets?: { expr: string }[];
}

function expressions(): { panel: string; expr: string }[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[]; templating: unknown };
  return dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
}

/** Grafana variables become plain values before the query reaches Prometheus. */
const interpolate = (expr: string) => expr.replaceAll('$cluster', '.*');

function parse(expr: string) {
  const tree = parser.parse(expr);
  const errors: number[] = [];
  const metrics: string[] = [];
  tree.iterate({
    enter: (node) => {
      if (node.type.isError) errors.push(node.from);
      if (node.name === 'VectorSelector') {
        const name = node.node.getChild('Identifier');
        if (name) metrics.push(expr.slice(name.from, name.to));
      }
    },
  });
  return { errors, metrics };
}

async function agentMetricNames(): Promise<Set<string>> {
  const registry = createRegistry({
    snapshot: new Snapshot(),
    defaultGraceSeconds: 0,
    version: 'test',
    source: 'file',
  });
  return new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
}

describe('Grafana dashboard', () => {
  it('has panels for expiry, status, grace end, nodes and cores with forecast and agent health, and a cluster variable', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8'));
    const titles = dashboard.panels.map((p: Panel) => p.title);
    expect(titles).toEqual(
      expect.arrayContaining([
        'Days to expiry',
        'Licence status',
        'Grace period ends',
        'Agent source up',
        'Nodes used / licensed',
        'CPU cores used / licensed',
      ]),
    );
    // The forecast panels draw what the forecast alerts compute: daily averages 2 days apart, shown
    // once 3 days of history exist (rules/README.md, "Forecasts only with enough history").
    for (const used of ['calico_nodes_used', 'calico_cores_used']) {
      const forecast = expressions().filter((e) => e.expr.includes(`avg_over_time(${used}`));
      expect(forecast, used).toHaveLength(1);
      expect(forecast[0]?.expr).toContain(`[1d] offset 2d)) * (14 / 2)`);
      expect(forecast[0]?.expr).toContain(`last_over_time(${used}{cluster=~"$cluster"}[1h] offset 3d)`);
    }
    expect(expressions().some((e) => e.expr.includes('predict_linear'))).toBe(false);
    const cluster = dashboard.templating.list.find((v: { name: string }) => v.name === 'cluster');
    expect(cluster).toMatchObject({ type: 'query', includeAll: true, multi: true });
  });

  it('is at the schema version Grafana 13 writes (42), in the form its migrations leave a dashboard', () => {
    // Grafana migrates an older dashboard on load; one at 42 loads as written. What the migrations
    // to 40, 41 and 42 change must already hold: a string refresh, no timepicker.time_options, and a
    // field hidden from the visualisation hidden from the tooltip too.
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8'));
    expect(dashboard.schemaVersion).toBe(42);
    expect(typeof dashboard.refresh).toBe('string');
    expect(dashboard.timepicker?.time_options).toBeUndefined();
    const hidden = JSON.stringify(dashboard.panels).match(/"custom\.hideFrom","value":\{[^}]*\}/g) ?? [];
    for (const value of hidden) if (value.includes('"viz":true')) expect(value).toContain('"tooltip":true');
  });

  it.each(expressions())('$panel: $expr parses', ({ expr }) => {
    expect(parse(interpolate(expr)).errors).toEqual([]);
  });

  it('the parser rejects broken PromQL (so the check above can fail)', () => {
    expect(parse('sum by (cluster (calico_nodes_used)').errors.length).toBeGreaterThan(0);
  });

  it('names only metrics the agent exports', async () => {
    const known = await agentMetricNames();
    const used = new Set(expressions().flatMap((e) => parse(interpolate(e.expr)).metrics));
    expect(used.size).toBeGreaterThan(5);
    expect([...used].filter((m) => !known.has(m))).toEqual([]);
  });
});
