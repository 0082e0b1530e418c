// Tigera's own count, as a cross-check: Calico Enterprise's kube-controllers write LicenseUsageReport
// objects (usage.tigera.io/v1, cluster-scoped), four a day by default, each with the most and fewest
// vCPUs and nodes it saw in its interval, as base64 JSON in spec.reportData (HMAC-signed in
// spec.hmac with Tigera's key, which this agent does not check). The latest report, by the end of its
// interval, is exported beside the agent's own counts.
//
// Optional: without the CRD (404) or without RBAC for it (403) there are simply no such gauges; this
// is logged once and neither counts as a read error nor brings the source down.
import type { Logger } from 'pino';
import type { Snapshot, UsageReport } from '../snapshot.js';
import { Informer } from './informer.js';
import { KubeApiError, type KubeTransport } from './kube-client.js';

export const USAGE_REPORTS_PATH = '/apis/usage.tigera.io/v1/licenseusagereports';

export interface UsageReportsOptions {
  transport: KubeTransport;
  snapshot: Snapshot;
  logger: Logger;
  watchTimeoutSeconds?: number;
  /** Retry pace while the CRD is absent or forbidden; a minute to ten by default. */
  backoff?: { initialMs: number; maxMs: number };
  pageSize?: number;
}

type Kept = UsageReport | { problem: string };

/** The figures of one LicenseUsageReport, or what is wrong with it. */
export function decodeUsageReport(object: Record<string, unknown>): Kept {
  const reportData = (object.spec as { reportData?: unknown } | undefined)?.reportData;
  if (typeof reportData !== 'string') return { problem: 'spec.reportData is not a string' };
  let data: {
    intervalEnd?: unknown;
    vCPUs?: { max?: unknown };
    nodes?: { max?: unknown };
  };
  try {
    data = JSON.parse(Buffer.from(reportData, 'base64').toString('utf8'));
  } catch {
    return { problem: 'spec.reportData is not base64-encoded JSON' };
  }
  const end = typeof data?.intervalEnd === 'string' ? Date.parse(data.intervalEnd) : Number.NaN;
  const vcpusMax = data?.vCPUs?.max;
  const nodesMax = data?.nodes?.max;
  if (Number.isNaN(end)) return { problem: 'reportData.intervalEnd is not a time' };
  if (!isCount(vcpusMax))
    return { problem: `reportData.vCPUs.max is ${JSON.stringify(vcpusMax)}, expected a whole number ≥ 0` };
  if (!isCount(nodesMax))
    return { problem: `reportData.nodes.max is ${JSON.stringify(nodesMax)}, expected a whole number ≥ 0` };
  return { intervalEndSeconds: end / 1000, vcpusMax, nodesMax };
}

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

/** The report whose interval ended last, among the readable ones. */
export function latestReport(reports: Iterable<Kept>): UsageReport | undefined {
  let latest: UsageReport | undefined;
  for (const report of reports) {
    if ('problem' in report) continue;
    if (latest === undefined || report.intervalEndSeconds > latest.intervalEndSeconds) latest = report;
  }
  return latest;
}

export function usageReportsInformer(options: UsageReportsOptions): Informer<unknown> {
  const { snapshot, logger } = options;
  const unreadable = new Set<string>();
  let lastError = '';
  return new Informer<Kept>({
    transport: options.transport,
    watchTimeoutSeconds: options.watchTimeoutSeconds,
    pageSize: options.pageSize,
    backoff: options.backoff ?? { initialMs: 60_000, maxMs: 600_000 },
    path: async () => USAGE_REPORTS_PATH,
    metadataOnly: false,
    keep: (object) => {
      const kept = decodeUsageReport(object);
      const name = String((object.metadata as { name?: string } | undefined)?.name);
      if ('problem' in kept && !unreadable.has(name)) {
        unreadable.add(name);
        logger.warn({ report: name, err: kept.problem }, 'ignoring an unreadable LicenseUsageReport');
      }
      return kept;
    },
    onChange: (store) => snapshot.setUsageReport(latestReport(store.values())),
    onSynced: () => {
      if (lastError === '') return;
      lastError = '';
      logger.info({ resource: 'licenseusagereports' }, 'reading LicenseUsageReports works again');
    },
    onError: (err) => {
      const status = err instanceof KubeApiError ? err.status : undefined;
      if (status === 404) snapshot.setUsageReport(undefined); // the CRD is gone, or was never there
      if (err.message === lastError) return;
      lastError = err.message;
      if (status === 404) {
        logger.info(
          { resource: 'licenseusagereports' },
          'LicenseUsageReports (usage.tigera.io/v1) are not served: no cross-check with Tigera’s own count',
        );
      } else {
        logger.warn(
          { err: err.message, resource: 'licenseusagereports' },
          status === 403
            ? 'may not read LicenseUsageReports (RBAC): no cross-check with Tigera’s own count'
            : 'reading LicenseUsageReports failed; keeping the last figures',
        );
      }
    },
  }) as Informer<unknown>;
}
