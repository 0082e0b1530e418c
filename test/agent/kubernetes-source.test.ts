// The agent's Kubernetes source against a fake API server speaking the real wire format: lists,
// watches, failures and recoveries, observed through the agent's real /metrics.
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startAgent } from '../../agent/src/agent.js';
import { parseCommandLine } from '../../agent/src/config.js';
import { createRegistry } from '../../agent/src/metrics.js';
import { startServer } from '../../agent/src/server.js';
import { Snapshot } from '../../agent/src/snapshot.js';
import { KubeClient } from '../../agent/src/sources/kube-client.js';
import { loadConnection } from '../../agent/src/sources/kubeconfig.js';
import { KubernetesSource, type KubernetesSourceOptions } from '../../agent/src/sources/kubernetes.js';
import {
  FakeKubeApi,
  licenseKey,
  type RequestRecord,
  type ResourceName,
  USAGE_GROUP,
} from '../fakes/kube-api.js';
import { type Metrics, scrape, waitFor } from '../helpers/metrics.js';

const logger = pino({ level: 'silent' });
const DAY_MS = 86_400_000;
const V3 = 'projectcalico.org/v3';
const CRD = 'crd.projectcalico.org/v1';
const CONTROL_PLANE = 'node-role.kubernetes.io/control-plane';
const INSTANCE_TYPE = 'node.kubernetes.io/instance-type';
const METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
const METADATA_WATCH = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';
const HOUR_MS = 3_600_000;

/** An hour past `days` whole days from now, so that license_number_of_days reads `days`. */
const inDays = (days: number) => new Date(Date.now() + days * DAY_MS + 3_600_000);

interface Running {
  source: KubernetesSource;
  client: KubeClient;
  metrics: () => Promise<Metrics>;
}

let fake: FakeKubeApi;
let cleanups: (() => Promise<void>)[] = [];

beforeEach(async () => {
  fake = await FakeKubeApi.start();
});

afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
  await fake.stop();
});

/** The source with a short backoff, a snapshot, the real registry and the real /metrics server. */
async function startSource(
  options: Partial<KubernetesSourceOptions> = {},
  requestTimeoutMs?: number,
): Promise<Running> {
  const snapshot = new Snapshot();
  const registry = createRegistry({
    snapshot,
    defaultGraceSeconds: 30 * 86_400,
    version: 'test',
    source: 'kubernetes',
  });
  const server = await startServer({ host: '127.0.0.1', port: 0, registry, snapshot, logger });
  const client = new KubeClient(loadConnection(fake.kubeconfigPath), requestTimeoutMs);
  const source = new KubernetesSource({
    transport: client,
    snapshot,
    logger,
    backoff: { initialMs: 50, maxMs: 500 },
    ...options,
  });
  source.start();
  cleanups.push(async () => {
    await source.stop();
    await server.close();
  });
  return { source, client, metrics: () => scrape(`${server.url}/metrics`) };
}

/** Scrapes until the metrics satisfy `check`; returns them. */
async function metricsWhere(
  agent: { metrics: () => Promise<Metrics> },
  check: (m: Metrics) => boolean,
  what: string,
  timeoutMs = 5000,
): Promise<Metrics> {
  const found = await waitFor(
    async () => {
      const m = await agent.metrics();
      return check(m) ? m : undefined;
    },
    timeoutMs,
    what,
  );
  return found as Metrics; // waitFor returns only a defined value
}

const nodesUsed = (agent: Running, count: number) =>
  metricsWhere(agent, (m) => m.value('calico_nodes_used') === count, `calico_nodes_used ${count}`);

const errorsTotal = (m: Metrics) =>
  m.samples('license_agent_errors_total').reduce((sum, s) => sum + s.value, 0);

/** Waits until the agent has read every byte the fake sent, so every event sent is applied. */
function settled(agent: Running): Promise<boolean> {
  return waitFor(() => {
    const sent = fake.totals();
    return agent.client.bytesReceived === sent.listBytes + sent.watchBytes + sent.getBytes + sent.otherBytes;
  });
}

/** Drops the resource's watch and returns the resourceVersion the agent resumes from. */
async function resumeAfterDrop(resource: ResourceName): Promise<string | undefined> {
  const seen = fake.requests.length;
  fake.dropWatches(resource);
  const request = (await waitFor(
    () =>
      fake.requests
        .slice(seen)
        .find((r) => r.resource === resource && r.kind === 'watch' && r.status === 200),
    5000,
    `a new ${resource} watch`,
  )) as RequestRecord;
  return request.query.resourceVersion;
}

describe('KubernetesSource against the fake API server', () => {
  it('lists 1,234 nodes in pages of 100', async () => {
    fake.setLicenseKey(licenseKey({ expiry: inDays(10) }));
    fake.addNodes(1234);
    const agent = await startSource({ pageSize: 100 });

    await nodesUsed(agent, 1234);
    const pages = fake.requests.filter((r) => r.resource === 'nodes' && r.kind === 'list');
    expect(pages).toHaveLength(13);
    expect(pages.every((p) => p.query.limit === '100' && p.status === 200)).toBe(true);
    expect(pages.filter((p) => p.query.continue)).toHaveLength(12);
    expect(agent.source.lists).toEqual([1, 1]);
  });

  it('starts a list over when its continue token expires midway', async () => {
    fake.setLicenseKey(licenseKey({ expiry: inDays(10) }));
    fake.addNodes(450);
    let pages = 0;
    fake.beforeListPage = ({ resource }) => {
      if (resource === 'nodes' && ++pages === 3) fake.compact(); // expires page 2's token
    };
    const agent = await startSource({ pageSize: 100 });

    await nodesUsed(agent, 450);
    const lists = fake.requests.filter((r) => r.resource === 'nodes' && r.kind === 'list');
    expect(lists.map((r) => r.status)).toEqual([200, 200, 410, 200, 200, 200, 200, 200]);
    expect(agent.source.lists).toEqual([1, 1]);
  });

  it('asks for Nodes as metadata only, in lists and in watches', async () => {
    fake.setLicenseKey(licenseKey({ expiry: inDays(10) }));
    fake.addNodes(20);
    const agent = await startSource();
    await nodesUsed(agent, 20);
    await waitFor(() => fake.openWatches('nodes') === 1);
    fake.addNode('late');
    fake.modifyNode('late');
    await nodesUsed(agent, 21);

    const requests = fake.requests.filter((r) => r.resource === 'nodes');
    for (const r of requests) {
      const as = r.kind === 'list' ? 'PartialObjectMetadataList' : 'PartialObjectMetadata';
      expect(r.accept.split(',')[0]).toBe(`application/json;as=${as};g=meta.k8s.io;v=v1`);
    }
    expect(fake.counters.nodes.fullObjects).toBe(0);
    expect(fake.counters.nodes.metadataObjects).toBeGreaterThanOrEqual(22);
    // A full Node is about 8 KB; its metadata about 2 KB.
    expect(fake.counters.nodes.listBytes / 20).toBeLessThan(3000);
    // The LicenseKey is small and its status is needed: read whole.
    expect(fake.counters.licensekeys.fullObjects).toBeGreaterThanOrEqual(1);
  });

  it('follows ADDED, MODIFIED and DELETED events and resumes from BOOKMARKs', async () => {
    fake.setLicenseKey(licenseKey({ expiry: inDays(10) }));
    for (const name of ['a', 'b', 'c']) fake.addNode(name);
    const agent = await startSource();
    await nodesUsed(agent, 3);
    await waitFor(() => fake.openWatches('nodes') === 1);

    fake.addNode('d');
    await nodesUsed(agent, 4);

    fake.modifyNode('a');
    const modified = fake.modifyNode('b');
    await settled(agent);
    expect((await agent.metrics()).value('calico_nodes_used')).toBe(4); // updated, not counted again
    expect(await resumeAfterDrop('nodes')).toBe(String(modified));

    fake.removeNode('c');
    await nodesUsed(agent, 3);

    // A LicenseKey change moves the global resourceVersion on; a bookmark tells the Node watch.
    fake.setLicenseKey(licenseKey({ expiry: inDays(11) }));
    const bookmark = fake.sendBookmark();
    await settled(agent);
    expect(await resumeAfterDrop('nodes')).toBe(String(bookmark));
    expect(agent.source.lists).toEqual([1, 1]);
    await metricsWhere(agent, (m) => m.value('license_agent_source_up') === 1, 'source up');
  });

  it('re-lists after 410 Gone on a watch', async () => {
    fake.setLicenseKey(licenseKey({ expiry: inDays(10) }));
    fake.addNodes(5);
    const agent = await startSource();
    await nodesUsed(agent, 5);
    await waitFor(() => fake.openWatches() === 2);

    // Synchronously, before the agent reconnects: changes, then history forgotten.
    fake.dropWatches();
    fake.addNode('x');
    fake.addNode('y');
    fake.removeNode('node-00001');
    fake.compact();

    // Both informers re-list: their watches from before the compaction got 410.
    await waitFor(() => agent.source.lists.join() === '2,2', 5000, 'both informers to re-list');
    const m = await metricsWhere(
      agent,
      (m) => m.value('calico_nodes_used') === 6 && m.value('license_agent_source_up') === 1,
      '6 nodes after a re-list',
    );
    expect(m.value('license_number_of_days')).toBe(10);
    // The agent did hear a 410: a watch from before the compaction, answered 200 + ERROR event.
    const stale = fake.requests.filter(
      (r) =>
        r.resource === 'nodes' &&
        r.kind === 'watch' &&
        Number(r.query.resourceVersion) < fake.resourceVersion,
    );
    expect(stale.length).toBeGreaterThan(0);
  });

  it('resumes a dropped watch without re-listing or losing changes', async () => {
    fake.setLicenseKey(licenseKey({ expiry: inDays(10) }));
    fake.addNodes(10);
    const agent = await startSource();
    await nodesUsed(agent, 10);
    await waitFor(() => fake.openWatches() === 2);
    const watches = fake.counters.nodes.watchRequests;

    fake.dropWatches();
    fake.addNode('during-the-gap');
    await nodesUsed(agent, 11);
    fake.addNode('after-the-gap');
    await nodesUsed(agent, 12);

    expect(fake.counters.nodes.watchRequests).toBeGreaterThan(watches);
    expect(fake.counters.nodes.listRequests).toBe(1);
    expect(agent.source.lists).toEqual([1, 1]);
    await metricsWhere(agent, (m) => m.value('license_agent_source_up') === 1, 'source up');
  });

  it('renews a watch the server ends at timeoutSeconds, without errors or re-lists', async () => {
    fake.setLicenseKey(licenseKey({ expiry: inDays(10) }));
    fake.addNodes(4);
    const agent = await startSource({ watchTimeoutSeconds: 1 });
    await nodesUsed(agent, 4);

    await waitFor(() => fake.counters.nodes.watchRequests >= 3, 5000, 'two renewed watches');
    fake.addNode('after-renewals');
    const m = await nodesUsed(agent, 5);
    expect(errorsTotal(m)).toBe(0);
    expect(m.value('license_agent_source_up')).toBe(1);
    expect(agent.source.lists).toEqual([1, 1]);
    const timeouts = fake.requests.filter((r) => r.kind === 'watch').map((r) => r.query.timeoutSeconds);
    expect(new Set(timeouts)).toEqual(new Set(['1']));
  });

  it.each([
    ['connections reset', true],
    ['503 answers', 503],
  ] as const)(
    'API down (%s): source down, last values kept, errors counted; then recovery',
    async (_, how) => {
      fake.setLicenseKey(licenseKey({ expiry: inDays(10) }));
      fake.addNodes(7);
      const agent = await startSource();
      const before = await metricsWhere(
        agent,
        (m) => m.value('license_agent_source_up') === 1 && m.value('calico_nodes_used') === 7,
        'source up with 7 nodes',
      );

      fake.setDown(how);
      const down = await metricsWhere(
        agent,
        (m) => m.value('license_agent_source_up') === 0 && errorsTotal(m) > errorsTotal(before),
        'source down',
      );
      expect(down.value('calico_nodes_used')).toBe(7);
      expect(down.value('license_number_of_days')).toBe(10);
      expect(down.value('license_agent_errors_total', { reason: 'watch' })).toBeGreaterThan(0);
      // It keeps trying, and keeps counting.
      const later = await metricsWhere(agent, (m) => errorsTotal(m) >= errorsTotal(down) + 2, 'more errors');
      expect(later.value('license_agent_source_up')).toBe(0);
      expect(later.value('calico_nodes_used')).toBe(7);

      fake.setDown(false);
      const recovered = await metricsWhere(
        agent,
        (m) => m.value('license_agent_source_up') === 1,
        'source up',
      );
      expect(recovered.value('calico_nodes_used')).toBe(7);
      expect(recovered.value('license_number_of_days')).toBe(10);
      expect(agent.source.lists).toEqual([1, 1]); // the history was kept: resumed, not re-listed
    },
  );

  it('gives up on an API server that accepts a list and never answers, and recovers', async () => {
    fake.setLicenseKey(licenseKey({ expiry: inDays(10) }));
    fake.addNodes(2);
    fake.setDown('hang');
    const agent = await startSource({}, 300);

    const m = await metricsWhere(
      agent,
      (m) => (m.value('license_agent_errors_total', { reason: 'nodes_read' }) ?? 0) >= 1,
      'a timed-out list counted',
    );
    expect(m.value('license_agent_source_up')).toBe(0);
    fake.setDown(false);
    await nodesUsed(agent, 2);
    await metricsWhere(agent, (m) => m.value('license_agent_source_up') === 1, 'source up');
  });

  it('reports Nodes it may not list (RBAC) as nodes_read errors, licence metrics still served', async () => {
    fake.setLicenseKey(licenseKey({ expiry: inDays(10) }));
    fake.addNodes(3);
    fake.forbid('nodes');
    const agent = await startSource();

    const m = await metricsWhere(
      agent,
      (m) => (m.value('license_agent_errors_total', { reason: 'nodes_read' }) ?? 0) >= 2,
      'nodes_read errors',
    );
    expect(m.value('license_agent_source_up')).toBe(0);
    expect(m.value('calico_nodes_used')).toBeUndefined();
    expect(m.value('license_number_of_days')).toBe(10);
    expect(m.value('license_agent_errors_total', { reason: 'license_read' })).toBe(0);

    fake.forbid('nodes', false);
    await nodesUsed(agent, 3);
    await metricsWhere(agent, (m) => m.value('license_agent_source_up') === 1, 'source up');
  });

  it('reads the LicenseKey from crd.projectcalico.org/v1 when projectcalico.org/v3 is not served', async () => {
    fake.serveGroup(V3, 'off');
    fake.setLicenseKey(licenseKey({ expiry: inDays(20) }), CRD);
    fake.addNodes(2);
    const agent = await startSource();

    const m = await metricsWhere(agent, (m) => m.samples('calico_license_info').length === 1, 'licence info');
    expect(m.value('calico_license_info', { api_version: CRD, package: 'Enterprise' })).toBe(1);
    expect(m.value('license_number_of_days')).toBe(20);
    expect(m.value('license_agent_source_up')).toBe(1);
    expect(fake.requests.some((r) => r.path === `/apis/${V3}/licensekeys`)).toBe(false);
  });

  it('switches to crd.projectcalico.org/v1 when projectcalico.org/v3 goes away while running', async () => {
    fake.setLicenseKey(licenseKey({ expiry: inDays(10) }), V3);
    fake.setLicenseKey(licenseKey({ expiry: inDays(40) }), CRD);
    fake.addNodes(2);
    const agent = await startSource();
    await metricsWhere(agent, (m) => m.value('calico_license_info', { api_version: V3 }) === 1, 'v3 licence');

    fake.serveGroup(V3, 'off');
    const m = await metricsWhere(
      agent,
      (m) => m.value('calico_license_info', { api_version: CRD }) === 1,
      'licence read from the CRD group',
    );
    expect(m.value('license_number_of_days')).toBe(40);
    await metricsWhere(agent, (m) => m.value('license_agent_source_up') === 1, 'source up');
  });

  it('reports the source down, without falling back, while the v3 API answers 503', async () => {
    fake.serveGroup(V3, 503);
    fake.setLicenseKey(licenseKey({ expiry: inDays(10) }), V3);
    fake.setLicenseKey(licenseKey({ expiry: inDays(40) }), CRD);
    fake.addNodes(2);
    const agent = await startSource();

    const down = await metricsWhere(
      agent,
      (m) =>
        m.value('license_agent_errors_total', { reason: 'api_group_discovery' }) !== 0 &&
        m.value('calico_nodes_used') === 2,
      'discovery errors',
    );
    expect(down.value('license_agent_source_up')).toBe(0);
    expect(down.value('license_number_of_days')).toBeUndefined();
    expect(down.samples('calico_license_info')).toEqual([]);
    expect(fake.requests.some((r) => r.path === `/apis/${CRD}/licensekeys`)).toBe(false);

    fake.serveGroup(V3, 'on');
    const up = await metricsWhere(agent, (m) => m.value('license_agent_source_up') === 1, 'source up');
    expect(up.value('calico_license_info', { api_version: V3 })).toBe(1);
    expect(up.value('license_number_of_days')).toBe(10);
  });

  it('shows a renewed LicenseKey within 5 seconds', async () => {
    fake.setLicenseKey(licenseKey({ expiry: inDays(3), maxnodes: 10 }));
    fake.addNodes(4);
    const agent = await startSource();
    await metricsWhere(agent, (m) => m.value('license_number_of_days') === 3, '3 days left');

    const renewed = inDays(365);
    fake.setLicenseKey(licenseKey({ expiry: renewed, maxnodes: 50 }));
    const m = await metricsWhere(agent, (m) => m.value('license_number_of_days') === 365, '365 days', 5000);
    expect(m.value('calico_maximum_licensed_nodes')).toBe(50);
    expect(m.value('calico_license_expiry_timestamp_seconds')).toBe(Math.floor(renewed.getTime() / 1000));
    expect(m.value('calico_license_status', { status: 'valid' })).toBe(1);
  });

  it('refuses a LicenseKey whose maxnodes is negative: last limit kept, source down until fixed', async () => {
    fake.setLicenseKey(licenseKey({ expiry: inDays(10), maxnodes: 50 }));
    fake.addNodes(3);
    const agent = await startSource({ watchTimeoutSeconds: 1 });
    await metricsWhere(agent, (m) => m.value('license_agent_source_up') === 1, 'source up');

    fake.setLicenseKey(licenseKey({ expiry: inDays(20), maxnodes: -1 }));
    const refused = await metricsWhere(
      agent,
      (m) => m.value('calico_license_limit_invalid', { field: 'maxnodes', problem: 'negative' }) === 1,
      'the limit reported invalid',
    );
    expect(refused.value('calico_maximum_licensed_nodes')).toBe(50);
    expect(refused.value('license_number_of_days')).toBe(10); // the whole licence is the last good one
    expect(refused.value('license_agent_errors_total', { reason: 'license_limit' })).toBe(1);
    // Watch renewals and bookmarks confirm the watch, not the licence: the source stays down.
    const watches = fake.counters.licensekeys.watchRequests;
    await waitFor(() => fake.counters.licensekeys.watchRequests >= watches + 2, 5000, 'renewed watches');
    fake.sendBookmark();
    await settled(agent);
    expect((await agent.metrics()).value('license_agent_source_up')).toBe(0);

    fake.setLicenseKey(licenseKey({ expiry: inDays(30), maxnodes: 60 }));
    const fixed = await metricsWhere(agent, (m) => m.value('license_agent_source_up') === 1, 'source up');
    expect(fixed.value('calico_maximum_licensed_nodes')).toBe(60);
    expect(fixed.value('license_number_of_days')).toBe(30);
    expect(fixed.samples('calico_license_limit_invalid')).toEqual([]);
  });

  it('reports no-license-loaded when the LicenseKey is deleted, and reads it when it returns', async () => {
    fake.setLicenseKey(licenseKey({ expiry: inDays(10) }));
    fake.addNodes(3);
    const agent = await startSource();
    await metricsWhere(agent, (m) => m.value('license_number_of_days') === 10, '10 days left');

    fake.setLicenseKey(null);
    const gone = await metricsWhere(
      agent,
      (m) => m.value('calico_license_status', { status: 'no-license-loaded' }) === 1,
      'no-license-loaded',
    );
    expect(gone.value('license_number_of_days')).toBeUndefined();
    expect(gone.value('calico_license_status', { status: 'valid' })).toBe(0);
    expect(gone.samples('calico_license_info')).toEqual([]);
    expect(gone.value('license_agent_source_up')).toBe(1);
    expect(gone.value('calico_nodes_used')).toBe(3);

    fake.setLicenseKey(licenseKey({ expiry: inDays(30) }));
    await metricsWhere(agent, (m) => m.value('license_number_of_days') === 30, '30 days left');
  });

  it('follows nodes as they are added and removed', async () => {
    fake.setLicenseKey(licenseKey({ expiry: inDays(10) }));
    const first = fake.addNodes(50);
    const agent = await startSource();
    await nodesUsed(agent, 50);

    fake.addNodes(25, { prefix: 'burst' });
    await nodesUsed(agent, 75);
    for (const name of first.slice(0, 30)) fake.removeNode(name);
    await nodesUsed(agent, 45);
    fake.addNode('one-more');
    await nodesUsed(agent, 46);
    expect(agent.source.lists).toEqual([1, 1]);
  });
});

/** A licence limited to `maxcores` cores (and 100 nodes unless `maxnodes` says otherwise). */
const coreLicence = (maxcores: number, maxnodes: number | null = 100) =>
  licenseKey({ expiry: inDays(10), maxnodes, maxcores });

const coresUsed = (agent: Running, cores: number) =>
  metricsWhere(agent, (m) => m.value('calico_cores_used') === cores, `calico_cores_used ${cores}`);

/** A licence limited to 512 cores, `count` nodes of `cpu` cores, the source synced and watching. */
async function watchingCores(count: number, cpu: number, options: Partial<KubernetesSourceOptions> = {}) {
  fake.setLicenseKey(coreLicence(512));
  fake.addNodes(count, { cpu: String(cpu) });
  const agent = await startSource(options);
  await coresUsed(agent, count * cpu);
  await waitFor(() => fake.openWatches('nodes') === 1);
  return agent;
}

/** The first Accept alternative of each Node request of a kind. */
const nodeAccepts = (kind: RequestRecord['kind']) =>
  fake.requests.filter((r) => r.resource === 'nodes' && r.kind === kind).map((r) => r.accept.split(',')[0]);

describe('KubernetesSource counting CPU cores', () => {
  it('counts round(capacity.cpu) per node when the licence limits cores: whole Nodes listed once, then a metadata watch', async () => {
    fake.setLicenseKey(coreLicence(512));
    fake.addNode('a', {}, { cpu: '8' });
    fake.addNode('b', {}, { cpu: '3500m' }); // 4: rounded per node
    fake.addNode('c', {}, { cpu: '7.5' }); // 8
    fake.addNode('d', {}, { cpu: '4', allocatableCpu: '3' }); // capacity, not allocatable
    fake.addNode('e', {}, { cpu: null }); // no capacity reported: 0, as Tigera counts it
    const agent = await startSource();

    const m = await coresUsed(agent, 24);
    expect(m.value('calico_nodes_used')).toBe(5);
    expect(m.value('calico_maximum_licensed_cores')).toBe(512);
    expect(m.value('calico_maximum_licensed_nodes')).toBe(100);
    expect(m.value('license_agent_source_up')).toBe(1);
    await waitFor(() => fake.openWatches('nodes') === 1);
    // The licence is read before the Nodes are listed: one list, whole, never a metadata list first.
    expect(nodeAccepts('list')).toEqual(['application/json']);
    expect(new Set(nodeAccepts('watch'))).toEqual(new Set([METADATA_WATCH]));
    expect(fake.counters.nodes.getRequests).toBe(0);
    expect(agent.source.lists).toEqual([1, 1]);
  });

  it('reads a node added later once (a GET); heartbeats cost nothing more; a deleted node stops counting', async () => {
    const agent = await watchingCores(3, 8);

    fake.addNode('big', {}, { cpu: '64' });
    await coresUsed(agent, 88);
    expect(fake.requests.filter((r) => r.kind === 'get').map((r) => r.path)).toEqual(['/api/v1/nodes/big']);

    for (let i = 0; i < 5; i++) for (const name of ['node-00001', 'big']) fake.modifyNode(name);
    await settled(agent);
    const m = await agent.metrics();
    expect(m.value('calico_cores_used')).toBe(88);
    expect(fake.counters.nodes.getRequests).toBe(1);
    expect(fake.counters.nodes.fullObjects).toBe(4); // 3 listed + 1 GET; the watch sent metadata only

    fake.removeNode('big');
    await coresUsed(agent, 24);
    expect(agent.source.lists).toEqual([1, 1]);
  });

  it('reads a node again when its instance type changes (a resized machine)', async () => {
    const agent = await watchingCores(2, 8);

    fake.modifyNode('node-00002', { cpu: '16', labels: { [INSTANCE_TYPE]: 'm5.4xlarge' } });
    const m = await coresUsed(agent, 24);
    expect(m.value('calico_nodes_used')).toBe(2);
    expect(fake.counters.nodes.getRequests).toBe(1);
  });

  it('reconciles a capacity that changed in place with a full list every --core-resync-interval', async () => {
    const agent = await watchingCores(2, 8, { coreResyncMs: 1500 });

    fake.modifyNode('node-00001', { cpu: '12' }); // no label change: the watch event is skipped
    await settled(agent);
    expect((await agent.metrics()).value('calico_cores_used')).toBe(16);
    const m = await metricsWhere(agent, (m) => m.value('calico_cores_used') === 20, 'reconciled', 5000);
    expect(agent.source.lists[1]).toBeGreaterThanOrEqual(2);
    expect(nodeAccepts('list').every((a) => a === 'application/json')).toBe(true);
    expect(m.value('license_agent_source_up')).toBe(1);
    expect(errorsTotal(m)).toBe(0); // ending the watch to re-list is no error
  });

  it('counts 0 for a node that has not reported its capacity, then its capacity once it does', async () => {
    fake.setLicenseKey(coreLicence(512));
    fake.addNode('ready', {}, { cpu: '8' });
    const agent = await startSource();
    await coresUsed(agent, 8);
    await waitFor(() => fake.openWatches('nodes') === 1);

    fake.addNode('registering', {}, { cpu: null });
    await metricsWhere(agent, (m) => m.value('calico_nodes_used') === 2, '2 nodes');
    await settled(agent);
    expect((await agent.metrics()).value('calico_cores_used')).toBe(8);
    fake.modifyNode('registering', { cpu: '2' });
    await coresUsed(agent, 10);
    expect(fake.counters.nodes.getRequests).toBe(2);
  });

  it('counts the cores of the nodes --node-selector keeps, the same nodes as calico_nodes_used', async () => {
    fake.setLicenseKey(coreLicence(512));
    fake.addNodes(3, { prefix: 'cp', labels: { [CONTROL_PLANE]: '' }, cpu: '4' });
    fake.addNodes(5, { prefix: 'worker', cpu: '16' });
    const agent = await startSource({ nodeSelector: `!${CONTROL_PLANE}` });
    const m = await coresUsed(agent, 80);
    expect(m.value('calico_nodes_used')).toBe(5);
    await waitFor(() => fake.openWatches('nodes') === 1);

    fake.modifyNode('worker-00001', { labels: { [CONTROL_PLANE]: '' } }); // leaves the selection
    await coresUsed(agent, 64);
    fake.modifyNode('worker-00001', { labels: { [CONTROL_PLANE]: null } }); // comes back: read again
    await coresUsed(agent, 80);
    const requests = fake.requests.filter((r) => r.resource === 'nodes');
    const selectors = requests.filter((r) => r.kind !== 'get').map((r) => r.query.labelSelector);
    expect(new Set(selectors)).toEqual(new Set([`!${CONTROL_PLANE}`]));
    expect(requests.filter((r) => r.kind === 'get').map((r) => r.path)).toEqual([
      '/api/v1/nodes/worker-00001',
    ]);
  });

  it('a node-limited licence keeps the metadata-only path; a core limit switches to counting cores, and back', async () => {
    fake.setLicenseKey(licenseKey({ expiry: inDays(10), maxnodes: 10 }));
    fake.addNodes(4, { cpu: '2' });
    const agent = await startSource();
    const nodesOnly = await nodesUsed(agent, 4);
    expect(nodesOnly.value('calico_cores_used')).toBeUndefined();
    expect(nodesOnly.value('calico_maximum_licensed_cores')).toBe(Number.POSITIVE_INFINITY);
    await waitFor(() => fake.openWatches('nodes') === 1);
    expect(nodeAccepts('list')).toEqual([METADATA_LIST]);
    expect(fake.counters.nodes.fullObjects).toBe(0);

    fake.setLicenseKey(coreLicence(64, 10));
    const cores = await coresUsed(agent, 8);
    expect(cores.value('calico_maximum_licensed_cores')).toBe(64);
    expect(nodeAccepts('list')).toEqual([METADATA_LIST, 'application/json']);

    fake.setLicenseKey(licenseKey({ expiry: inDays(10), maxnodes: 10, maxcores: 0 })); // 0: no core limit
    const back = await metricsWhere(
      agent,
      (m) => m.value('calico_cores_used') === undefined,
      'cores no longer counted',
    );
    expect(back.value('calico_maximum_licensed_cores')).toBe(Number.POSITIVE_INFINITY);
    await metricsWhere(agent, (m) => m.value('license_agent_source_up') === 1, 'source up');
    expect(nodeAccepts('list')).toEqual([METADATA_LIST, 'application/json', METADATA_LIST]);
    expect(agent.source.lists[1]).toBe(3);
  });

  it('--count-cores counts cores without a core limit', async () => {
    fake.setLicenseKey(licenseKey({ expiry: inDays(10), maxnodes: 10 }));
    fake.addNodes(3, { cpu: '6' });
    const agent = await startSource({ countCores: true });
    const m = await coresUsed(agent, 18);
    expect(m.value('calico_maximum_licensed_cores')).toBe(Number.POSITIVE_INFINITY);
    expect(nodeAccepts('list')).toEqual(['application/json']);
  });

  it('a GET RBAC refuses: last core count kept, cores_read counted, source down; then recovery', async () => {
    const agent = await watchingCores(2, 8);

    fake.forbid('nodes', true, ['get']);
    fake.addNode('new', {}, { cpu: '8' });
    const down = await metricsWhere(
      agent,
      (m) => (m.value('license_agent_errors_total', { reason: 'cores_read' }) ?? 0) >= 2,
      'cores_read errors, retried',
    );
    expect(down.value('license_agent_source_up')).toBe(0);
    expect(down.value('calico_nodes_used')).toBe(3);
    expect(down.value('calico_cores_used')).toBe(16); // the last complete count, not a partial one
    expect(fake.requests.filter((r) => r.kind === 'get').every((r) => r.status === 403)).toBe(true);

    fake.forbid('nodes', false, ['get']);
    const up = await metricsWhere(agent, (m) => m.value('license_agent_source_up') === 1, 'source up', 8000);
    expect(up.value('calico_cores_used')).toBe(24);
  });

  it('counts nodes after a few seconds even while the licence API hangs', async () => {
    fake.serveGroup(V3, 'hang');
    fake.addNodes(2, { cpu: '8' });
    const agent = await startSource({}, 60_000);
    const started = Date.now();
    const m = await metricsWhere(agent, (m) => m.value('calico_nodes_used') === 2, '2 nodes', 9000);
    expect(Date.now() - started).toBeGreaterThan(3000); // it did wait for the licence first
    expect(m.value('calico_cores_used')).toBeUndefined();
    expect(nodeAccepts('list')).toEqual([METADATA_LIST]);
  });

  it('a refused maxcores does not switch modes and keeps the last core limit', async () => {
    fake.setLicenseKey(coreLicence(64));
    fake.addNodes(2, { cpu: '8' });
    const agent = await startSource();
    await coresUsed(agent, 16);
    fake.setLicenseKey(licenseKey({ expiry: inDays(10), maxnodes: 100, maxcores: 12.5 }));
    const m = await metricsWhere(
      agent,
      (m) => m.value('calico_license_limit_invalid', { field: 'maxcores', problem: 'fractional' }) === 1,
      'maxcores refused',
    );
    expect(m.value('calico_maximum_licensed_cores')).toBe(64);
    expect(m.value('calico_cores_used')).toBe(16);
    expect(agent.source.lists[1]).toBe(1);
  });
});

describe("KubernetesSource cross-checking with Tigera's LicenseUsageReports", () => {
  const base = Date.now(); // one clock for the reports and for what the test expects of them
  const at = (hoursAgo: number) => new Date(base - hoursAgo * HOUR_MS);
  const report = (hoursAgo: number, vcpus: number, nodes: number) => ({
    intervalStart: at(hoursAgo + 6),
    intervalEnd: at(hoursAgo),
    vCPUs: { min: vcpus - 2, max: vcpus },
    nodes: { min: nodes - 1, max: nodes },
  });
  const usageRequests = () => fake.requests.filter((r) => r.resource === 'licenseusagereports');

  it('exports vCPUs.max and nodes.max of the report whose interval ended last', async () => {
    fake.serveGroup(USAGE_GROUP, 'on');
    fake.setLicenseKey(coreLicence(512));
    fake.addNodes(2);
    fake.addUsageReport({ ...report(6, 40, 5), name: 'z-older' });
    fake.addUsageReport({ ...report(1, 48, 6), name: 'a-latest' });
    fake.addUsageReport({ ...report(12, 30, 4), name: 'm-oldest' });
    fake.addUsageReport({ ...report(0, 99, 99), name: 'broken', rawReportData: 'not base64 JSON' });
    const agent = await startSource();

    const m = await metricsWhere(
      agent,
      (m) => m.value('calico_license_usage_report_vcpus_max') === 48,
      'the latest report',
    );
    expect(m.value('calico_license_usage_report_nodes_max')).toBe(6);
    expect(m.value('calico_license_usage_report_interval_end_timestamp_seconds')).toBe(
      Math.floor(at(1).getTime() / 1000),
    );

    const newer = fake.addUsageReport(report(0.5, 52, 7));
    await metricsWhere(
      agent,
      (m) => m.value('calico_license_usage_report_vcpus_max') === 52,
      'a newer report',
    );
    fake.removeUsageReport(newer);
    await metricsWhere(
      agent,
      (m) => m.value('calico_license_usage_report_vcpus_max') === 48,
      'back to the latest',
    );
    const after = await agent.metrics();
    expect(errorsTotal(after)).toBe(0);
    expect(after.value('license_agent_source_up')).toBe(1);
  });

  it('without the CRD: no gauges, no errors, source up, no request storm', async () => {
    fake.setLicenseKey(licenseKey({ expiry: inDays(10) }));
    fake.addNodes(2);
    const agent = await startSource({ usageReportsBackoff: { initialMs: 400, maxMs: 800 } });
    const m = await metricsWhere(agent, (m) => m.value('license_agent_source_up') === 1, 'source up');
    await new Promise((r) => setTimeout(r, 1500));
    const later = await agent.metrics();
    expect(later.value('calico_license_usage_report_vcpus_max')).toBeUndefined();
    expect(errorsTotal(later)).toBe(0);
    expect(later.value('license_agent_source_up')).toBe(1);
    expect(usageRequests().every((r) => r.status === 404)).toBe(true);
    expect(usageRequests().length).toBeLessThanOrEqual(5); // backoff, not a loop
    expect(m.samples('calico_license_usage_report_nodes_max')).toEqual([]);

    fake.serveGroup(USAGE_GROUP, 'on'); // installed later: picked up at the next retry
    fake.addUsageReport(report(1, 16, 2));
    await metricsWhere(
      agent,
      (m) => m.value('calico_license_usage_report_vcpus_max') === 16,
      'gauges appear',
    );
  });

  it('RBAC 403 on LicenseUsageReports: no gauges, no errors counted, source up; allowed later: gauges', async () => {
    fake.serveGroup(USAGE_GROUP, 'on');
    fake.forbid('licenseusagereports');
    fake.setLicenseKey(licenseKey({ expiry: inDays(10) }));
    fake.addNodes(2);
    fake.addUsageReport(report(1, 16, 2));
    const agent = await startSource({ usageReportsBackoff: { initialMs: 300, maxMs: 600 } });
    await waitFor(() => usageRequests().filter((r) => r.status === 403).length >= 2, 5000, 'two 403s');
    const m = await agent.metrics();
    expect(m.value('calico_license_usage_report_vcpus_max')).toBeUndefined();
    expect(errorsTotal(m)).toBe(0);
    expect(m.value('license_agent_source_up')).toBe(1);

    fake.forbid('licenseusagereports', false);
    await metricsWhere(agent, (m) => m.value('calico_license_usage_report_vcpus_max') === 16, 'gauges', 5000);
  });
});

describe('startAgent with --source kubernetes', () => {
  it('counts only the Nodes that --node-selector selects', async () => {
    fake.setLicenseKey(licenseKey({ expiry: inDays(10) }));
    fake.addNodes(3, { prefix: 'cp', labels: { [CONTROL_PLANE]: '' } });
    fake.addNodes(5, { prefix: 'worker' });
    const command = parseCommandLine(
      [
        '--source',
        'kubernetes',
        '--kubeconfig',
        fake.kubeconfigPath,
        '--node-selector',
        `!${CONTROL_PLANE}`,
        '--listen',
        '127.0.0.1:9081',
      ],
      {},
    );
    if (command.kind !== 'run') throw new Error('expected a run command');
    const agent = await startAgent({ ...command.config, port: 0 }, logger); // any free port
    cleanups.push(() => agent.stop());
    const running = { metrics: () => scrape(`${agent.url}/metrics`) };
    const nodes = (count: number) =>
      metricsWhere(running, (m) => m.value('calico_nodes_used') === count, `calico_nodes_used ${count}`);

    await nodes(5);
    fake.addNode('cp-late', { [CONTROL_PLANE]: '' });
    fake.addNode('worker-late');
    await nodes(6);
    fake.modifyNode('worker-00001', { labels: { [CONTROL_PLANE]: '' } }); // leaves the selection
    await nodes(5);
    fake.modifyNode('worker-00001', { labels: { [CONTROL_PLANE]: null } }); // comes back
    const m = await nodes(6);
    expect(m.value('license_agent_source_up')).toBe(1);
    expect(m.value('license_number_of_days')).toBe(10);
    const selectors = fake.requests.filter((r) => r.resource === 'nodes').map((r) => r.query.labelSelector);
    expect(new Set(selectors)).toEqual(new Set([`!${CONTROL_PLANE}`]));
  });
});

describe('FakeKubeApi', () => {
  interface List {
    kind: string;
    metadata: { continue?: string };
    items: Record<string, unknown>[];
  }
  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${fake.url}${path}`, { headers: { Authorization: `Bearer ${fake.token}`, ...headers } });

  it('speaks the API server wire format', async () => {
    fake.addNodes(3);
    const unauthorized = await fetch(`${fake.url}/api/v1/nodes`);
    expect(unauthorized.status).toBe(401);
    expect(await unauthorized.json()).toMatchObject({ kind: 'Status', code: 401, reason: 'Unauthorized' });

    const resources = await (await get(`/apis/${V3}`)).json();
    expect(resources).toMatchObject({ kind: 'APIResourceList', groupVersion: V3 });
    fake.serveGroup(V3, 'off');
    const off = await get(`/apis/${V3}`);
    expect(off.status).toBe(404);
    expect(await off.json()).toMatchObject({ kind: 'Status', code: 404, reason: 'NotFound' });

    const full = (await (await get('/api/v1/nodes?limit=2')).json()) as List;
    expect(full).toMatchObject({ kind: 'NodeList', apiVersion: 'v1' });
    expect(full.items).toHaveLength(2);
    expect(JSON.stringify(full.items[0]).length).toBeGreaterThan(7000);
    const accept = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
    const meta = (await (await get('/api/v1/nodes', { Accept: accept })).json()) as List;
    expect(meta).toMatchObject({ kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1' });
    expect(Object.keys(meta.items[0] ?? {})).toEqual(['kind', 'apiVersion', 'metadata']);
    expect(JSON.stringify(meta.items[0]).length).toBeLessThan(3000);

    const rv = fake.resourceVersion;
    fake.addNode('new');
    fake.compact();
    const expired = await get(`/api/v1/nodes?limit=1&continue=${full.metadata.continue}`);
    expect(expired.status).toBe(410);
    expect(await expired.json()).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
    const watch = await (await get(`/api/v1/nodes?watch=1&resourceVersion=${rv}`)).text();
    expect(JSON.parse(watch)).toMatchObject({ type: 'ERROR', object: { code: 410, reason: 'Expired' } });
  });

  it('serves GET of one Node (whole or metadata), its capacity, 404 and 403 as the API server does', async () => {
    fake.addNode('n1', {}, { cpu: '3500m' });
    const node = (await (await get('/api/v1/nodes/n1')).json()) as Record<string, never>;
    expect(node).toMatchObject({
      kind: 'Node',
      apiVersion: 'v1',
      metadata: { name: 'n1' },
      status: { capacity: { cpu: '3500m' }, allocatable: { cpu: '3410m' } },
    });
    const accept = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';
    const meta = (await (await get('/api/v1/nodes/n1', { Accept: accept })).json()) as Record<
      string,
      unknown
    >;
    expect(Object.keys(meta)).toEqual(['kind', 'apiVersion', 'metadata']);
    const missing = await get('/api/v1/nodes/nope');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({
      code: 404,
      reason: 'NotFound',
      message: 'nodes "nope" not found',
    });
    fake.addNode('bare', {}, { cpu: null });
    const bare = (await (await get('/api/v1/nodes/bare')).json()) as { status: { capacity: object } };
    expect(bare.status.capacity).not.toHaveProperty('cpu');
    fake.forbid('nodes', true, ['get']);
    const forbidden = await get('/api/v1/nodes/n1');
    expect(forbidden.status).toBe(403);
    expect((await forbidden.json()) as { message: string }).toMatchObject({
      message: expect.stringContaining('cannot get resource "nodes"'),
    });
    expect((await get('/api/v1/nodes')).status).toBe(200); // lists are still allowed
    expect(fake.counters.nodes.getRequests).toBe(5);
  });

  it('serves LicenseUsageReports only once their API group is switched on', async () => {
    const path = `/apis/${USAGE_GROUP}/licenseusagereports`;
    expect((await get(path)).status).toBe(404);
    expect((await get(`/apis/${USAGE_GROUP}`)).status).toBe(404);
    fake.serveGroup(USAGE_GROUP, 'on');
    const name = fake.addUsageReport({
      intervalStart: new Date('2026-12-01T00:00:00Z'),
      intervalEnd: new Date('2026-12-01T06:00:00Z'),
      vCPUs: { min: 10, max: 12 },
      nodes: { min: 3, max: 4 },
    });
    expect(name).toMatch(/^2026-12-01-06h-[0-9a-f]{10}$/);
    const list = (await (await get(path)).json()) as List;
    expect(list).toMatchObject({ kind: 'LicenseUsageReportList', apiVersion: USAGE_GROUP });
    const spec = list.items[0]?.spec as { reportData: string; hmac: string };
    expect(spec.hmac).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.parse(Buffer.from(spec.reportData, 'base64').toString())).toMatchObject({
      intervalEnd: '2026-12-01T06:00:00Z',
      vCPUs: { min: 10, max: 12 },
      nodes: { min: 3, max: 4 },
    });
    expect(await (await get(`/apis/${USAGE_GROUP}`)).json()).toMatchObject({
      resources: [{ name: 'licenseusagereports', kind: 'LicenseUsageReport', namespaced: false }],
    });
  });
});
