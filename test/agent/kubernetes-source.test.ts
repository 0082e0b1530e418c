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
import { FakeKubeApi, licenseKey, type RequestRecord, type ResourceName } from '../fakes/kube-api.js';
import { type Metrics, scrape, waitFor } from '../helpers/metrics.js';

const logger = pino({ level: 'silent' });
const DAY_MS = 86_400_000;
const V3 = 'projectcalico.org/v3';
const CRD = 'crd.projectcalico.org/v1';
const CONTROL_PLANE = 'node-role.kubernetes.io/control-plane';

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
    return agent.client.bytesReceived === sent.listBytes + sent.watchBytes + sent.otherBytes;
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
});
