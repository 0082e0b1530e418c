// Wires a configuration into a running agent: snapshot, source, metrics, server.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AgentConfig } from './config.js';
import { createRegistry } from './metrics.js';
import { type RunningServer, startServer } from './server.js';
import { Snapshot } from './snapshot.js';
import { FileSource } from './sources/file.js';
import { KubeClient } from './sources/kube-client.js';
import { loadConnection } from './sources/kubeconfig.js';
import { KubernetesSource } from './sources/kubernetes.js';
import type { Source } from './sources/source.js';
import { VERSION } from './version.js';

export interface RunningAgent {
  url: string;
  snapshot: Snapshot;
  registry: Registry;
  stop(): Promise<void>;
}

export function createSource(config: AgentConfig, snapshot: Snapshot, logger: Logger): Source {
  if (config.source === 'file') {
    return new FileSource({
      snapshot,
      logger,
      licenseFile: config.licenseFile as string,
      nodeCount: config.nodeCountFile ? { file: config.nodeCountFile } : { value: config.nodeCount ?? 0 },
      coreCount: config.coreCountFile
        ? { file: config.coreCountFile }
        : config.coreCount !== undefined
          ? { value: config.coreCount }
          : undefined,
      pollIntervalMs: config.pollIntervalSeconds * 1000,
    });
  }
  return new KubernetesSource({
    transport: new KubeClient(loadConnection(config.kubeconfig)),
    snapshot,
    logger,
    nodeSelector: config.nodeSelector,
    countCores: config.countCores,
    coreResyncMs: (config.coreResyncSeconds ?? 6 * 3600) * 1000,
    // Renewing each watch at the poll interval proves the data current at least that often.
    watchTimeoutSeconds: Math.max(1, Math.round(config.pollIntervalSeconds)),
  });
}

export async function startAgent(config: AgentConfig, logger: Logger): Promise<RunningAgent> {
  const snapshot = new Snapshot();
  const registry = createRegistry({
    snapshot,
    defaultGraceSeconds: config.defaultGracePeriodSeconds,
    version: VERSION,
    source: config.source,
  });
  const source = createSource(config, snapshot, logger);
  let server: RunningServer;
  try {
    server = await startServer({
      host: config.host,
      port: config.port,
      registry,
      snapshot,
      logger,
      tls: config.tls,
    });
  } catch (err) {
    throw new Error(`cannot listen on ${config.host}:${config.port}: ${(err as Error).message}`);
  }
  source.start();
  logger.info(
    { url: `${server.url}/metrics`, source: config.source, version: VERSION },
    'license-agent serving',
  );
  return {
    url: server.url,
    snapshot,
    registry,
    stop: async () => {
      await source.stop();
      await server.close();
    },
  };
}
