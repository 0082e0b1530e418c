// Flags and environment → a checked configuration. Flags win over environment variables
// (Tigera's licence agent's names are kept), which win over defaults.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  argumentError,
  DURATION_EXPECTED,
  POSITIVE_DURATION_EXPECTED,
  parseDurationSeconds,
} from '@license-monitor/common';
import { z } from 'zod';
import { COUNT_EXPECTED, isCount } from './license.js';

export interface AgentConfig {
  source: 'file' | 'kubernetes';
  licenseFile?: string;
  nodeCount?: number;
  nodeCountFile?: string;
  coreCount?: number;
  coreCountFile?: string;
  kubeconfig?: string;
  nodeSelector?: string;
  /** Count cores even when the licence has no core limit (Kubernetes source). */
  countCores?: boolean;
  /** How often the core count is reconciled with a full list of the Nodes (Kubernetes source). */
  coreResyncSeconds?: number;
  host: string;
  port: number;
  pollIntervalSeconds: number;
  defaultGracePeriodSeconds: number;
  tls?: { certFile: string; keyFile: string; caFile?: string };
  logLevel: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const USAGE = `Usage:
  license-agent --source file --license-file PATH (--node-count N | --node-count-file PATH)
                [--core-count N | --core-count-file PATH] [options]
  license-agent --source kubernetes [--kubeconfig PATH] [--node-selector SELECTOR] [--count-cores] [options]

Options (environment variable in brackets):
  --source file|kubernetes        where the licence comes from (default kubernetes)
  --license-file PATH             LicenseKey YAML, as 'kubectl get licensekeys.p default -o yaml' prints it
  --node-count N                  nodes in use, for the file source
  --node-count-file PATH          file holding the node count, re-read on change
  --core-count N                  CPU cores in use, for the file source (for core-limited licences)
  --core-count-file PATH          file holding the core count, re-read on change
  --kubeconfig PATH               kubeconfig file; default: $KUBECONFIG, ~/.kube/config, else in-cluster
  --node-selector SELECTOR        label selector of the Nodes that count (e.g. '!node-role.kubernetes.io/control-plane')
  --count-cores                   count CPU cores even when the licence has no core limit
  --core-resync-interval DURATION how often cores are reconciled with a full list of the Nodes (default 6h)
  --listen HOST:PORT              address to serve on (default 0.0.0.0:9081) [LICENSE_METRICS_HOST, LICENSE_METRICS_PORT]
  --poll-interval DURATION        file re-read / watch renewal interval (default 2m) [LICENSE_POLL_INTERVAL]
  --default-grace-period DURATION grace period when the licence states none (default 30d)
  --tls-cert-file PATH            serve HTTPS with this certificate [LICENSE_METRICS_CERT_FILE]
  --tls-key-file PATH             and this key [LICENSE_METRICS_KEY_FILE]
  --tls-client-ca-file PATH       require client certificates signed by this CA [LICENSE_METRICS_CA_FILE]
  --log-level LEVEL               trace, debug, info, warn, error (default info) [LOG_LEVEL]
  --help, --version
`;

const OPTIONS = {
  source: { type: 'string' },
  'license-file': { type: 'string' },
  'node-count': { type: 'string' },
  'node-count-file': { type: 'string' },
  'core-count': { type: 'string' },
  'core-count-file': { type: 'string' },
  kubeconfig: { type: 'string' },
  'node-selector': { type: 'string' },
  'count-cores': { type: 'boolean' },
  'core-resync-interval': { type: 'string' },
  listen: { type: 'string' },
  'poll-interval': { type: 'string' },
  'default-grace-period': { type: 'string' },
  'tls-cert-file': { type: 'string' },
  'tls-key-file': { type: 'string' },
  'tls-client-ca-file': { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean' },
  version: { type: 'boolean' },
} as const;

/** Environment variables each flag falls back to. */
const ENV: Partial<Record<keyof typeof OPTIONS, string>> = {
  'poll-interval': 'LICENSE_POLL_INTERVAL',
  'tls-cert-file': 'LICENSE_METRICS_CERT_FILE',
  'tls-key-file': 'LICENSE_METRICS_KEY_FILE',
  'tls-client-ca-file': 'LICENSE_METRICS_CA_FILE',
  'log-level': 'LOG_LEVEL',
};

type Command =
  | { kind: 'help' }
  | { kind: 'usage' }
  | { kind: 'version' }
  | { kind: 'run'; config: AgentConfig };

export function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv): Command {
  // Nothing asked: the usage. Tigera's agent is configured by LICENSE_* variables alone; with one of
  // them set, no arguments is a real run.
  if (argv.length === 0 && !Object.keys(env).some((name) => name.startsWith('LICENSE_')))
    return { kind: 'usage' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new ConfigError(`${argumentError(err as Error)}\n\n${USAGE}`);
  }
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };
  const { 'count-cores': countCores, ...strings } = values;
  const config = buildConfig(strings as Record<string, string | undefined>, env);
  if (countCores) {
    if (config.source !== 'kubernetes')
      throw new ConfigError('--count-cores: only valid with --source kubernetes');
    config.countCores = true;
  }
  return { kind: 'run', config };
}

/** A raw setting and where it came from, so that an error can name the flag or variable. */
interface Setting {
  value: string;
  origin: string;
}

function setting(
  flags: Record<string, string | undefined>,
  env: NodeJS.ProcessEnv,
  name: keyof typeof OPTIONS,
) {
  const flag = flags[name];
  if (flag !== undefined) return { value: flag, origin: `--${name}` };
  const variable = ENV[name];
  const fromEnv = variable ? env[variable] : undefined;
  return fromEnv ? { value: fromEnv, origin: variable as string } : undefined;
}

function fail(s: Setting, expected: string): never {
  throw new ConfigError(`${s.origin}: ${JSON.stringify(s.value)} is not valid: expected ${expected}`);
}

function checked<T>(s: Setting, schema: z.ZodType<T>, expected: string): T {
  const result = schema.safeParse(s.value);
  return result.success ? result.data : fail(s, expected);
}

const port = z.coerce.number().int().min(0).max(65_535); // 0 picks a free port
const count = z.string().regex(/^\d+$/).transform(Number).refine(isCount);
const positiveDuration = z
  .string()
  .transform((text) => parseDurationSeconds(text))
  .pipe(z.number().positive());
const duration = z
  .string()
  .transform((text) => parseDurationSeconds(text))
  .pipe(z.number().min(0));
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'warning', 'error', 'fatal'] as const;

function existingFile(s: Setting | undefined): string | undefined {
  if (s === undefined) return undefined;
  if (!existsSync(s.value)) throw new ConfigError(`${s.origin}: no such file: ${s.value}`);
  return s.value;
}

function buildConfig(flags: Record<string, string | undefined>, env: NodeJS.ProcessEnv): AgentConfig {
  const get = (name: keyof typeof OPTIONS) => setting(flags, env, name);
  const sourceSetting = get('source') ?? { value: 'kubernetes', origin: 'default' };
  const source = checked(sourceSetting, z.enum(['file', 'kubernetes']), '"file" or "kubernetes"');

  const { host, port: listenPort } = listenAddress(flags, env);
  const poll = get('poll-interval');
  const grace = get('default-grace-period');
  const level = get('log-level');
  const config: AgentConfig = {
    source,
    host,
    port: listenPort,
    pollIntervalSeconds: poll ? checked(poll, positiveDuration, POSITIVE_DURATION_EXPECTED) : 120,
    defaultGracePeriodSeconds: grace ? checked(grace, duration, DURATION_EXPECTED) : 30 * 86_400,
    logLevel: level
      ? checked(level, z.enum(LOG_LEVELS), LOG_LEVELS.join(', ')).replace('warning', 'warn')
      : 'info',
    tls: tlsFiles(get('tls-cert-file'), get('tls-key-file'), get('tls-client-ca-file')),
  };

  if (source === 'file') {
    const licenseFile = get('license-file');
    if (!licenseFile)
      throw new ConfigError('--license-file: missing: the file source needs a LicenseKey YAML file');
    config.licenseFile = existingFile(licenseFile);
    const nodeCount = get('node-count');
    const nodeCountFile = get('node-count-file');
    if (!nodeCount === !nodeCountFile) {
      throw new ConfigError(
        '--node-count / --node-count-file: expected exactly one of them with --source file',
      );
    }
    if (nodeCount) config.nodeCount = checked(nodeCount, count, COUNT_EXPECTED);
    if (nodeCountFile) config.nodeCountFile = existingFile(nodeCountFile);
    const coreCount = get('core-count');
    const coreCountFile = get('core-count-file');
    if (coreCount && coreCountFile) {
      throw new ConfigError('--core-count / --core-count-file: expected at most one of them');
    }
    if (coreCount) config.coreCount = checked(coreCount, count, COUNT_EXPECTED);
    if (coreCountFile) config.coreCountFile = existingFile(coreCountFile);
    if (flags['core-resync-interval'] !== undefined)
      throw new ConfigError('--core-resync-interval: only valid with --source kubernetes');
  } else {
    config.kubeconfig = existingFile(get('kubeconfig'));
    config.nodeSelector = get('node-selector')?.value;
    const resync = get('core-resync-interval');
    config.coreResyncSeconds = resync
      ? checked(resync, positiveDuration, POSITIVE_DURATION_EXPECTED)
      : 6 * 3600;
    for (const name of [
      'license-file',
      'node-count',
      'node-count-file',
      'core-count',
      'core-count-file',
    ] as const) {
      if (flags[name] !== undefined) throw new ConfigError(`--${name}: only valid with --source file`);
    }
  }
  return config;
}

function listenAddress(flags: Record<string, string | undefined>, env: NodeJS.ProcessEnv) {
  const listen = flags.listen;
  if (listen !== undefined) {
    const match = /^(\[[^\]]+\]|[^:]*):(\d+)$/.exec(listen);
    const s = { value: listen, origin: '--listen' };
    if (!match) fail(s, 'HOST:PORT, such as 0.0.0.0:9081 or 127.0.0.1:9081');
    const host = (match[1] as string).replace(/^\[|\]$/g, '') || '0.0.0.0';
    return { host, port: checked({ ...s, value: match[2] as string }, port, 'a port from 0 to 65535') };
  }
  const envPort = env.LICENSE_METRICS_PORT;
  return {
    host: env.LICENSE_METRICS_HOST || '0.0.0.0',
    port: envPort
      ? checked({ value: envPort, origin: 'LICENSE_METRICS_PORT' }, port, 'a port from 0 to 65535')
      : 9081,
  };
}

function tlsFiles(cert?: Setting, key?: Setting, ca?: Setting): AgentConfig['tls'] {
  if (!cert && !key && !ca) return undefined;
  if (!cert || !key) {
    const given = (cert ?? key ?? ca) as Setting;
    throw new ConfigError(
      `${given.origin}: TLS needs both a certificate (--tls-cert-file / LICENSE_METRICS_CERT_FILE) and a key (--tls-key-file / LICENSE_METRICS_KEY_FILE)`,
    );
  }
  return {
    certFile: existingFile(cert) as string,
    keyFile: existingFile(key) as string,
    caFile: existingFile(ca),
  };
}
