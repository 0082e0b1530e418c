// The built license-agent binary, as an operator runs it: flags, environment, TLS, signals, logs.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Metrics, scrape, waitFor } from '../../test/helpers/metrics.js';
import { type Started, start } from '../../test/helpers/process.js';
import { createTestPki, SERVER_CERT, type TestPki } from '../../test/helpers/tls.js';

const BIN = new URL('../bin/license-agent.js', import.meta.url).pathname;
const SAMPLE = new URL('../examples/licensekey.yaml', import.meta.url).pathname;
const FILE_ARGS = ['--source', 'file', '--license-file', SAMPLE, '--node-count', '95'];

let agent: Started | undefined;
afterEach(async () => {
  await agent?.stop('SIGKILL');
  agent = undefined;
});

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  agent = start(BIN, args, env); // as a user runs it: the package's bin, through its shebang
  return agent;
}

/** The URL the agent logged when it started serving. */
async function servingUrl(a: Started): Promise<string> {
  const line = await waitFor(
    () => a.logs().find((l) => l.msg === 'license-agent serving'),
    5000,
    'agent start',
  );
  return String(line.url).replace(/\/metrics$/, '');
}

describe('license-agent command line', () => {
  it.each([
    [['--source', 'files'], '--source: "files" is not valid: expected "file" or "kubernetes"'],
    [[...FILE_ARGS, '--listen', 'localhost'], '--listen: "localhost" is not valid: expected HOST:PORT'],
    [
      [...FILE_ARGS, '--poll-interval', '5 minutes'],
      '--poll-interval: "5 minutes" is not valid: expected a Prometheus duration such as 30s, 10m, 1h, 1h30m or 7d, longer than 0s',
    ],
    [
      ['--source', 'file', '--license-file', '/nonexistent.yaml', '--node-count', '1'],
      '--license-file: no such file: /nonexistent.yaml',
    ],
    [
      [...FILE_ARGS, '--tls-cert-file', SAMPLE, '--tls-key-file', '/no/key.pem'],
      '--tls-key-file: no such file: /no/key.pem',
    ],
    [
      ['--source', 'file', '--license-file', SAMPLE],
      '--node-count / --node-count-file: expected exactly one',
    ],
    [['--nodes', '3'], 'license-agent: unknown option --nodes\n\nUsage:'],
    [[...FILE_ARGS, '--poll-interval'], 'license-agent: --poll-interval needs a value\n\nUsage:'],
  ])('%j exits 2 before listening, naming the problem', async (args, message) => {
    const a = run(['--listen', '127.0.0.1:0', ...args]);
    expect(await a.exited).toBe(2);
    expect(a.output()).toContain(message);
    expect(a.output()).not.toContain('serving');
  });

  it('prints its usage when run with no arguments (and no LICENSE_* variable), not a log line', async () => {
    const a = start(BIN, [], { LICENSE_METRICS_PORT: undefined, LICENSE_METRICS_HOST: undefined });
    agent = a;
    expect(await a.exited).toBe(2);
    expect(a.output()).toMatch(/^Usage:\n {2}license-agent --source file/);
    expect(a.output()).not.toContain('{');
  });

  it('names a bad environment variable', async () => {
    const a = run(FILE_ARGS, { LICENSE_POLL_INTERVAL: 'often' });
    expect(await a.exited).toBe(2);
    expect(a.output()).toContain('LICENSE_POLL_INTERVAL: "often" is not valid');
  });

  it("honours Tigera's LICENSE_METRICS_HOST and LICENSE_METRICS_PORT, logs JSON, stops on SIGTERM", async () => {
    const a = run(FILE_ARGS, { LICENSE_METRICS_HOST: '127.0.0.1', LICENSE_METRICS_PORT: '0' });
    const url = await servingUrl(a);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, 5000, 'ready');
    const metrics = await scrape(`${url}/metrics`);
    expect(metrics.value('calico_nodes_used')).toBe(95);
    expect(metrics.value('calico_maximum_licensed_nodes')).toBe(100);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(await a.stop('SIGTERM')).toBe(0);
    expect(a.logs().some((l) => l.msg === 'shutting down' && l.signal === 'SIGTERM')).toBe(true);
    expect(a.output()).not.toContain('eyJ'); // the token never reaches the logs
  });

  it('readyz answers 503 until the source has been read', async () => {
    // The Kubernetes source against an address nothing listens on never completes a read.
    const dir = mkdtempSync(join(tmpdir(), 'lm-kc-'));
    const kubeconfig = join(dir, 'config');
    execFileSync('kubectl', [
      'config',
      'set-cluster',
      'x',
      '--server=http://127.0.0.1:1',
      '--insecure-skip-tls-verify=true',
      `--kubeconfig=${kubeconfig}`,
    ]);
    execFileSync('kubectl', ['config', 'set-context', 'x', '--cluster=x', `--kubeconfig=${kubeconfig}`]);
    execFileSync('kubectl', ['config', 'use-context', 'x', `--kubeconfig=${kubeconfig}`]);
    const a = run(['--source', 'kubernetes', '--kubeconfig', kubeconfig, '--listen', '127.0.0.1:0']);
    const url = await servingUrl(a);
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
    const metrics = await scrape(`${url}/metrics`);
    expect(metrics.value('license_agent_source_up')).toBe(0);
    await waitFor(
      async () => {
        const m: Metrics = await scrape(`${url}/metrics`);
        return (m.value('license_agent_errors_total', { reason: 'api_group_discovery' }) ?? 0) > 0;
      },
      5000,
      'discovery errors counted',
    );
    rmSync(dir, { recursive: true });
  });
});

describe('mTLS', () => {
  let pki: TestPki;
  const pem = (name: string) => pki.read(name);

  beforeAll(() => {
    pki = createTestPki([
      SERVER_CERT,
      { name: 'client', commonName: 'prometheus', extension: 'extendedKeyUsage=clientAuth' },
    ]);
  });
  afterAll(() => pki.cleanup());

  function get(url: string, withClientCert: boolean): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = https.get(
        `${url}/metrics`,
        { ca: pem('ca.pem'), ...(withClientCert ? { cert: pem('client.pem'), key: pem('client.key') } : {}) },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
    });
  }

  it('refuses a scrape without a client certificate and serves one with it', async () => {
    const a = run([...FILE_ARGS, '--listen', '127.0.0.1:0'], {
      LICENSE_METRICS_CERT_FILE: pki.path('server.pem'),
      LICENSE_METRICS_KEY_FILE: pki.path('server.key'),
      LICENSE_METRICS_CA_FILE: pki.caFile,
    });
    const url = await servingUrl(a);
    expect(url).toMatch(/^https:/);
    await expect(get(url, false)).rejects.toThrow();
    expect(await get(url, true)).toBe(200);
  });
});
