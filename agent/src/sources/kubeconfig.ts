// Where the API server is and how to authenticate to it: a kubeconfig file (or $KUBECONFIG, or
// ~/.kube/config) or the pod's service account. Covers what an agent needs: CA, client certificates,
// bearer tokens (inline, file, exec credential plugins), basic auth, insecure-skip-tls-verify.
// Written here rather than taken from @kubernetes/client-node, whose KubeConfig loads all generated
// API models (about 75 MB of resident memory) — more than the agent's whole budget.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { promisify } from 'node:util';
import * as yaml from 'js-yaml';

export interface Connection {
  server: URL;
  tls: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized: boolean; servername?: string };
  /** Authorization headers for the next request (tokens can rotate). */
  headers(): Promise<Record<string, string>>;
  /** Where this came from, for logs. */
  origin: string;
}

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

export class KubeconfigError extends Error {
  override name = 'KubeconfigError';
}

type Named<T> = { name?: string } & T;
interface ClusterEntry {
  server?: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string;
}
interface ExecConfig {
  command?: string;
  args?: string[];
  env?: { name: string; value: string }[] | null;
  apiVersion?: string;
}
interface UserEntry {
  token?: string;
  tokenFile?: string;
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  username?: string;
  password?: string;
  exec?: ExecConfig;
  'auth-provider'?: unknown;
}
interface KubeconfigFile {
  'current-context'?: string;
  contexts?: Named<{ context?: { cluster?: string; user?: string } }>[];
  clusters?: Named<{ cluster?: ClusterEntry }>[];
  users?: Named<{ user?: UserEntry }>[];
}

/** The connection from `path`, else $KUBECONFIG, ~/.kube/config, else the in-cluster service account. */
export function loadConnection(path?: string, env: NodeJS.ProcessEnv = process.env): Connection {
  if (path) return fromKubeconfig([path]);
  const fromEnv = (env.KUBECONFIG ?? '').split(delimiter).filter((p) => p !== '' && existsSync(p));
  if (fromEnv.length > 0) return fromKubeconfig(fromEnv);
  const home = join(env.HOME ?? homedir(), '.kube', 'config');
  if (existsSync(home)) return fromKubeconfig([home]);
  if (env.KUBERNETES_SERVICE_HOST) return inCluster(env);
  throw new KubeconfigError(
    'no kubeconfig: pass --kubeconfig, set KUBECONFIG, create ~/.kube/config, or run in a pod with a service account',
  );
}

export function inCluster(env: NodeJS.ProcessEnv, dir = SERVICE_ACCOUNT): Connection {
  const host = env.KUBERNETES_SERVICE_HOST as string;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  const tokenFile = join(dir, 'token');
  return {
    server: new URL(`https://${host.includes(':') ? `[${host}]` : host}:${port}`),
    tls: { ca: readFileSync(join(dir, 'ca.crt')), rejectUnauthorized: true },
    headers: fileToken(tokenFile),
    origin: 'in-cluster service account',
  };
}

function fromKubeconfig(paths: string[]): Connection {
  // Merge as kubectl does: the first file to set a value or name an entry wins.
  const files = paths.map((p) => ({ path: p, config: parseFile(p) }));
  const currentContext = files.find((f) => f.config['current-context'])?.config['current-context'];
  const origin = paths.join(delimiter);
  if (!currentContext) throw new KubeconfigError(`${origin}: current-context is not set`);
  const find = <K extends 'contexts' | 'clusters' | 'users'>(key: K, name: string | undefined) => {
    for (const f of files) {
      const entry = (f.config[key] as Named<Record<string, unknown>>[] | undefined)?.find(
        (e) => e.name === name,
      );
      if (entry) return { entry: entry as NonNullable<KubeconfigFile[K]>[number], base: dirname(f.path) };
    }
    throw new KubeconfigError(`${origin}: ${key.slice(0, -1)} ${JSON.stringify(name)} is not defined`);
  };
  const context = find('contexts', currentContext).entry.context ?? {};
  const { entry: clusterEntry, base: clusterBase } = find('clusters', context.cluster);
  const cluster = clusterEntry.cluster ?? {};
  const user = context.user ? find('users', context.user) : undefined;
  const u: UserEntry = user?.entry.user ?? {};
  const userBase = user?.base ?? clusterBase;

  if (!cluster.server)
    throw new KubeconfigError(`${origin}: cluster ${JSON.stringify(context.cluster)}: server is not set`);
  let server: URL;
  try {
    server = new URL(cluster.server);
  } catch {
    throw new KubeconfigError(`${origin}: cluster server ${JSON.stringify(cluster.server)} is not a URL`);
  }
  if (u['auth-provider']) {
    throw new KubeconfigError(
      `${origin}: user ${JSON.stringify(context.user)}: auth-provider is not supported; use an exec credential plugin`,
    );
  }
  const exec = u.exec ? execCredential(u.exec, origin) : undefined;
  return {
    server,
    tls: {
      ca: data(cluster['certificate-authority-data'], cluster['certificate-authority'], clusterBase),
      cert: data(u['client-certificate-data'], u['client-certificate'], userBase),
      key: data(u['client-key-data'], u['client-key'], userBase),
      rejectUnauthorized: cluster['insecure-skip-tls-verify'] !== true,
      servername: cluster['tls-server-name'],
    },
    headers: exec
      ? exec
      : u.token
        ? async () => ({ Authorization: `Bearer ${u.token}` })
        : u.tokenFile
          ? fileToken(resolvePath(u.tokenFile, userBase))
          : u.username !== undefined
            ? async () => ({
                Authorization: `Basic ${Buffer.from(`${u.username}:${u.password ?? ''}`).toString('base64')}`,
              })
            : async () => ({}),
    origin,
  };
}

function parseFile(path: string): KubeconfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new KubeconfigError(
      `${path}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  try {
    const doc = yaml.load(text);
    if (doc === null || typeof doc !== 'object') throw new Error('expected a mapping');
    return doc as KubeconfigFile;
  } catch (err) {
    throw new KubeconfigError(`${path}: not a kubeconfig: ${(err as Error).message.split('\n')[0]}`);
  }
}

const resolvePath = (p: string, base: string) => (isAbsolute(p) ? p : join(base, p));

function data(inline: string | undefined, file: string | undefined, base: string): Buffer | undefined {
  if (inline) return Buffer.from(inline, 'base64');
  return file ? readFileSync(resolvePath(file, base)) : undefined;
}

/** A bearer token read from a file, re-read every minute: projected service account tokens rotate. */
function fileToken(path: string): () => Promise<Record<string, string>> {
  let cached: { token: string; at: number } | undefined;
  return async () => {
    if (!cached || Date.now() - cached.at > 60_000)
      cached = { token: readFileSync(path, 'utf8').trim(), at: Date.now() };
    return { Authorization: `Bearer ${cached.token}` };
  };
}

const run = promisify(execFile);

/** A client.authentication.k8s.io exec plugin (aws eks get-token, gke-gcloud-auth-plugin, kubelogin…). */
function execCredential(exec: ExecConfig, origin: string): () => Promise<Record<string, string>> {
  if (!exec.command) throw new KubeconfigError(`${origin}: user exec.command is not set`);
  let cached: { token: string; expires: number } | undefined;
  return async () => {
    if (!cached || Date.now() > cached.expires - 60_000) {
      const env = { ...process.env, ...Object.fromEntries((exec.env ?? []).map((e) => [e.name, e.value])) };
      const { stdout } = await run(exec.command as string, exec.args ?? [], { env, timeout: 30_000 });
      const status = (JSON.parse(stdout) as { status?: { token?: string; expirationTimestamp?: string } })
        .status;
      if (!status?.token) throw new Error(`exec plugin ${exec.command} returned no status.token`);
      const expires = status.expirationTimestamp
        ? Date.parse(status.expirationTimestamp)
        : Date.now() + 10 * 60_000;
      cached = { token: status.token, expires };
    }
    return { Authorization: `Bearer ${cached.token}` };
  };
}
