// The whole pipeline on one machine — agent → Prometheus (rules from `license-rules render`) →
// Alertmanager (the render's route fragment) → receiver — as configuration: where the programs are,
// free ports, the licence file, the rendered rules, Prometheus and Alertmanager configs and flags.
// Shared by `npm run demo` (scripts/demo.mjs) and the end-to-end tests (test/e2e/harness.ts); each
// starts and stops the processes itself (the demo shows progress, the tests keep every log).
// Types: pipeline.d.mts beside this file.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as yaml from 'js-yaml';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const AGENT_MAIN = join(ROOT, 'agent/dist/main.js');
export const RULES_MAIN = join(ROOT, 'rules/build/main.js');
export const RECEIVER_MAIN = join(ROOT, 'receiver/dist/main.js');
export const RUNBOOKS_DIR = join(ROOT, 'rules/runbooks');
export const SAMPLE_LICENCE = join(ROOT, 'agent/examples/licensekey.yaml');

// Ports are handed out below the kernel's ephemeral range, so no outgoing connection takes one
// between the probe and the program's listen, and walked in order from a slice of their own per
// process (vitest's worker id, else the pid), so two calls — in one pipeline or in two test files
// running side by side — do not get the same port while neither program is listening yet.
const PORT_FLOOR = 10000;
const SLICES = 32;
let nextInSlice = Math.floor(Math.random() * 1e6);

function ephemeralLow() {
  try {
    return (
      Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768
    );
  } catch {
    return 32768;
  }
}

function canListen(port) {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolveFree(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolveFree(true)));
  });
}

function kernelPort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/** A TCP port that was free on 127.0.0.1 a moment ago (for programs that cannot listen on port 0 and say which port they got). */
export async function freePort() {
  const size = Math.floor((ephemeralLow() - PORT_FLOOR) / SLICES);
  if (size < 16) return kernelPort();
  const slice = Number(process.env.VITEST_POOL_ID ?? process.pid) % SLICES;
  for (let tries = 0; tries < size; tries++) {
    const port = PORT_FLOOR + slice * size + (nextInSlice++ % size);
    if (await canListen(port)) return port;
  }
  return kernelPort();
}

/** `preferred` when it is free on 127.0.0.1, else a free port. */
export function portOr(preferred) {
  return new Promise((resolvePort) => {
    const server = createServer();
    server.unref();
    server.once('error', () => freePort().then(resolvePort));
    server.listen(preferred, '127.0.0.1', () => server.close(() => resolvePort(preferred)));
  });
}

/** Writes a whole file at once (temporary file + rename), so a watching reader never sees half of it. */
export function writeFileAtomic(path, text) {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** The sample LicenseKey (agent/examples/licensekey.yaml) with another expiry, node limit and core limit. */
export function licenceKeyYaml({ expiry, maxNodes = 100, maxCores }) {
  const iso = new Date(expiry).toISOString().replace(/\.\d+Z$/, 'Z');
  const cores = maxCores === undefined ? '' : `\n  maxcores: ${maxCores}`;
  return readFileSync(SAMPLE_LICENCE, 'utf8')
    .replace(/expiry: ".*"/, `expiry: "${iso}"`)
    .replace(/maxnodes: \d+/, `maxnodes: ${maxNodes}${cores}`);
}

/**
 * Runs the real `license-rules render` with `overrides` (the same keys as rules/thresholds.yaml) into
 * `dir`; returns the rendered rule file, the Alertmanager fragment's path and the fragment itself.
 */
export function renderRules(dir, overrides) {
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'overrides.yaml');
  writeFileSync(config, yaml.dump(overrides, { lineWidth: -1 }));
  try {
    execFileSync(process.execPath, [RULES_MAIN, 'render', '--config', config, '--out', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    throw new Error(`license-rules render failed: ${err.stderr?.toString() || err.message}`);
  }
  const fragmentFile = join(dir, 'alertmanager.yaml');
  return {
    rulesFile: join(dir, 'calico-license.rules.yaml'),
    fragmentFile,
    fragment: yaml.load(readFileSync(fragmentFile, 'utf8')),
  };
}

/**
 * A prometheus.yml: the agent as job "license-agent" (the rules' default selector), Alertmanagers,
 * the rule files, and optional extra scrape jobs.
 */
export function prometheusConfig({
  interval = '1s',
  agent,
  clusterLabels = {},
  alertmanagers,
  ruleFiles,
  extraJobs = [],
}) {
  return yaml.dump(
    {
      global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
      rule_files: ruleFiles,
      alerting: { alertmanagers: [{ static_configs: [{ targets: alertmanagers }] }] },
      scrape_configs: [
        {
          job_name: 'license-agent',
          static_configs: [{ targets: [agent], labels: clusterLabels }],
        },
        ...extraJobs.map(({ job, target }) => ({ job_name: job, static_configs: [{ targets: [target] }] })),
      ],
    },
    { lineWidth: -1 },
  );
}

/**
 * A whole alertmanager.yml around the render's fragment, merged as rules/README.md tells a user to:
 * the fragment's route first under the root route, its receivers and inhibit rules added. The root
 * receiver takes everything else and sends it nowhere.
 */
export function alertmanagerConfig(fragment) {
  return yaml.dump(
    {
      route: { receiver: 'default', group_by: ['alertname'], routes: [fragment.route] },
      receivers: [{ name: 'default' }, ...fragment.receivers],
      inhibit_rules: fragment.inhibit_rules ?? [],
    },
    { lineWidth: -1 },
  );
}

/**
 * Flags for Prometheus (2.42 to 3.x; `tools` from scripts/lib/tools.mjs) on 127.0.0.1:port with its
 * TSDB in dataDir, plus the flags that pair's build needs.
 */
export function prometheusArgs({ config, port, dataDir, tools }) {
  return [
    `--config.file=${config}`,
    `--web.listen-address=127.0.0.1:${port}`,
    `--web.external-url=http://127.0.0.1:${port}`,
    `--storage.tsdb.path=${dataDir}`,
    ...(tools?.prometheusFlags ?? []),
  ];
}

/**
 * Flags for Alertmanager (0.25 to 0.3x) on 127.0.0.1:port; start it with alertmanagerCommand of
 * scripts/lib/tools.mjs, which lets Debian's find its templates. Without `cluster` it runs alone
 * (`--cluster.listen-address=`); with it, it gossips on 127.0.0.1:cluster.port with `peers`.
 */
export function alertmanagerArgs({ config, port, dataDir, cluster }) {
  const args = [
    `--config.file=${config}`,
    `--web.listen-address=127.0.0.1:${port}`,
    `--web.external-url=http://127.0.0.1:${port}`,
    `--storage.path=${dataDir}`,
  ];
  if (!cluster) return [...args, '--cluster.listen-address='];
  return [
    ...args,
    `--cluster.listen-address=127.0.0.1:${cluster.port}`,
    `--cluster.advertise-address=127.0.0.1:${cluster.port}`,
    ...cluster.peers.map((peer) => `--cluster.peer=${peer}`),
    ...(cluster.flags ?? []),
  ];
}

/** Polls `url` until it answers 2xx; `alive()` false stops the wait early (the process died). */
export async function waitForHttp(url, { timeoutMs = 20_000, alive = () => true } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`${url}: the process exited before it answered`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err.cause?.code ?? err.message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url}: not ready within ${timeoutMs} ms (${last})`);
}
