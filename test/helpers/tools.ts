// Prometheus, promtool, Alertmanager and amtool of a pinned version pair, for any test: `current`
// (Prometheus 3.5, Alertmanager 0.33) or `floor` (Debian 12's 2.42 and 0.25). tool-versions.json pins
// them; scripts/ensure-installed.mjs (run by `npm test`) fetches them into .cache/tools/<pair>/.
// test/README.md shows how to use this module; use it rather than looking for the programs yourself.
import { describe, it } from 'vitest';
import { alertmanagerArgs, freePort, prometheusArgs, waitForHttp } from '../../scripts/lib/pipeline.mjs';
import {
  alertmanagerCommand,
  PAIRS,
  type Pair,
  requireTools,
  selectedPair,
  type Tools,
  toolStatus,
} from '../../scripts/lib/tools.mjs';
import { type Started, start } from './process.js';

export { PAIRS, type Pair, selectedPair, type Tools };

/** The pair's programs; throws with what to do when they are not installed. */
export function toolsFor(pair: Pair): Tools {
  return requireTools(pair);
}

/** "Prometheus 3.5.3, Alertmanager 0.33.1 (current, Debian sid)": for test names and logs. */
export function describeTools(tools: Tools): string {
  return `Prometheus ${tools.versions.prometheus}, Alertmanager ${tools.versions.alertmanager} (${tools.pair}, ${tools.source})`;
}

/**
 * A describe block per pair, named with its exact versions; `body` gets the pair's programs. A pair
 * that cannot be had on this machine (no apt, nothing fitting on PATH) is skipped with the reason; a
 * pair that is only not installed fails, saying how to install it.
 */
export function describeEachPair(
  name: string,
  body: (tools: Tools) => void,
  pairs: readonly Pair[] = PAIRS,
): void {
  for (const pair of pairs) {
    const status = toolStatus(pair);
    const tools = status.tools;
    if (tools) describe(`${name} — ${describeTools(tools)}`, () => body(tools));
    else if (status.unavailable)
      describe(`${name} — ${pair}`, () => it.skip(`skipped: ${status.unavailable}`));
    else
      describe(`${name} — ${pair}`, () =>
        it('has its programs', () => {
          throw new Error(status.missing);
        }));
  }
}

export interface PrometheusOptions {
  config: string;
  dataDir: string;
  /** Default: a free port. */
  port?: number;
  /** More flags, e.g. --storage.tsdb.retention.time=10y for backfilled history. */
  flags?: string[];
}

/** The command line of the pair's Prometheus on 127.0.0.1:port. */
export function prometheusCommand(tools: Tools, o: PrometheusOptions & { port: number }) {
  return {
    command: tools.prometheus,
    args: [
      ...prometheusArgs({ config: o.config, port: o.port, dataDir: o.dataDir, tools }),
      ...(o.flags ?? []),
    ],
  };
}

export interface AlertmanagerOptions {
  config: string;
  dataDir: string;
  port?: number;
  /** Gossip with `peers` on 127.0.0.1:cluster.port; without it, Alertmanager runs alone. */
  cluster?: { port: number; peers: string[]; flags?: string[] };
  flags?: string[];
}

/**
 * Member `i` of an Alertmanager cluster gossiping on 127.0.0.1 `ports`. Gossip is fast, so that the
 * cluster settles (notifications wait for it) in a second; peer-timeout 0: a member does not wait for
 * the members before it to notify and gossip that they did, so every member notifies (as in a
 * partition, or when gossip is slow): duplicates the receiver must fold into one message per destination.
 */
export function noisyClusterMember(ports: number[], i: number): NonNullable<AlertmanagerOptions['cluster']> {
  return {
    port: ports[i] as number,
    peers: ports.filter((_, j) => j !== i).map((p) => `127.0.0.1:${p}`),
    flags: ['--cluster.gossip-interval=50ms', '--cluster.pushpull-interval=1s', '--cluster.peer-timeout=0s'],
  };
}

/**
 * The command line of the pair's Alertmanager on 127.0.0.1:port, wrapped so that Debian's build reads
 * its own templates (a private mount namespace; see scripts/lib/tools.mjs).
 */
export function alertmanagerProcessCommand(tools: Tools, o: AlertmanagerOptions & { port: number }) {
  const args = alertmanagerArgs({ config: o.config, port: o.port, dataDir: o.dataDir, cluster: o.cluster });
  return alertmanagerCommand(tools, [...args, ...(o.flags ?? [])]);
}

export interface Running {
  process: Started;
  port: number;
  url: string;
  stop: () => Promise<number | null>;
}

const alive = (p: Started) => () => p.child.exitCode === null && p.child.signalCode === null;

async function startReady(command: { command: string; args: string[] }, port: number): Promise<Running> {
  const process = start(command.command, command.args);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/-/ready`, { timeoutMs: 30_000, alive: alive(process) });
  } catch (err) {
    await process.stop();
    throw new Error(`${(err as Error).message}\n${process.output().slice(-3000)}`);
  }
  return { process, port, url, stop: () => process.stop() };
}

/** Starts the pair's Prometheus and waits until it is ready. Stop it with `stop()`. */
export async function startPrometheus(tools: Tools, o: PrometheusOptions): Promise<Running> {
  const port = o.port ?? (await freePort());
  return startReady(prometheusCommand(tools, { ...o, port }), port);
}

/** Starts the pair's Alertmanager and waits until it is ready. Stop it with `stop()`. */
export async function startAlertmanager(tools: Tools, o: AlertmanagerOptions): Promise<Running> {
  const port = o.port ?? (await freePort());
  return startReady(alertmanagerProcessCommand(tools, { ...o, port }), port);
}
