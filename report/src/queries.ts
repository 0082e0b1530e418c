// The PromQL of the report, per source. Every usage query is a `*_over_time` over a range equal to the
// step of the grid it is evaluated on, so that the windows tile the period and each sample is read
// exactly once (see `rangeFor`). Everything is aggregated by the cluster label: an agent restarted in
// a new pod is a new series (new `instance`) of the same cluster.

import type { Source } from './model.js';
import type { RangeSemantics } from './prometheus.js';

export interface QueryContext {
  source: Source;
  /** Label matchers of the licence agent's target, e.g. `job="license-agent"` (may be empty). */
  selector: string;
  clusterLabel: string;
  /** Only these clusters (empty: every cluster). */
  clusters: string[];
}

/** What is read per 5-minute window: a PromQL builder taking the range, and the extra label it groups by. */
export interface WindowQuery {
  expr: (range: string) => string;
  /** A second grouping label whose value keys the result (status, package, alertname). */
  by?: string;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** A PromQL double-quoted string literal. */
export const promString = (s: string) =>
  `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;

/**
 * The range that makes a window evaluated at its last millisecond (start + step − 1 ms) hold exactly
 * the samples of [start, start + step): Prometheus 2's closed selectors [t − r, t] need r = step − 1 ms,
 * Prometheus 3's left-open (t − r, t] need r = step. A sample at 00:00:00.000 so belongs to the day it
 * starts on both.
 */
export function rangeFor(step: number, semantics: RangeSemantics): string {
  return `${semantics === 'closed' ? step - 1 : step}ms`;
}

export class Queries {
  constructor(private readonly ctx: QueryContext) {}

  get clusterLabel(): string {
    return this.ctx.clusterLabel;
  }

  /** `metric{selector, cluster=~"a|b", extra}` */
  m(metric: string, extra: string[] = []): string {
    const matchers = [this.ctx.selector.trim(), ...extra].filter((s) => s !== '');
    if (this.ctx.clusters.length > 0) {
      matchers.push(`${this.ctx.clusterLabel}=~${promString(this.ctx.clusters.map(escapeRegex).join('|'))}`);
    }
    return `${metric}{${matchers.join(',')}}`;
  }

  /** One cluster's series of `metric` (for raw samples). */
  one(metric: string, cluster: string, extra: string[] = []): string {
    return this.m(metric, [`${this.ctx.clusterLabel}=${promString(cluster)}`, ...extra]);
  }

  private agg(op: string, fn: string, metric: string, by: string[] = [], extra: string[] = []) {
    const labels = [this.ctx.clusterLabel, ...by].join(', ');
    return (range: string) => `${op} by (${labels}) (${fn}(${this.m(metric, extra)}[${range}]))`;
  }

  /** Used and licensed counts per 5-minute window, for nodes and (agent only) cores. */
  usage(kind: 'nodes' | 'cores'): Record<'peak' | 'avg' | 'limitMin' | 'limitMax', WindowQuery> {
    const used = kind === 'nodes' ? 'calico_nodes_used' : 'calico_cores_used';
    const limit = kind === 'nodes' ? 'calico_maximum_licensed_nodes' : 'calico_maximum_licensed_cores';
    return {
      peak: { expr: this.agg('max', 'max_over_time', used) },
      avg: { expr: this.agg('avg', 'avg_over_time', used) },
      limitMin: { expr: this.agg('min', 'min_over_time', limit) },
      limitMax: { expr: this.agg('max', 'max_over_time', limit) },
    };
  }

  metricNames(kind: 'nodes' | 'cores'): { used: string; limit: string } {
    return kind === 'nodes'
      ? { used: 'calico_nodes_used', limit: 'calico_maximum_licensed_nodes' }
      : { used: 'calico_cores_used', limit: 'calico_maximum_licensed_cores' };
  }

  /** Samples of the firing alerts of rules/ per window (ALERTS keeps the target's labels, so the selector applies). */
  get alertSelector(): string {
    return this.m('ALERTS', ['alertstate="firing"', 'alertname=~"CalicoLicense.+"']);
  }

  alerts(): WindowQuery {
    return {
      expr: this.agg(
        'max',
        'count_over_time',
        'ALERTS',
        ['alertname'],
        ['alertstate="firing"', 'alertname=~"CalicoLicense.+"'],
      ),
      by: 'alertname',
    };
  }

  /** Per-day licence facts. */
  licence(): Record<string, WindowQuery> {
    if (this.ctx.source === 'legacy-agent') {
      return {
        validMin: { expr: this.agg('min', 'min_over_time', 'calico_license_valid') },
        validMax: { expr: this.agg('max', 'max_over_time', 'calico_license_valid') },
        daysLeft: { expr: this.agg('min', 'last_over_time', 'license_number_of_days') },
      };
    }
    return {
      // 1 for each state reported at least once in the window.
      states: { expr: this.agg('max', 'max_over_time', 'calico_license_status', ['status']), by: 'status' },
      package: { expr: this.agg('max', 'last_over_time', 'calico_license_info', ['package']), by: 'package' },
      expiry: { expr: this.agg('max', 'last_over_time', 'calico_license_expiry_timestamp_seconds') },
    };
  }
}
