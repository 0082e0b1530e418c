// Kubernetes source: the LicenseKey "default" (projectcalico.org/v3, else crd.projectcalico.org/v1)
// and the count of Nodes, each kept current by a list+watch informer.
import type { Logger } from 'pino';
import type { LicenseKey } from '../license.js';
import type { Snapshot } from '../snapshot.js';
import { Informer } from './informer.js';
import { KubeApiError, type KubeTransport } from './kube-client.js';
import type { Source } from './source.js';

export const LICENSE_GROUPS = ['projectcalico.org/v3', 'crd.projectcalico.org/v1'] as const;

export interface KubernetesSourceOptions {
  transport: KubeTransport;
  snapshot: Snapshot;
  logger: Logger;
  /** Label selector for the Nodes that count against the licence; all when empty. */
  nodeSelector?: string;
  watchTimeoutSeconds?: number;
  backoff?: { initialMs: number; maxMs: number };
  pageSize?: number;
}

class DiscoveryError extends Error {}

/** The first licence API group the server serves: the aggregated v3 API fills the status. */
export async function discoverLicenseGroup(transport: KubeTransport): Promise<string> {
  for (const group of LICENSE_GROUPS) {
    try {
      await transport.get(`/apis/${group}`, {}, 'application/json');
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
  private readonly informers: Informer<unknown>[];
  private readonly transport: KubeTransport;

  constructor(options: KubernetesSourceOptions) {
    this.transport = options.transport;
    const { transport, snapshot, logger } = options;
    const common = {
      transport,
      watchTimeoutSeconds: options.watchTimeoutSeconds,
      backoff: options.backoff,
      pageSize: options.pageSize,
    };
    let group = '';
    let refusedMessage = '';
    const licenses = new Informer<LicenseKey>({
      ...common,
      path: async () => {
        const found = await discoverLicenseGroup(transport);
        if (found !== group) logger.info({ group: found }, 'reading LicenseKey from API group');
        group = found;
        return `/apis/${group}/licensekeys`;
      },
      query: { fieldSelector: 'metadata.name=default' },
      metadataOnly: false,
      keep: (object) => ({ ...(object as LicenseKey), apiVersion: group }),
      onChange: (store) => {
        const refused = snapshot.setLicense(store.get('default') ?? null);
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
      },
    });
    const nodes = new Informer<true>({
      ...common,
      path: async () => '/api/v1/nodes',
      query: { labelSelector: options.nodeSelector || undefined },
      metadataOnly: true,
      keep: () => true, // only the count matters: keep nothing of the object
      ignoreModified: true,
      onChange: (store) => snapshot.setNodeCount(store.size),
      onSynced: () => snapshot.markSuccess('nodes'),
      onError: (err, phase) => {
        snapshot.recordError('nodes', phase === 'watch' ? 'watch' : 'nodes_read');
        logger.warn({ err: err.message, phase, resource: 'nodes' }, 'reading Nodes failed');
      },
    });
    this.informers = [licenses, nodes] as Informer<unknown>[];
  }

  start(): void {
    for (const informer of this.informers) informer.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.stop()));
    this.transport.close?.();
  }

  /** Full lists done so far, by informer (licence, nodes). */
  get lists(): number[] {
    return this.informers.map((i) => i.lists);
  }
}
