// The command line: flags → a checked configuration, then the report written where asked. A usage
// error names the flag, its value and what was expected, and exits 2; a failure to read Prometheus
// exits 1. Secrets are read from files and never printed.
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { argumentError, POSITIVE_DURATION_EXPECTED, parseDurationMs } from '@license-monitor/common';
import { FORMATS, type Format, formatReport } from './format/index.js';
import type { Source } from './model.js';
import { type Period, parseDay, parseMonth } from './period.js';
import { PrometheusClient, PrometheusError, type RangeSemantics } from './prometheus.js';
import { buildReport, WINDOW_MS } from './report.js';
import { VERSION } from './version.js';

export const USAGE = `Usage:
  license-report --prometheus-url URL (--month YYYY-MM | --from YYYY-MM-DD --to YYYY-MM-DD) [options]

Calico Enterprise licence usage per cluster for a period of whole UTC days (--to exclusive), read from
the Prometheus HTTP API (Prometheus, Thanos Query, Mimir, VictoriaMetrics).

Options:
  --prometheus-url URL            base URL of the Prometheus API, e.g. http://prometheus:9090
  --month YYYY-MM                 the whole month (UTC)
  --from YYYY-MM-DD               first day of the period (UTC)
  --to YYYY-MM-DD                 day after the last day of the period (exclusive); a period that has
                                  not ended yet is reported up to now
  --cluster NAME                  only this cluster (repeat for more); reported even without data
  --format md|csv|json|html       output format (default md)
  --out FILE                      write the report to FILE instead of standard output
  --source agent|legacy-agent     metric names of this project's agent (default) or of Tigera's legacy agent
  --selector MATCHERS             label matchers of the agent's target (default job="license-agent")
  --cluster-label NAME            the label that tells clusters apart (default cluster)
  --bearer-token-file FILE        send the token in this file as a bearer token
  --basic-auth-user USER          basic auth user name…
  --basic-auth-password-file FILE …and the file holding its password
  --tls-ca-file FILE              trust this CA (PEM) besides the system's, for https URLs
  --timeout DURATION              per request (default 2m), e.g. 30s, 5m
  --range-selectors auto|closed|left-open
                                  whether the server's range selectors include their start (default auto:
                                  asked of the server; Prometheus 2 is closed, Prometheus 3 left-open)
  --help, --version
`;

const OPTIONS = {
  'prometheus-url': { type: 'string' },
  month: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  cluster: { type: 'string', multiple: true },
  format: { type: 'string' },
  out: { type: 'string' },
  source: { type: 'string' },
  selector: { type: 'string' },
  'cluster-label': { type: 'string' },
  'bearer-token-file': { type: 'string' },
  'basic-auth-user': { type: 'string' },
  'basic-auth-password-file': { type: 'string' },
  'tls-ca-file': { type: 'string' },
  timeout: { type: 'string' },
  'range-selectors': { type: 'string' },
  help: { type: 'boolean' },
  version: { type: 'boolean' },
} as const;

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface ReportConfig {
  url: string;
  period: Period;
  clusters: string[];
  format: Format;
  out?: string;
  source: Source;
  selector: string;
  clusterLabel: string;
  bearerToken?: string;
  basicAuth?: { user: string; password: string };
  ca?: string;
  timeoutMs: number;
  rangeSelectors: RangeSemantics | 'auto';
}

type Flags = {
  [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K] extends { multiple: true } ? string[] : string | boolean;
};

function invalid(flag: string, value: string, expected: string): never {
  throw new UsageError(`--${flag}: ${JSON.stringify(value)} is not valid: expected ${expected}`);
}

function oneOf<T extends string>(
  flag: string,
  value: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) invalid(flag, value, allowed.join(', '));
  return value as T;
}

/** A secret's file: its content without the trailing newline; the content itself is never shown. */
function secretFile(flag: string, path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return invalid(flag, path, `a readable file (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
  const secret = text.replace(/\r?\n$/, '');
  if (secret.trim() === '') invalid(flag, path, 'a file that is not empty');
  return secret;
}

function prometheusUrl(value: string | undefined): string {
  if (value === undefined)
    throw new UsageError('--prometheus-url: missing: expected the base URL of the Prometheus API');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return invalid('prometheus-url', value, 'an http:// or https:// URL');
  }
  if (url.username || url.password) {
    // Never echo a URL that holds a password.
    url.username = url.username ? 'USER' : '';
    url.password = url.password ? 'REDACTED' : '';
    throw new UsageError(
      `--prometheus-url: ${JSON.stringify(url.href)} is not valid: expected no credentials in the URL ` +
        '(use --basic-auth-user and --basic-auth-password-file)',
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    invalid('prometheus-url', value, 'an http:// or https:// URL');
  if (url.search || url.hash) invalid('prometheus-url', value, 'a base URL without ?query or #fragment');
  return url.href.replace(/\/$/, '');
}

function period(flags: Flags, now: number): Period {
  const { month, from, to } = flags as { month?: string; from?: string; to?: string };
  let result: Period;
  if (month !== undefined) {
    if (from !== undefined || to !== undefined)
      throw new UsageError('--month: expected either --month or --from and --to, not both');
    result = parseMonth(month) ?? invalid('month', month, 'a month as YYYY-MM, e.g. 2026-11');
  } else if (from !== undefined && to !== undefined) {
    const start = parseDay(from) ?? invalid('from', from, 'a date as YYYY-MM-DD, e.g. 2026-11-01');
    const end = parseDay(to) ?? invalid('to', to, 'a date as YYYY-MM-DD, e.g. 2026-12-01');
    if (end <= start) invalid('to', to, `a day after --from ${from} (--to is exclusive)`);
    result = { from: start, to: end };
  } else if (from !== undefined || to !== undefined) {
    throw new UsageError(`--${from === undefined ? 'from' : 'to'}: missing: --from and --to go together`);
  } else {
    throw new UsageError('--month or --from/--to: missing: expected the period of the report');
  }
  if (result.from + WINDOW_MS > now) {
    const [flag, value] = month !== undefined ? ['month', month] : ['from', from as string];
    invalid(
      flag,
      value,
      'a period that has begun (it may end after now: the report then covers it up to now)',
    );
  }
  return result;
}

function timeout(value: string | undefined): number {
  if (value === undefined) return 120_000;
  const ms = parseDurationMs(value);
  if (ms === undefined || ms <= 0) invalid('timeout', value, POSITIVE_DURATION_EXPECTED);
  return ms;
}

type Command = { kind: 'help' } | { kind: 'version' } | { kind: 'run'; config: ReportConfig };

export function parseConfig(argv: string[], now: number): Command {
  let flags: Flags;
  try {
    ({ values: flags } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new UsageError(`${argumentError(err as Error)}\n\n${USAGE}`);
  }
  if (flags.help) return { kind: 'help' };
  if (flags.version) return { kind: 'version' };
  const str = (name: keyof typeof OPTIONS) => flags[name] as string | undefined;

  const selector = str('selector') ?? 'job="license-agent"';
  if (/[{}]/.test(selector))
    invalid('selector', selector, 'label matchers without braces, e.g. job="license-agent"');
  const clusterLabel = str('cluster-label') ?? 'cluster';
  if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(clusterLabel))
    invalid('cluster-label', clusterLabel, 'a Prometheus label name');
  const config: ReportConfig = {
    url: prometheusUrl(str('prometheus-url')),
    period: period(flags, now),
    clusters: [...new Set(flags.cluster ?? [])],
    format: oneOf('format', str('format'), FORMATS, 'md'),
    source: oneOf('source', str('source'), ['agent', 'legacy-agent'] as const, 'agent'),
    selector,
    clusterLabel,
    timeoutMs: timeout(str('timeout')),
    rangeSelectors: oneOf(
      'range-selectors',
      str('range-selectors'),
      ['auto', 'closed', 'left-open'] as const,
      'auto',
    ),
  };
  for (const name of config.clusters) if (name === '') invalid('cluster', name, 'a cluster name');
  const out = str('out');
  if (out !== undefined) {
    if (!statSync(dirname(resolve(out)), { throwIfNoEntry: false })?.isDirectory()) {
      invalid('out', out, 'a file in an existing folder');
    }
    config.out = out;
  }

  const tokenFile = str('bearer-token-file');
  const user = str('basic-auth-user');
  const passwordFile = str('basic-auth-password-file');
  if (tokenFile !== undefined && (user !== undefined || passwordFile !== undefined)) {
    throw new UsageError('--bearer-token-file: expected either a bearer token or basic auth, not both');
  }
  if (tokenFile !== undefined) config.bearerToken = secretFile('bearer-token-file', tokenFile);
  if ((user === undefined) !== (passwordFile === undefined)) {
    throw new UsageError(
      `--${user === undefined ? 'basic-auth-user' : 'basic-auth-password-file'}: missing: ` +
        '--basic-auth-user and --basic-auth-password-file go together',
    );
  }
  if (user !== undefined && passwordFile !== undefined) {
    if (user === '' || user.includes(':')) invalid('basic-auth-user', user, 'a user name without ":"');
    config.basicAuth = { user, password: secretFile('basic-auth-password-file', passwordFile) };
  }
  const caFile = str('tls-ca-file');
  if (caFile !== undefined) {
    let pem = '';
    try {
      pem = readFileSync(caFile, 'utf8');
    } catch (err) {
      invalid(
        'tls-ca-file',
        caFile,
        `a readable PEM file (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`,
      );
    }
    if (!pem.includes('-----BEGIN CERTIFICATE-----'))
      invalid('tls-ca-file', caFile, 'a PEM file holding a CA certificate');
    config.ca = pem;
  }
  return { kind: 'run', config };
}

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  now: () => number;
}

export async function run(argv: string[], io: Io): Promise<number> {
  let command: ReturnType<typeof parseConfig>;
  try {
    command = parseConfig(argv, io.now());
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`license-report: ${err.message}\n`);
    return 2;
  }
  if (command.kind === 'help') {
    io.out(USAGE);
    return 0;
  }
  if (command.kind === 'version') {
    io.out(`${VERSION}\n`);
    return 0;
  }
  const { config } = command;
  const client = new PrometheusClient({
    url: config.url,
    timeoutMs: config.timeoutMs,
    ...(config.bearerToken === undefined ? {} : { bearerToken: config.bearerToken }),
    ...(config.basicAuth === undefined ? {} : { basicAuth: config.basicAuth }),
    ...(config.ca === undefined ? {} : { ca: config.ca }),
  });
  try {
    const data = await buildReport({
      client,
      period: config.period,
      source: config.source,
      selector: config.selector,
      clusterLabel: config.clusterLabel,
      clusters: config.clusters,
      rangeSelectors: config.rangeSelectors,
      now: io.now(),
    });
    const text = formatReport(config.format, data);
    if (config.out === undefined) io.out(text);
    else {
      // Whole or nothing: a reader never sees half a report.
      const tmp = `${config.out}.${process.pid}.tmp`;
      writeFileSync(tmp, text);
      renameSync(tmp, config.out);
    }
    return 0;
  } catch (err) {
    if (!(err instanceof PrometheusError)) throw err;
    io.err(`license-report: ${err.message}\n`);
    return 1;
  } finally {
    client.close();
  }
}
