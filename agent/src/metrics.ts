// Metrics computed at scrape time from the latest snapshot, so day counts and states flip at the
// exact second whatever the source's cadence. One registry, passed in.
import { collectDefaultMetrics, Registry } from 'prom-client';
import { evaluateLicense, LICENSE_STATES, type LicenseView } from './license.js';
import { ERROR_REASONS, type Snapshot } from './snapshot.js';

type Labels = Record<string, string>;
interface Sample {
  labels?: Labels;
  value: number;
}
type MetricType = 'gauge' | 'counter';

export interface MetricsOptions {
  snapshot: Snapshot;
  defaultGraceSeconds: number;
  version: string;
  source: string;
  now?: () => number;
}

/**
 * A metric whose samples come from a function at each scrape. Unlike prom-client's Gauge, a series
 * with no value is left out instead of exported as 0, which is what "absent when unknown" needs.
 */
function computed(
  registry: Registry,
  name: string,
  help: string,
  type: MetricType,
  read: () => Sample[],
): void {
  const metric = {
    name,
    help,
    type,
    aggregator: 'first',
    get: () => ({ name, help, type, aggregator: 'first', values: read() }),
    reset: () => {},
  };
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
}

const when = (value: number | undefined): Sample[] => (value === undefined ? [] : [{ value }]);

export function createRegistry(options: MetricsOptions): Registry {
  const { snapshot } = options;
  const now = options.now ?? (() => Date.now() / 1000);
  const registry = new Registry();
  // The event-loop delay monitor samples once a second: prom-client's 10 ms default wakes the process
  // 100 times a second, which was a third of the agent's CPU while watching 5,000 nodes.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 1000 });
  // This one waits a turn of the event loop at every scrape (a third of the scrape's time);
  // nodejs_eventloop_lag_{min,mean,p50,p90,p99}_seconds, kept, measure the same thing continuously.
  registry.removeSingleMetric('nodejs_eventloop_lag_seconds');

  // One evaluation per scrape (per instant and licence), shared by every licence metric.
  let cache: { at: number; license: unknown; view: LicenseView | undefined } | undefined;
  const view = (): LicenseView | undefined => {
    const at = now();
    const license = snapshot.license;
    if (cache?.at !== at || cache.license !== license) {
      cache = {
        at,
        license,
        view: license === undefined ? undefined : evaluateLicense(license, at, options.defaultGraceSeconds),
      };
    }
    return cache.view;
  };

  const gauge = (name: string, help: string, read: () => Sample[]) =>
    computed(registry, name, help, 'gauge', read);

  // Legacy names, kept exactly as Tigera's licence agent spelled them.
  gauge('license_number_of_days', 'Whole days until the licence expires; negative after expiry.', () =>
    when(view()?.daysLeft),
  );
  gauge('calico_nodes_used', 'Nodes counted against the licence.', () => when(snapshot.nodeCount));
  gauge('calico_maximum_licensed_nodes', 'Node limit of the licence; +Inf when unlimited.', () =>
    when(view()?.maxNodes),
  );
  gauge(
    'calico_cores_used',
    'CPU cores counted against the licence: the sum over the counted nodes of round(status.capacity.cpu), as Tigera counts them.',
    () => when(snapshot.coreCount),
  );
  gauge(
    'calico_maximum_licensed_cores',
    'Core limit of the licence (status.maxcores); +Inf when it has none.',
    () => when(view()?.maxCores),
  );
  gauge(
    'calico_license_limit_invalid',
    '1 for each status limit of the LicenseKey last read that is not a whole number ≥ 0; that licence is refused and the last good values stay.',
    () => snapshot.refusedLimits.map(({ field, problem }) => ({ labels: { field, problem }, value: 1 })),
  );
  gauge(
    'calico_license_usage_report_vcpus_max',
    "Most vCPUs Tigera's usage reporter counted in the interval of its latest LicenseUsageReport.",
    () => when(snapshot.usageReport?.vcpusMax),
  );
  gauge(
    'calico_license_usage_report_nodes_max',
    "Most nodes Tigera's usage reporter counted in the interval of its latest LicenseUsageReport.",
    () => when(snapshot.usageReport?.nodesMax),
  );
  gauge(
    'calico_license_usage_report_interval_end_timestamp_seconds',
    "When the interval of Tigera's latest LicenseUsageReport ended, in Unix seconds.",
    () => when(snapshot.usageReport?.intervalEndSeconds),
  );
  gauge(
    'calico_license_valid',
    '1 when the licence is valid (not in grace, expired or invalid), else 0.',
    () => {
      const v = view();
      return v === undefined ? [] : [{ value: v.state === 'valid' ? 1 : 0 }];
    },
  );

  gauge('calico_license_expiry_timestamp_seconds', 'When the licence expires, in Unix seconds.', () =>
    when(view()?.expirySeconds),
  );
  gauge('calico_license_grace_period_seconds', 'Length of the grace period after expiry.', () =>
    when(view()?.graceSeconds),
  );
  gauge(
    'calico_license_grace_period_end_timestamp_seconds',
    'When the grace period ends, in Unix seconds.',
    () => when(view()?.graceEndSeconds),
  );
  gauge('calico_license_status', 'Licence state, one-hot: 1 on the current state, 0 on the others.', () => {
    const state = view()?.state;
    return LICENSE_STATES.map((s) => ({ labels: { status: s }, value: s === state ? 1 : 0 }));
  });
  gauge('calico_license_info', 'Non-secret facts about the loaded licence; always 1.', () => {
    const v = view();
    if (v === undefined || v.state === 'no-license-loaded') return [];
    const apiVersion = snapshot.license?.apiVersion ?? '';
    return [{ labels: { package: v.package ?? '', api_version: apiVersion }, value: 1 }];
  });

  gauge('license_agent_source_up', '1 when the last read of the licence source succeeded, else 0.', () => [
    { value: snapshot.up ? 1 : 0 },
  ]);
  gauge(
    'license_agent_last_success_timestamp_seconds',
    'When the source was last read successfully, in Unix seconds.',
    () => when(snapshot.lastSuccessSeconds),
  );
  computed(
    registry,
    'license_agent_errors_total',
    'Failed reads of the licence source, by reason.',
    'counter',
    () => ERROR_REASONS.map((reason) => ({ labels: { reason }, value: snapshot.errors.get(reason) ?? 0 })),
  );
  gauge('license_agent_build_info', 'Build information; always 1.', () => [
    {
      labels: { version: options.version, source: options.source, nodejs_version: process.version },
      value: 1,
    },
  ]);
  return registry;
}
