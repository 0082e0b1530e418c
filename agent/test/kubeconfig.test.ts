import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inCluster, loadConnection } from '../src/sources/kubeconfig.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lm-kubeconfig-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function kubeconfig(
  name: string,
  user: Record<string, unknown>,
  cluster: Record<string, unknown> = {},
  current = 'ctx',
) {
  const path = join(dir, name);
  writeFileSync(
    path,
    yaml.dump({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': current,
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
      clusters: [{ name: 'c', cluster: { server: 'https://api.example.test:6443', ...cluster } }],
      users: [{ name: 'u', user }],
    }),
  );
  return path;
}

describe('loadConnection from a kubeconfig', () => {
  it('reads the server, inline CA and client certificate, and a bearer token', async () => {
    const path = kubeconfig(
      'config',
      {
        token: 'abc',
        'client-certificate-data': Buffer.from('CERT').toString('base64'),
        'client-key-data': Buffer.from('KEY').toString('base64'),
      },
      { 'certificate-authority-data': Buffer.from('CA').toString('base64'), 'tls-server-name': 'kubernetes' },
    );
    const c = loadConnection(path);
    expect(c.server.href).toBe('https://api.example.test:6443/');
    expect([c.tls.ca?.toString(), c.tls.cert?.toString(), c.tls.key?.toString()]).toEqual([
      'CA',
      'CERT',
      'KEY',
    ]);
    expect(c.tls.rejectUnauthorized).toBe(true);
    expect(c.tls.servername).toBe('kubernetes');
    expect(await c.headers()).toEqual({ Authorization: 'Bearer abc' });
  });

  it('resolves relative file paths against the kubeconfig folder', async () => {
    mkdirSync(join(dir, 'certs'));
    writeFileSync(join(dir, 'certs', 'ca.pem'), 'CA-FILE');
    writeFileSync(join(dir, 'token'), 'from-file\n');
    const c = loadConnection(
      kubeconfig('config', { tokenFile: 'token' }, { 'certificate-authority': 'certs/ca.pem' }),
    );
    expect(c.tls.ca?.toString()).toBe('CA-FILE');
    expect(await c.headers()).toEqual({ Authorization: 'Bearer from-file' });
  });

  it('supports basic auth and insecure-skip-tls-verify', async () => {
    const c = loadConnection(
      kubeconfig('config', { username: 'admin', password: 'pw' }, { 'insecure-skip-tls-verify': true }),
    );
    expect(c.tls.rejectUnauthorized).toBe(false);
    expect(await c.headers()).toEqual({
      Authorization: `Basic ${Buffer.from('admin:pw').toString('base64')}`,
    });
  });

  it('runs an exec credential plugin once and caches its token until it nears expiry', async () => {
    const counter = join(dir, 'calls');
    const script = `require('fs').appendFileSync(${JSON.stringify(counter)}, 'x'); console.log(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: process.env.TOKEN_PREFIX + '-token', expirationTimestamp: new Date(Date.now() + 3600e3).toISOString() } }))`;
    const c = loadConnection(
      kubeconfig('config', {
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1',
          command: process.execPath,
          args: ['-e', script],
          env: [{ name: 'TOKEN_PREFIX', value: 'eks' }],
        },
      }),
    );
    expect(await c.headers()).toEqual({ Authorization: 'Bearer eks-token' });
    expect(await c.headers()).toEqual({ Authorization: 'Bearer eks-token' });
    expect(readFileSync(counter, 'utf8')).toBe('x');
  });

  it('merges KUBECONFIG files, the first to set a value winning', async () => {
    const first = kubeconfig('a', { token: 'first' });
    const second = kubeconfig('b', { token: 'second' }, {}, 'other');
    const c = loadConnection(undefined, {
      KUBECONFIG: `${join(dir, 'missing')}:${first}:${second}`,
      HOME: dir,
    });
    expect(await c.headers()).toEqual({ Authorization: 'Bearer first' });
  });

  it.each([
    [{ 'current-context': '' }, 'current-context is not set'],
    [{ 'current-context': 'nope' }, 'context "nope" is not defined'],
    [{ clusters: [{ name: 'c', cluster: {} }] }, 'cluster "c": server is not set'],
    [
      { clusters: [{ name: 'c', cluster: { server: 'not a url' } }] },
      'cluster server "not a url" is not a URL',
    ],
    [
      { users: [{ name: 'u', user: { 'auth-provider': { name: 'gcp' } } }] },
      'auth-provider is not supported',
    ],
  ])('names what is wrong: %j', (override, message) => {
    const path = kubeconfig('config', { token: 't' });
    const doc = { ...(yaml.load(readFileSync(path, 'utf8')) as object), ...override };
    writeFileSync(path, yaml.dump(doc));
    expect(() => loadConnection(path)).toThrow(message);
  });

  it('rejects a file that is not YAML, naming it', () => {
    const path = join(dir, 'broken');
    writeFileSync(path, 'clusters: [unclosed');
    expect(() => loadConnection(path)).toThrow(`${path}: not a kubeconfig`);
  });
});

describe('in-cluster service account', () => {
  it('uses KUBERNETES_SERVICE_HOST/PORT, the mounted CA and token', async () => {
    writeFileSync(join(dir, 'ca.crt'), 'SA-CA');
    writeFileSync(join(dir, 'token'), 'sa-token');
    const c = inCluster({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, dir);
    expect(c.server.href).toBe('https://10.96.0.1/');
    expect(c.tls.ca?.toString()).toBe('SA-CA');
    expect(await c.headers()).toEqual({ Authorization: 'Bearer sa-token' });
    const v6 = inCluster({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' }, dir);
    expect(v6.server.host).toBe('[fd00::1]:6443');
  });

  it('says what to do when there is no configuration at all', () => {
    expect(() => loadConnection(undefined, { HOME: dir })).toThrow('no kubeconfig: pass --kubeconfig');
  });
});
