// The receiver's Kubernetes manifests (receiver/deploy, a kustomize base), its example
// AlertmanagerConfig and its Dockerfile, checked offline: `kubectl kustomize` renders the base, every
// object is validated against its schema, the config in the ConfigMap is checked by the receiver's own
// parser with every path it names mapped to what the pod mounts there, the runbooks ConfigMap is the
// same as rules/runbooks, and the AlertmanagerConfig routes as rules/dist/alertmanager.yaml does.
// kubectl is required: without it these tests fail rather than skip.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AlertmanagerConfig,
  type IAlertmanagerConfig,
} from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1alpha1/AlertmanagerConfig';
import * as yaml from 'js-yaml';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { ConfigMap, type IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import {
  type IPersistentVolumeClaim,
  PersistentVolumeClaim,
} from 'kubernetes-models/v1/PersistentVolumeClaim';
import { type IService, Service } from 'kubernetes-models/v1/Service';
import { type IServiceAccount, ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../receiver/src/config.js';
import {
  type DockerStage,
  dockerfileStages,
  expectHardened,
  findOne,
  inventory,
  type K8sObject,
  type Models,
  renderedBase,
  runtimeUser,
  selects,
  validateAll,
} from '../helpers/kubernetes.js';
import { type Mount, remapPaths, unmountedPaths } from '../helpers/mounts.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BASE = join(ROOT, 'receiver/deploy');
const RUNBOOKS = join(ROOT, 'rules/runbooks');
const NAMESPACE = 'license-monitor';
const APP = { 'app.kubernetes.io/name': 'license-receiver' };
const PORT = 9095;

const MODELS: Models = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/Service': Service,
  'v1/ConfigMap': ConfigMap,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/Deployment': Deployment,
};

const objects = renderedBase(BASE);
const find = <T>(kind: string, name: string): T => findOne<T>(objects(), kind, name);
/** A generated ConfigMap, whatever its hash suffix. */
const configMap = (name: string): IConfigMap => {
  const found = objects().filter(
    (o) => o.kind === 'ConfigMap' && new RegExp(`^${name}-[a-z0-9]{10}$`).test(o.metadata.name),
  );
  expect(found, `ConfigMap ${name}-<hash>`).toHaveLength(1);
  return found[0] as IConfigMap;
};

const deployment = () => find<IDeployment>('Deployment', 'license-receiver');
const pod = () =>
  deployment().spec?.template.spec as NonNullable<NonNullable<IDeployment['spec']>['template']['spec']>;
const container = () => {
  const containers = pod().containers;
  expect(containers.map((c) => c.name)).toEqual(['license-receiver']);
  return containers[0] as (typeof containers)[number];
};

const temporary: string[] = [];
afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

/**
 * What the pod mounts, laid out on the host: each ConfigMap's data and each Secret item as files (a
 * placeholder value for secrets), empty folders for volumes. Returns the mounts.
 */
function podFilesystem(): Mount[] {
  const dir = mkdtempSync(join(tmpdir(), 'lm-receiver-pod-'));
  temporary.push(dir);
  const volumes = new Map((pod().volumes ?? []).map((v) => [v.name, v]));
  return (container().volumeMounts ?? []).map((m) => {
    const host = join(dir, m.name);
    mkdirSync(host, { recursive: true });
    const volume = volumes.get(m.name);
    expect(volume, `volume ${m.name}`).toBeDefined();
    if (volume?.configMap) {
      const cm = objects().find(
        (o) => o.kind === 'ConfigMap' && o.metadata.name === volume.configMap?.name,
      ) as IConfigMap | undefined;
      expect(cm, `ConfigMap ${volume.configMap.name}`).toBeDefined();
      for (const [key, value] of Object.entries(cm?.data ?? {})) writeFileSync(join(host, key), value);
    }
    if (volume?.secret)
      for (const item of volume.secret.items ?? [])
        writeFileSync(join(host, item.path), `placeholder-${item.key}\n`);
    return { container: m.mountPath, host };
  });
}

describe('receiver/deploy kustomize base', () => {
  it('renders exactly the expected objects, each valid against its schema', () => {
    const names = inventory(objects()).map((n) => n.replace(/-[a-z0-9]{10}$/, '-<hash>'));
    expect(names).toEqual(
      [
        'ConfigMap license-monitor/license-receiver-config-<hash>',
        'ConfigMap license-monitor/license-receiver-runbooks-<hash>',
        'Deployment license-monitor/license-receiver',
        'Namespace -/license-monitor',
        'PersistentVolumeClaim license-monitor/license-receiver-data',
        'Service license-monitor/license-receiver',
        'ServiceAccount license-monitor/license-receiver',
      ].sort(),
    );
    expect(validateAll(objects(), MODELS)).toEqual([]);
    for (const obj of objects())
      expect(obj.metadata.labels?.['app.kubernetes.io/part-of']).toBe('license-monitor');
  });

  it('runs one pod, replaced rather than rolled, under an account without a token', () => {
    const d = deployment();
    expect(d.spec?.replicas).toBe(1);
    expect(d.spec?.strategy?.type).toBe('Recreate');
    expect(d.spec?.selector.matchLabels).toEqual(APP);
    expect(selects(d.spec?.selector.matchLabels, d.spec?.template.metadata?.labels)).toBe(true);
    const sa = find<IServiceAccount>('ServiceAccount', 'license-receiver');
    expect(pod().serviceAccountName).toBe('license-receiver');
    expect(sa.automountServiceAccountToken).toBe(false);
    expect(pod().automountServiceAccountToken).toBe(false);
    expect(container().image).toMatch(/^license-monitor\/license-receiver:\d+\.\d+\.\d+$/);
  });

  it('runs non-root with a read-only root filesystem, no privilege escalation and no capabilities', () => {
    const podSc = pod().securityContext ?? {};
    const sc = container().securityContext ?? {};
    expectHardened(podSc, sc);
    // The group that may read the Secret's files and write the volume.
    expect(podSc.fsGroup).toBe(sc.runAsGroup ?? podSc.runAsGroup);
  });

  it('has liveness and readiness probes on its port, and resource requests and limits', () => {
    const c = container();
    expect(c.ports).toEqual([{ name: 'http', containerPort: PORT, protocol: 'TCP' }]);
    expect(c.livenessProbe?.httpGet).toMatchObject({ path: '/healthz', port: 'http' });
    expect(c.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', port: 'http' });
    expect(c.resources?.requests).toHaveProperty('cpu');
    expect(c.resources?.requests).toHaveProperty('memory');
    expect(c.resources?.limits).toHaveProperty('memory');
  });

  it('keeps the store on the PersistentVolumeClaim and reads the Secret license-receiver', () => {
    const pvc = find<IPersistentVolumeClaim>('PersistentVolumeClaim', 'license-receiver-data');
    expect(pvc.spec?.accessModes).toEqual(['ReadWriteOnce']);
    expect(pvc.spec?.resources?.requests?.storage).toBeDefined();
    const volumes = pod().volumes ?? [];
    expect(volumes.find((v) => v.persistentVolumeClaim)?.persistentVolumeClaim?.claimName).toBe(
      pvc.metadata?.name,
    );
    const secret = volumes.find((v) => v.secret)?.secret;
    expect(secret?.secretName).toBe('license-receiver');
    expect(secret?.optional ?? false).toBe(false);
    expect((secret?.items ?? []).map((i) => i.key).sort()).toEqual([
      'slack-bot-token',
      'smtp-password',
      'webhook-token',
    ]);
    // Every volume is mounted, every mount has a volume; only data and tmp are writable.
    const mounts = container().volumeMounts ?? [];
    expect(mounts.map((m) => m.name).sort()).toEqual(volumes.map((v) => v.name).sort());
    expect(
      mounts
        .filter((m) => !m.readOnly)
        .map((m) => m.name)
        .sort(),
    ).toEqual(['data', 'tmp']);
  });

  it('has a config the receiver accepts, naming only paths the pod mounts, with the store on the volume', () => {
    const args = container().args ?? [];
    const configPath = args[args.indexOf('--config') + 1] as string;
    expect(args[0]).toBe('serve');
    const source = configMap('license-receiver-config').data?.['receiver.yaml'] as string;
    expect(source).toBeDefined();
    const mounts = podFilesystem();
    const document = yaml.load(source) as Record<string, unknown>;
    expect(unmountedPaths(document, mounts)).toEqual([]);
    const onHost = remapPaths(document, mounts);
    const hostConfig = remapPaths(configPath, mounts);
    expect(readFileSync(hostConfig, 'utf8')).toBe(source);
    const config = parseConfig(onHost, hostConfig, { secrets: true, env: {} });
    expect(config.listen).toEqual({ host: '0.0.0.0', port: PORT });
    expect(config.auth?.bearerToken).toBe('placeholder-webhook-token');
    const data = mounts.find((m) => m.container === '/var/lib/license-receiver');
    expect(config.store.path.startsWith(`${data?.host}/`), 'the store is on the PersistentVolumeClaim').toBe(
      true,
    );
    expect(config.runbooksDir).toBe(remapPaths('/etc/license-receiver/runbooks', mounts));
  });

  it('mounts the runbooks of rules/runbooks, unchanged (receiver/deploy/runbooks is a checked copy)', () => {
    const expected = Object.fromEntries(
      readdirSync(RUNBOOKS)
        .filter((f) => f.endsWith('.md'))
        .map((f) => [f, readFileSync(join(RUNBOOKS, f), 'utf8')]),
    );
    const data = configMap('license-receiver-runbooks').data ?? {};
    const stale = Object.keys({ ...expected, ...data }).filter((f) => data[f] !== expected[f]);
    expect(
      stale,
      'out of date: run `cp rules/runbooks/*.md receiver/deploy/runbooks/` and list new files in receiver/deploy/kustomization.yaml',
    ).toEqual([]);
  });

  it('is reached through the Service at the address the rules’ Alertmanager fragment posts to', () => {
    const svc = find<IService>('Service', 'license-receiver');
    expect(svc.spec?.selector).toEqual(APP);
    expect(selects(svc.spec?.selector, deployment().spec?.template.metadata?.labels)).toBe(true);
    expect(svc.spec?.ports).toEqual([{ name: 'http', protocol: 'TCP', port: PORT, targetPort: 'http' }]);
    const fragment = yaml.load(readFileSync(join(ROOT, 'rules/dist/alertmanager.yaml'), 'utf8')) as Fragment;
    const url = fragment.receivers[0]?.webhook_configs[0]?.url;
    expect(url).toBe(`http://${svc.metadata?.name}.${NAMESPACE}.svc:${PORT}/webhook`);
  });
});

interface Fragment {
  route: {
    receiver: string;
    matchers: string[];
    group_by: string[];
    group_wait: string;
    group_interval: string;
    repeat_interval: string;
    routes?: { receiver: string; matchers: string[] }[];
  };
  receivers: { name: string; webhook_configs: { url: string; send_resolved: boolean }[] }[];
  inhibit_rules: { source_matchers: string[]; target_matchers: string[]; equal: string[] }[];
}

describe('receiver/deploy/examples/alertmanagerconfig.yaml', () => {
  const example = () =>
    yaml.load(readFileSync(join(BASE, 'examples/alertmanagerconfig.yaml'), 'utf8')) as IAlertmanagerConfig &
      K8sObject;
  const fragment = () =>
    yaml.load(readFileSync(join(ROOT, 'rules/dist/alertmanager.yaml'), 'utf8')) as Fragment;
  /** `name=~"value"` → the AlertmanagerConfig's matcher object. */
  const matcher = (text: string) => {
    const [, name, matchType, value] = /^(\w+)(=~|!~|!=|=)"(.*)"$/.exec(text) ?? [];
    return { name, matchType, value };
  };

  it('is a valid monitoring.coreos.com/v1alpha1 AlertmanagerConfig', () => {
    expect(
      validateAll([example()], { 'monitoring.coreos.com/v1alpha1/AlertmanagerConfig': AlertmanagerConfig }),
    ).toEqual([]);
  });

  it('routes and inhibits as rules/dist/alertmanager.yaml does', () => {
    const { route, receivers, inhibit_rules } = fragment();
    const spec = example().spec ?? {};
    expect(spec.route).toEqual({
      receiver: route.receiver,
      matchers: route.matchers.map(matcher),
      groupBy: route.group_by,
      groupWait: route.group_wait,
      groupInterval: route.group_interval,
      repeatInterval: route.repeat_interval,
      routes: route.routes?.map((r) => ({ receiver: r.receiver, matchers: r.matchers.map(matcher) })),
    });
    expect(spec.inhibitRules).toEqual(
      inhibit_rules.map((r) => ({
        sourceMatch: r.source_matchers.map(matcher),
        targetMatch: r.target_matchers.map(matcher),
        equal: r.equal,
      })),
    );
    expect(spec.receivers?.map((r) => r.name)).toEqual(receivers.map((r) => r.name));
    const webhook = spec.receivers?.[0]?.webhookConfigs?.[0];
    expect(webhook?.url).toBe(receivers[0]?.webhook_configs[0]?.url);
    expect(webhook?.sendResolved).toBe(true);
  });

  it('sends the bearer token from a Secret', () => {
    const auth = example().spec?.receivers?.[0]?.webhookConfigs?.[0]?.httpConfig?.authorization;
    expect(auth?.type).toBe('Bearer');
    expect(auth?.credentials).toEqual({ name: 'license-receiver-webhook', key: 'token' });
  });
});

describe('receiver/Dockerfile', () => {
  const stages = () => dockerfileStages(readFileSync(join(ROOT, 'receiver/Dockerfile'), 'utf8'));
  const runtime = () => {
    const all = stages();
    expect(all.length, 'a multi-stage build').toBeGreaterThan(1);
    return all.at(-1) as DockerStage;
  };

  it('runs the runtime stage as a non-root user, with no build tools in it', () => {
    const stage = runtime();
    const user = runtimeUser(stage);
    if (user === undefined) expect(stage.image).toMatch(/:nonroot(@|$)/);
    else expect(['root', '0']).not.toContain(user);
    expect(stage.instructions.filter((i) => i.op === 'RUN')).toEqual([]);
  });

  it('builds better-sqlite3 in a stage that has python3, make and g++', () => {
    const builds = stages().filter((s) =>
      s.instructions.some((i) => i.op === 'RUN' && /npm ci/.test(i.args) && !/--ignore-scripts/.test(i.args)),
    );
    expect(builds.length, 'a stage runs npm ci with install scripts').toBeGreaterThan(0);
    for (const stage of builds) {
      const installs = stage.instructions
        .filter((i) => i.op === 'RUN')
        .map((i) => i.args)
        .join(' ');
      for (const tool of ['python3', 'make', 'g++']) expect(installs).toContain(tool);
    }
  });

  it('exposes 9095, starts the receiver, and gives the store folder to the runtime user', () => {
    const stage = runtime();
    expect(
      stage.instructions.some((i) => i.op === 'EXPOSE' && i.args.split(/\s+/).includes(String(PORT))),
    ).toBe(true);
    expect(stage.instructions.find((i) => i.op === 'ENTRYPOINT')?.args).toContain('receiver/dist/main.js');
    const user = runtimeUser(stage);
    const store = stage.instructions.find(
      (i) => i.op === 'COPY' && i.args.includes('/var/lib/license-receiver'),
    );
    expect(store?.args).toContain(`--chown=${user}`);
  });
});
