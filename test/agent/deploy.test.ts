// The agent's Kubernetes manifests (agent/deploy, a kustomize base) and its Dockerfile, checked
// offline: `kubectl kustomize` renders the base, every object is validated against the Kubernetes
// and prometheus-operator schemas, and the properties that matter are asserted one by one.
// kubectl is required: without it these tests fail rather than skip.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type IServiceMonitor,
  ServiceMonitor,
} from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import * as yaml from 'js-yaml';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { type INetworkPolicy, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { ClusterRole, type IClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import {
  ClusterRoleBinding,
  type IClusterRoleBinding,
} from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { type INamespace, Namespace } from 'kubernetes-models/v1/Namespace';
import { type IService, Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { describe, expect, it } from 'vitest';
import {
  type DockerStage,
  dockerfileStages,
  expectHardened,
  findOne,
  inventory,
  kustomize,
  type Models,
  portKey,
  renderedBase,
  runtimeUser,
  selects,
  validateAll,
} from '../helpers/kubernetes.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BASE = join(ROOT, 'agent/deploy');

const NAMESPACE = 'tigera-license-agent';
const APP = { 'k8s-app': 'tigera-license-agent' };
const METRICS_PORT = 9081;
const METRICS_PORT_NAME = 'calico-metrics-port';

/** The schema model for each apiVersion/kind the base may contain; anything else is an error. */
const MODELS: Models = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/Service': Service,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'apps/v1/Deployment': Deployment,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
};

const objects = renderedBase(BASE);
const find = <T>(kind: string, name: string): T => findOne<T>(objects(), kind, name);

describe('agent/deploy kustomize base', () => {
  it('renders exactly the expected objects, each of a known kind and valid against its schema', () => {
    const names = inventory(objects());
    expect(names).toEqual(
      [
        'ClusterRole -/tigera-license-agent',
        'ClusterRoleBinding -/tigera-license-agent',
        'Deployment tigera-license-agent/tigera-license-agent',
        'Namespace -/tigera-license-agent',
        'NetworkPolicy tigera-license-agent/tigera-license-agent',
        'Service tigera-license-agent/license-agent',
        'ServiceAccount tigera-license-agent/tigera-license-agent',
        'ServiceMonitor tigera-prometheus/calico-lic-monitor',
      ].sort(),
    );
    const problems = validateAll(objects(), MODELS);
    expect(problems).toEqual([]);
  });

  it('creates the namespace with its name label', () => {
    const ns = find<INamespace>('Namespace', NAMESPACE);
    expect(ns.metadata?.labels?.name).toBe(NAMESPACE);
  });

  it('grants get/list/watch on LicenseKeys in both API groups, Nodes and LicenseUsageReports, and nothing else', () => {
    const role = find<IClusterRole>('ClusterRole', 'tigera-license-agent');
    expect(role.aggregationRule).toBeUndefined();
    const grants = new Set<string>();
    for (const rule of role.rules ?? []) {
      expect(Object.keys(rule).sort(), 'rule fields').toEqual(['apiGroups', 'resources', 'verbs']);
      for (const group of rule.apiGroups ?? [])
        for (const resource of rule.resources ?? [])
          for (const verb of rule.verbs) grants.add(`${group}|${resource}|${verb}`);
    }
    const expected = [
      ['projectcalico.org', 'licensekeys'],
      ['crd.projectcalico.org', 'licensekeys'],
      ['', 'nodes'],
      ['usage.tigera.io', 'licenseusagereports'],
    ].flatMap(([group, resource]) => ['get', 'list', 'watch'].map((v) => `${group}|${resource}|${v}`));
    expect([...grants].sort()).toEqual(expected.sort());

    const binding = find<IClusterRoleBinding>('ClusterRoleBinding', 'tigera-license-agent');
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: 'tigera-license-agent',
    });
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'tigera-license-agent', namespace: NAMESPACE },
    ]);
  });

  describe('Deployment', () => {
    const deployment = () => find<IDeployment>('Deployment', 'tigera-license-agent');
    const pod = () => deployment().spec?.template.spec;
    const container = () => {
      const containers = pod()?.containers ?? [];
      expect(containers.map((c) => c.name)).toEqual(['license-agent']);
      return containers[0] as NonNullable<ReturnType<typeof pod>>['containers'][number];
    };

    it('runs one agent pod from the Kubernetes source under its service account', () => {
      const d = deployment();
      expect(d.metadata?.namespace).toBe(NAMESPACE);
      expect(d.metadata?.labels).toMatchObject(APP);
      expect(d.spec?.replicas).toBe(1);
      expect(d.spec?.selector.matchLabels).toEqual(APP);
      expect(selects(d.spec?.selector.matchLabels, d.spec?.template.metadata?.labels)).toBe(true);
      expect(pod()?.serviceAccountName).toBe('tigera-license-agent');
      expect(pod()?.automountServiceAccountToken).toBe(true);
      expect(pod()?.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
      expect(pod()?.hostNetwork ?? false).toBe(false);
      const c = container();
      expect(c.image).toMatch(/^license-monitor\/license-agent:\d+\.\d+\.\d+$/);
      expect(c.args?.join(' ')).toContain('--source kubernetes');
      expect(c.ports).toEqual([{ name: METRICS_PORT_NAME, containerPort: METRICS_PORT, protocol: 'TCP' }]);
    });

    it('runs non-root with a read-only root filesystem, no privilege escalation and no capabilities', () => {
      expectHardened(pod()?.securityContext, container().securityContext);
    });

    it('has liveness and readiness probes on the metrics port, and resource requests and limits', () => {
      const c = container();
      const onMetricsPort = (port: number | string | undefined) =>
        port === METRICS_PORT || port === METRICS_PORT_NAME;
      expect(c.livenessProbe?.httpGet?.path).toBe('/healthz');
      expect(onMetricsPort(c.livenessProbe?.httpGet?.port)).toBe(true);
      expect(c.readinessProbe?.httpGet?.path).toBe('/readyz');
      expect(onMetricsPort(c.readinessProbe?.httpGet?.port)).toBe(true);
      expect(c.resources?.requests).toHaveProperty('cpu');
      expect(c.resources?.requests).toHaveProperty('memory');
      expect(c.resources?.limits).toHaveProperty('memory');
    });
  });

  it('exposes the metrics port as calico-metrics-port on a Service selecting the agent', () => {
    const svc = find<IService>('Service', 'license-agent');
    expect(svc.metadata?.namespace).toBe(NAMESPACE);
    expect(svc.metadata?.labels).toMatchObject(APP);
    expect(svc.spec?.selector).toEqual(APP);
    const template = find<IDeployment>('Deployment', 'tigera-license-agent').spec?.template;
    expect(selects(svc.spec?.selector, template?.metadata?.labels)).toBe(true);
    expect(svc.spec?.ports).toEqual([
      { name: METRICS_PORT_NAME, port: METRICS_PORT, targetPort: METRICS_PORT, protocol: 'TCP' },
    ]);
  });

  it('has a ServiceMonitor that scrapes that Service as job "license-agent", without honorLabels', () => {
    const sm = find<IServiceMonitor>('ServiceMonitor', 'calico-lic-monitor');
    const svc = find<IService>('Service', 'license-agent');
    expect(sm.metadata?.namespace).toBe('tigera-prometheus');
    // Calico Enterprise's Prometheus selects ServiceMonitors labelled team: network-operators.
    expect(sm.metadata?.labels?.team).toBe('network-operators');
    expect(sm.spec.selector.matchLabels).toEqual(APP);
    expect(selects(sm.spec.selector.matchLabels, svc.metadata?.labels)).toBe(true);
    expect(sm.spec.namespaceSelector?.matchNames).toEqual([NAMESPACE]);
    expect(sm.spec.endpoints).toHaveLength(1);
    const endpoint = sm.spec.endpoints?.[0];
    expect(endpoint?.port).toBe(METRICS_PORT_NAME);
    expect(endpoint?.interval).toBe('30s');
    expect(endpoint?.honorLabels).toBeUndefined();
    // prometheus-operator: job = the Service's jobLabel label if set, else the Service's name.
    const job = sm.spec.jobLabel ? svc.metadata?.labels?.[sm.spec.jobLabel] : svc.metadata?.name;
    expect(job).toBe('license-agent');
  });

  it('has a NetworkPolicy: ingress on 9081 from Prometheus only, egress to the API server and DNS only', () => {
    const np = find<INetworkPolicy>('NetworkPolicy', 'tigera-license-agent');
    const template = find<IDeployment>('Deployment', 'tigera-license-agent').spec?.template;
    expect(np.metadata?.namespace).toBe(NAMESPACE);
    expect(np.spec?.podSelector.matchLabels).toEqual(APP);
    expect(selects(np.spec?.podSelector.matchLabels, template?.metadata?.labels)).toBe(true);
    expect(np.spec?.policyTypes?.sort()).toEqual(['Egress', 'Ingress']);

    const ingress = np.spec?.ingress ?? [];
    expect(ingress.length).toBeGreaterThan(0);
    for (const rule of ingress) {
      expect(rule.ports?.map(portKey)).toEqual([`TCP/${METRICS_PORT}`]);
      expect(rule.from?.length, 'ingress rule without sources allows everyone').toBeGreaterThan(0);
      for (const peer of rule.from ?? []) {
        expect(peer.ipBlock).toBeUndefined();
        expect(peer.namespaceSelector?.matchLabels).toEqual({
          'kubernetes.io/metadata.name': 'tigera-prometheus',
        });
        expect(Object.keys(peer.podSelector?.matchLabels ?? {}).length).toBeGreaterThan(0);
      }
    }

    const egress = np.spec?.egress ?? [];
    for (const rule of egress) expect(rule.ports?.length, 'egress rule without ports').toBeGreaterThan(0);
    const egressPorts = new Set(egress.flatMap((rule) => (rule.ports ?? []).map(portKey)));
    expect([...egressPorts].sort()).toEqual(['TCP/443', 'TCP/53', 'TCP/6443', 'UDP/53']);
  });

  it('takes an image override and the API-server port patch documented in networkpolicy.yaml', () => {
    const dir = mkdtempSync(join(tmpdir(), 'license-agent-overlay-'));
    try {
      const overlay = join(dir, 'overlay');
      mkdirSync(overlay);
      writeFileSync(
        join(overlay, 'kustomization.yaml'),
        yaml.dump({
          apiVersion: 'kustomize.config.k8s.io/v1beta1',
          kind: 'Kustomization',
          resources: [relative(overlay, BASE)],
          images: [
            { name: 'license-monitor/license-agent', newName: 'registry.example/agent', newTag: '9.9.9' },
          ],
          patches: [
            {
              target: { group: 'networking.k8s.io', version: 'v1', kind: 'NetworkPolicy', name: NAMESPACE },
              patch: '- op: add\n  path: /spec/egress/0/ports/-\n  value: {protocol: TCP, port: 8443}\n',
            },
          ],
        }),
      );
      const patched = kustomize(overlay);
      const d = patched.find((o) => o.kind === 'Deployment') as IDeployment;
      expect(d.spec?.template.spec?.containers[0]?.image).toBe('registry.example/agent:9.9.9');
      const np = patched.find((o) => o.kind === 'NetworkPolicy') as INetworkPolicy;
      expect(np.spec?.egress?.[0]?.ports?.map(portKey)).toEqual(['TCP/443', 'TCP/6443', 'TCP/8443']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('agent/Dockerfile', () => {
  const dockerfile = readFileSync(join(ROOT, 'agent/Dockerfile'), 'utf8');
  const runtime = () => {
    const all = dockerfileStages(dockerfile);
    expect(all.length, 'a multi-stage build').toBeGreaterThan(1);
    return all.at(-1) as DockerStage;
  };

  it('runs the runtime stage as a non-root user', () => {
    const stage = runtime();
    const user = runtimeUser(stage);
    if (user === undefined) {
      expect(stage.image, 'no USER: the image must be a :nonroot one').toMatch(/:nonroot(@|$)/);
    } else {
      expect(['root', '0']).not.toContain(user);
    }
  });

  it('exposes 9081 and starts the agent', () => {
    const stage = runtime();
    expect(stage.instructions.some((i) => i.op === 'EXPOSE' && i.args.split(/\s+/).includes('9081'))).toBe(
      true,
    );
    expect(stage.instructions.find((i) => i.op === 'ENTRYPOINT')?.args).toContain('agent/dist/main.js');
  });
});
