// The built license-report as a user runs it: usage errors (exit 2, naming flag, value, expectation),
// credentials sent as configured and never printed, TLS with an extra CA, the server's errors (exit 1).
// The peer is a loopback fake of the Prometheus query API that records what it is sent.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeLoopback, type Handler, listenLoopback } from '../../test/helpers/loopback.js';
import { createTestPki, type TestPki } from '../../test/helpers/tls.js';

const BIN = new URL('../bin/license-report.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'lm-report-cli-'));
const TOKEN = 's3cr3t-token-value';
const PASSWORD = 'pa55-w0rd-value';
const tokenFile = join(dir, 'token');
const passwordFile = join(dir, 'password');
writeFileSync(tokenFile, `${TOKEN}\n`);
writeFileSync(passwordFile, `${PASSWORD}\n`);
writeFileSync(join(dir, 'empty'), '\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(BIN, args);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

interface Seen {
  path: string;
  authorization?: string;
  form: URLSearchParams;
}

/** A Prometheus API with no licence data: the range-semantics probe says "closed", everything else is empty. */
function fakePrometheus(
  seen: Seen[],
  answer?: (req: Seen) => { status: number; body: unknown } | undefined,
): Handler {
  return async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const s: Seen = { path: req.url ?? '', form: new URLSearchParams(body) };
    if (req.headers.authorization !== undefined) s.authorization = req.headers.authorization;
    seen.push(s);
    const custom = answer?.(s);
    if (custom) {
      res.writeHead(custom.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(custom.body));
      return;
    }
    const query = s.form.get('query') ?? '';
    const result = query.startsWith('count_over_time(vector(1)')
      ? [{ metric: {}, value: [Number(s.form.get('time')), '3'] }]
      : [];
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        status: 'success',
        data: { resultType: s.path.includes('range') ? 'matrix' : 'vector', result },
      }),
    );
  };
}

const PERIOD = ['--from', '2025-11-01', '--to', '2025-11-03'];

describe('license-report command line', () => {
  it.each([
    [['--month', '2025-11'], '--prometheus-url: missing'],
    [
      ['--prometheus-url', 'prometheus:9090', '--month', '2025-11'],
      '--prometheus-url: "prometheus:9090" is not valid: expected an http:// or https:// URL',
    ],
    [['--prometheus-url', 'http://p:9090'], '--month or --from/--to: missing'],
    [
      ['--prometheus-url', 'http://p:9090', '--month', '2025-13'],
      '--month: "2025-13" is not valid: expected a month as YYYY-MM',
    ],
    [
      ['--prometheus-url', 'http://p:9090', '--from', '2025-11-01'],
      '--to: missing: --from and --to go together',
    ],
    [
      ['--prometheus-url', 'http://p:9090', '--from', '2025-11-31', '--to', '2025-12-01'],
      '--from: "2025-11-31" is not valid: expected a date as YYYY-MM-DD',
    ],
    [
      ['--prometheus-url', 'http://p:9090', '--from', '2025-11-02', '--to', '2025-11-02'],
      '--to: "2025-11-02" is not valid: expected a day after --from 2025-11-02',
    ],
    [
      ['--prometheus-url', 'http://p:9090', '--month', '2999-01'],
      '--month: "2999-01" is not valid: expected a period that has begun',
    ],
    [
      [
        '--prometheus-url',
        'http://p:9090',
        '--month',
        '2025-11',
        '--month',
        '2025-10',
        '--from',
        '2025-11-01',
      ],
      '--month: expected either --month or --from and --to',
    ],
    [
      ['--prometheus-url', 'http://p:9090', ...PERIOD, '--format', 'pdf'],
      '--format: "pdf" is not valid: expected md, csv, json, html',
    ],
    [
      ['--prometheus-url', 'http://p:9090', ...PERIOD, '--source', 'operator'],
      '--source: "operator" is not valid: expected agent, legacy-agent',
    ],
    [
      ['--prometheus-url', 'http://p:9090', ...PERIOD, '--selector', '{job="x"}'],
      '--selector: "{job=\\"x\\"}" is not valid: expected label matchers without braces',
    ],
    [
      ['--prometheus-url', 'http://p:9090', ...PERIOD, '--cluster-label', 'kube-cluster'],
      '--cluster-label: "kube-cluster" is not valid: expected a Prometheus label name',
    ],
    [
      ['--prometheus-url', 'http://p:9090', ...PERIOD, '--timeout', '5'],
      '--timeout: "5" is not valid: expected a Prometheus duration such as 30s',
    ],
    [
      ['--prometheus-url', 'http://p:9090', ...PERIOD, '--bearer-token-file', '/no/such/file'],
      '--bearer-token-file: "/no/such/file" is not valid: expected a readable file (ENOENT)',
    ],
    [
      ['--prometheus-url', 'http://p:9090', ...PERIOD, '--bearer-token-file', join(dir, 'empty')],
      `--bearer-token-file: "${join(dir, 'empty')}" is not valid: expected a file that is not empty`,
    ],
    [
      ['--prometheus-url', 'http://p:9090', ...PERIOD, '--basic-auth-user', 'u'],
      '--basic-auth-password-file: missing',
    ],
    [
      ['--prometheus-url', 'http://p:9090', ...PERIOD, '--tls-ca-file', tokenFile],
      `--tls-ca-file: "${tokenFile}" is not valid: expected a PEM file holding a CA certificate`,
    ],
    [
      [
        '--prometheus-url',
        'http://p:9090',
        ...PERIOD,
        '--bearer-token-file',
        tokenFile,
        '--basic-auth-user',
        'u',
        '--basic-auth-password-file',
        passwordFile,
      ],
      '--bearer-token-file: expected either a bearer token or basic auth, not both',
    ],
    [
      ['--prometheus-url', 'http://p:9090', ...PERIOD, '--out', '/no/such/dir/r.md'],
      '--out: "/no/such/dir/r.md" is not valid: expected a file in an existing folder',
    ],
    [['--prometheus-url', 'http://p:9090', '--nodes'], 'unknown option --nodes'],
  ])('%j exits 2 and says what is wrong', async (args, message) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`license-report: ${message}`);
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toContain(TOKEN);
  });

  it('a password in the URL is refused without being printed', async () => {
    const r = await run(['--prometheus-url', `http://admin:${PASSWORD}@p:9090`, ...PERIOD]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      '"http://USER:REDACTED@p:9090/" is not valid: expected no credentials in the URL',
    );
    expect(r.stderr).not.toContain(PASSWORD);
  });

  it('an unreachable Prometheus exits 1 and says which request failed and why', async () => {
    const r = await run(['--prometheus-url', 'http://127.0.0.1:9', ...PERIOD]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^license-report: http:\/\/127\.0\.0\.1:9: query failed: ECONNREFUSED/);
  });

  it('--help and --version', async () => {
    expect((await run(['--help'])).stdout).toContain('license-report --prometheus-url URL');
    expect((await run(['--version'])).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});

describe('license-report against a Prometheus API', () => {
  let server: Awaited<ReturnType<typeof listenLoopback>>;
  const seen: Seen[] = [];
  let refuse = false;
  beforeAll(async () => {
    server = await listenLoopback(
      fakePrometheus(seen, (req) =>
        refuse
          ? {
              status: 401,
              body: {
                status: 'error',
                errorType: 'unauthorized',
                error: `bad credentials ${req.authorization}`,
              },
            }
          : req.form.get('query')?.includes('ALERTS')
            ? {
                status: 400,
                body: { status: 'error', errorType: 'bad_data', error: 'parse error at char 3' },
              }
            : undefined,
      ),
    );
  });
  afterAll(() => closeLoopback(server.server));

  it('sends the bearer token from its file with every request, and never prints it', async () => {
    seen.length = 0;
    const r = await run([
      '--prometheus-url',
      `${server.url}/prefix/`,
      ...PERIOD,
      '--bearer-token-file',
      tokenFile,
    ]);
    // The fake refuses the ALERTS query: a server error exits 1 naming the endpoint, status and error.
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `license-report: ${server.url}/prefix: query_range answered HTTP 400 (bad_data: parse error at char 3) to the query max by (cluster, alertname)`,
    );
    expect(r.stderr).not.toContain(TOKEN);
    expect(seen.length).toBeGreaterThan(5);
    expect(new Set(seen.map((s) => s.authorization))).toEqual(new Set([`Bearer ${TOKEN}`]));
    expect(seen.every((s) => s.path.startsWith('/prefix/api/v1/query'))).toBe(true);
    // The probe, then the 5-minute windows: starts at the last millisecond of the first window.
    expect(seen[0]?.form.get('query')).toBe('count_over_time(vector(1)[10s:5s])');
    expect(Object.fromEntries(seen[1]?.form ?? [])).toMatchObject({
      query: 'max by (cluster) (max_over_time(calico_nodes_used{job="license-agent"}[299999ms]))',
      start: '1761955499.999',
      end: '1762127999.999',
      step: '300.000',
      nocache: '1',
    });
  });

  it('sends basic auth from the password file; a refusal exits 1 without echoing credentials', async () => {
    seen.length = 0;
    refuse = true;
    try {
      const r = await run([
        '--prometheus-url',
        server.url,
        ...PERIOD,
        '--basic-auth-user',
        'reporter',
        '--basic-auth-password-file',
        passwordFile,
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `license-report: ${server.url}: query answered HTTP 401: the server refused the credentials (check --bearer-token-file or --basic-auth-user/--basic-auth-password-file)\n`,
      );
      expect(seen[0]?.authorization).toBe(`Basic ${Buffer.from(`reporter:${PASSWORD}`).toString('base64')}`);
    } finally {
      refuse = false;
    }
  });

  it('--cluster puts an escaped regex matcher in every query', async () => {
    seen.length = 0;
    await run(['--prometheus-url', server.url, ...PERIOD, '--cluster', 'eu-1.prod', '--cluster', 'say "hi"']);
    expect(seen[1]?.form.get('query')).toBe(
      'max by (cluster) (max_over_time(calico_nodes_used{job="license-agent",cluster=~"eu-1\\\\.prod|say \\"hi\\""}[299999ms]))',
    );
  });
});

describe('license-report over HTTPS', () => {
  let pki: TestPki;
  let server: https.Server;
  let url: string;
  const seen: Seen[] = [];
  beforeAll(async () => {
    pki = createTestPki();
    const handler = fakePrometheus(seen);
    server = https.createServer(
      { cert: pki.read('server.pem'), key: pki.read('server.key') },
      (req, res) => void handler(req, res),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    pki.cleanup();
  });

  it('refuses a server certificate from an unknown CA, and trusts it with --tls-ca-file', async () => {
    const untrusted = await run(['--prometheus-url', url, ...PERIOD]);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toContain(`license-report: ${url}: query failed: `);
    expect(untrusted.stderr).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|self.signed/i);

    const out = join(dir, 'report.md');
    const trusted = await run([
      '--prometheus-url',
      url,
      ...PERIOD,
      '--tls-ca-file',
      pki.caFile,
      '--out',
      out,
    ]);
    expect(trusted.stderr).toBe('');
    expect(trusted.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain('**No licence metrics were found for this period.**');
  });
});
