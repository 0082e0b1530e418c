// Kubernetes source: the LicenseKey "default" (projectcalico.org/v3, else crd.projectcalico.org/v1),
// the Nodes (and their CPU cores when the licence limits cores, see nodes.ts), and Tigera's own
// LicenseUsageReports when they exist, each kept current by a list+watch informer.
import type { Logger } from 'pino';
import { type LicenseKey, readLimit } from '../license.js';
import type { Snapshot } from '../snapshot.js';
import { Informer } from './informer.js';
import { KubeApiError, type KubeTransport } from './kube-client.js';
import { NodeWatch } from './nodes.js';
import type { Source } from './source.js';
import { usageReportsInformer } from './usage-reports.js';

export const LICENSE_GROUPS = ['projectcalico.org/v3', 'crd.projectcalico.org/v1'] as const;

export interface KubernetesSourceOptions {
  transport: KubeTransport;
  snapshot: Snapshot;
  logger: Logger;
  /** Label selector for the Nodes that count against the licence; all when empty. */
  nodeSelector?: string;
  /** Count cores even when the licence has no core limit. */
  countCores?: boolean;
  /** How often the cores are reconciled with a full list of the Nodes; 6 hours by default. */
  coreResyncMs?: number;
  watchTimeoutSeconds?: number;
  backoff?: { initialMs: number; maxMs: number };
  /** Retry pace for LicenseUsageReports while their CRD is absent or forbidden. */
  usageReportsBackoff?: { initialMs: number; maxMs: number };
  pageSize?: number;
}

/** How long the Nodes wait for the licence (to pick their mode) before they are counted anyway. */
const LICENSE_WAIT_MS = 5000;

/** A licence with a core limit: status.maxcores readable, above 0. */
export function limitsCores(license: LicenseKey): boolean {
  const read = readLimit(license.status?.maxcores, 'maxcores');
  return 'value' in read && Number.isFinite(read.value);
}

class DiscoveryError extends Error {}

/** The first licence API group the server serves: the aggregated v3 API fills the status. */
export async function discoverLicenseGroup(transport: KubeTransport, signal?: AbortSignal): Promise<string> {
  for (const group of LICENSE_GROUPS) {
    try {
      await transport.get(`/apis/${group}`, {}, 'application/json', signal);
      return group;
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 404)) {
        throw new DiscoveryError(`discovering ${group}: ${(err as Error).message}`);
      }
    }
  }
  throw new DiscoveryError(
    `neither ${LICENSE_GROUPS.join(' nor ')} is served: is Calico Enterprise installed?`,
  );
}

export class KubernetesSource implements Source {
  private readonly licenses: Informer<LicenseKey>;
  private readonly usageReports: Informer<unknown>;
  private readonly nodes: NodeWatch;
  private readonly transport: KubeTransport;
  private fallback: NodeJS.Timeout | undefined;
  /** Ends requests made outside the informers (API group discovery) at stop. */
  private readonly abort = new AbortController();

  constructor(private readonly options: KubernetesSourceOptions) {
    this.transport = options.transport;
    const { transport, snapshot, logger } = options;
    const common = {
      transport,
      watchTimeoutSeconds: options.watchTimeoutSeconds,
      backoff: options.backoff,
      pageSize: options.pageSize,
    };
    this.nodes = new NodeWatch({
      ...common,
      snapshot,
      logger,
      nodeSelector: options.nodeSelector,
      coreResyncMs: options.coreResyncMs ?? 6 * 3_600_000,
    });
    let group = '';
    let refusedMessage = '';
    this.licenses = new Informer<LicenseKey>({
      ...common,
      path: async () => {
        const found = await discoverLicenseGroup(transport, this.abort.signal);
        if (found !== group) logger.info({ group: found }, 'reading LicenseKey from API group');
        group = found;
        return `/apis/${group}/licensekeys`;
      },
      query: { fieldSelector: 'metadata.name=default' },
      metadataOnly: false,
      keep: (object) => ({ ...(object as LicenseKey), apiVersion: group }),
      onChange: (store) => {
        const license = store.get('default') ?? null;
        const refused = snapshot.setLicense(license);
        const message = refused.map((p) => p.message).join('; ');
        // Logged when it changes: every re-list and bookmark would otherwise repeat it.
        if (message !== refusedMessage) {
          if (message)
            logger.error(
              { err: message, reason: 'license_limit' },
              'LicenseKey refused; keeping the last good values',
            );
          else logger.info({ resource: 'licensekeys' }, 'LicenseKey readable again');
          refusedMessage = message;
        }
        this.countNodes(refused.length === 0 ? license : undefined);
      },
      onSynced: () => snapshot.markSuccess('license'),
      onError: (err, phase) => {
        const reason =
          err instanceof DiscoveryError
            ? 'api_group_discovery'
            : phase === 'watch'
              ? 'watch'
              : 'license_read';
        snapshot.recordError('license', reason);
        logger.warn({ err: err.message, phase, resource: 'licensekeys' }, 'reading the LicenseKey failed');
        this.countNodes(undefined); // nodes are counted even while the licence cannot be read
      },
    });
    this.usageReports = usageReportsInformer({
      ...common,
      snapshot,
      logger,
      backoff: options.usageReportsBackoff,
    });
  }

  start(): void {
    this.licenses.start();
    this.usageReports.start();
    // The mode (nodes, or nodes and cores) follows the licence: start once it is known, so that a
    // core-limited cluster lists its Nodes once, whole, instead of once as metadata and again whole.
    if (this.options.countCores) this.nodes.countCores(true);
    // A licence read that hangs (until its request timeout) must not hold the node count back long.
    this.fallback = setTimeout(() => this.countNodes(undefined), LICENSE_WAIT_MS);
  }

  async stop(): Promise<void> {
    clearTimeout(this.fallback);
    this.abort.abort();
    await Promise.all([this.licenses.stop(), this.usageReports.stop(), this.nodes.stop()]);
    this.transport.close?.();
  }

  /**
   * Counts cores when --count-cores asks or the licence limits them. `license` undefined: unknown
   * (unreadable or refused); null: no LicenseKey. Neither changes a mode already chosen.
   */
  private countNodes(license: LicenseKey | null | undefined): void {
    const known = this.nodes.cores;
    const limited = license ? limitsCores(license) : (known ?? false);
    this.nodes.countCores(Boolean(this.options.countCores) || limited);
  }

  /** Full lists done so far, by informer (licence, nodes). */
  get lists(): number[] {
    return [this.licenses.lists, this.nodes.lists];
  }
}
