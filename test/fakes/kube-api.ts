// A fake Kubernetes API server for tests and benchmarks: plain HTTP on 127.0.0.1 with a bearer
// token, speaking the real wire format for Nodes (with their CPU capacity), Calico LicenseKeys and
// Tigera's LicenseUsageReports: API group discovery, GET of one object, paginated lists
// (limit/continue), label and field selectors, metadata-only responses (PartialObjectMetadata),
// watches with resourceVersions, bookmarks and 410 Expired. Controls change objects and break the
// API on purpose (RBAC 403, an API group not installed, 503, connection resets, hangs).
//
// Built for 50,000 nodes: node JSON comes from templates serialised once (a node's metadata is
// rendered once per version and cached), lists stream in chunks, watch event lines are rendered
// once per event and shared by every watcher, and history lookups are binary searches.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const LICENSE_GROUPS = ['projectcalico.org/v3', 'crd.projectcalico.org/v1'] as const;
export type LicenseGroup = (typeof LICENSE_GROUPS)[number];
export const USAGE_GROUP = 'usage.tigera.io/v1';
export type ApiGroup = LicenseGroup | typeof USAGE_GROUP;
/**
 * 'off': the group is not installed (404); 503: an aggregated API whose backend is unavailable;
 * 'hang': requests to it are accepted and never answered.
 */
export type GroupState = 'on' | 'off' | 503 | 'hang';
export type ResourceName = 'nodes' | 'licensekeys' | 'licenseusagereports';
const RESOURCES: readonly ResourceName[] = ['nodes', 'licensekeys', 'licenseusagereports'];
type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';
export type Verb = 'get' | 'list' | 'watch';
type Labels = Record<string, string>;
type Json = Record<string, unknown>;
type Form = 'full' | 'metadata';

export interface ResourceCounters {
  /** List requests, one per page. */
  listRequests: number;
  watchRequests: number;
  /** GETs of one object. */
  getRequests: number;
  listBytes: number;
  watchBytes: number;
  getBytes: number;
  /** Objects sent whole (list items and watch event objects). */
  fullObjects: number;
  /** Objects sent as PartialObjectMetadata. */
  metadataObjects: number;
}

export interface RequestRecord {
  path: string;
  query: Record<string, string>;
  accept: string;
  kind: 'list' | 'watch' | 'get' | 'discovery' | 'other';
  resource?: ResourceName;
  /** The HTTP status answered; 0 when the connection was destroyed instead. */
  status: number;
}

export interface LicenseKeyInput {
  metadata?: { name?: string; labels?: Labels; [key: string]: unknown };
  spec?: Json;
  status?: Json | null;
}

/** A Node's CPU, as Kubernetes quantities ("8", "3500m"). */
export interface NodeCpu {
  /** status.capacity.cpu; null leaves it out (a Node whose kubelet has not reported yet). */
  cpu?: string | null;
  /** status.allocatable.cpu; by default the capacity less 90m, as the kubelet reserves. */
  allocatableCpu?: string;
}

/** What a LicenseUsageReport's base64 JSON spec.reportData holds (Tigera's LicenseUsageReportData). */
export interface UsageReportInput {
  name?: string;
  intervalStart: Date;
  intervalEnd: Date;
  vCPUs: { min: number; max: number };
  nodes: { min: number; max: number };
  licenseUID?: string;
  /** Replaces the encoded report data, e.g. with something that is not base64 JSON. */
  rawReportData?: string;
}

export interface FakeKubeApiOptions {
  /** Watch events kept per resource; older ones are compacted away (watches from before → 410). */
  historyLimit?: number;
}

const FIRST_RESOURCE_VERSION = 1000;
const MAX_SNAPSHOTS = 64;
const REQUEST_LOG_LIMIT = 10_000;
const LIST_CHUNK_CHARS = 256 * 1024;

export class FakeKubeApi {
  /** Per resource; reset with resetCounters(). */
  counters: Record<ResourceName, ResourceCounters> = zeroCountersByResource();
  /** Bytes of discovery documents and error answers. */
  otherBytes = 0;
  /** The latest requests, oldest first (bounded). */
  readonly requests: RequestRecord[] = [];
  /** Called before each list page is served, e.g. to compact() in the middle of a paginated list. */
  beforeListPage: ((page: { resource: ResourceName; continueToken?: string }) => void) | undefined;

  private rv = FIRST_RESOURCE_VERSION;
  private readonly nodes: Collection;
  private readonly licenses: Record<LicenseGroup, Collection>;
  private readonly usageReports: Collection;
  private readonly byPath = new Map<string, Collection>();
  /** Tigera's usage reports are off (CRD not installed) unless a test switches them on. */
  private readonly groups: Record<ApiGroup, GroupState> = {
    'projectcalico.org/v3': 'on',
    'crd.projectcalico.org/v1': 'on',
    [USAGE_GROUP]: 'off',
  };
  private down: false | 'reset' | 503 | 'hang' = false;
  /** `resource/verb` pairs RBAC denies. */
  private readonly forbidden = new Set<string>();
  private readonly snapshots = new Map<number, ListSnapshot>();
  private nextSnapshotId = 1;
  private nodeSeq = 0;
  /** Last number addNodes used, by name prefix. */
  private readonly lastIndex = new Map<string, number>();
  private readonly historyLimit: number;

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
    readonly token: string,
    readonly kubeconfigPath: string,
    options: FakeKubeApiOptions,
  ) {
    this.historyLimit = options.historyLimit ?? 10_000;
    this.nodes = this.addCollection({
      resource: 'nodes',
      path: '/api/v1/nodes',
      kind: 'Node',
      listKind: 'NodeList',
      apiVersion: 'v1',
    });
    const license = (group: LicenseGroup) =>
      this.addCollection({
        resource: 'licensekeys',
        path: `/apis/${group}/licensekeys`,
        group,
        kind: 'LicenseKey',
        listKind: 'LicenseKeyList',
        apiVersion: group,
      });
    this.licenses = {
      'projectcalico.org/v3': license('projectcalico.org/v3'),
      'crd.projectcalico.org/v1': license('crd.projectcalico.org/v1'),
    };
    this.usageReports = this.addCollection({
      resource: 'licenseusagereports',
      path: `/apis/${USAGE_GROUP}/licenseusagereports`,
      group: USAGE_GROUP,
      kind: 'LicenseUsageReport',
      listKind: 'LicenseUsageReportList',
      apiVersion: USAGE_GROUP,
    });
    server.on('request', (req, res) => this.handle(req, res));
    // While down, connections die on arrival: the client sees ECONNRESET, as with a dead API server.
    server.on('connection', (socket) => {
      if (this.down === 'reset') socket.destroy();
    });
  }

  /** Listens on 127.0.0.1 (random port) and writes a kubeconfig pointing at it. */
  static async start(options: FakeKubeApiOptions = {}): Promise<FakeKubeApi> {
    const server = http.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}`;
    const token = randomBytes(16).toString('hex');
    const dir = await mkdtemp(join(tmpdir(), 'fake-kube-api-'));
    const kubeconfigPath = join(dir, 'kubeconfig');
    await writeFile(kubeconfigPath, kubeconfig(url, token));
    return new FakeKubeApi(server, url, token, kubeconfigPath, options);
  }

  async stop(): Promise<void> {
    this.dropWatches();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(join(this.kubeconfigPath, '..'), { recursive: true, force: true });
  }

  // ---- controls -------------------------------------------------------------------------------

  /** The latest resourceVersion handed out (global across resources, like etcd's revision). */
  get resourceVersion(): number {
    return this.rv;
  }

  get nodeCount(): number {
    return this.nodes.objects.size;
  }

  /** Creates, replaces (MODIFIED) or deletes (null) a LicenseKey in one API group. Returns the RV. */
  setLicenseKey(key: LicenseKeyInput | null, group: LicenseGroup = 'projectcalico.org/v3'): number {
    const collection = this.licenses[group];
    const name = key?.metadata?.name ?? 'default';
    const existing = collection.objects.get(name);
    if (key === null) {
      if (!existing) return this.rv;
      return this.change(collection, 'DELETED', existing.withRv(++this.rv));
    }
    const rv = ++this.rv;
    const metadata = {
      ...key.metadata,
      name,
      uid: existing?.uid ?? uuid(createHash('sha256').update(`${group}/${name}/${rv}`).digest('hex')),
      resourceVersion: String(rv),
      creationTimestamp: existing?.created ?? timestamp(),
    };
    const object = { apiVersion: group, kind: 'LicenseKey', ...key, metadata };
    return this.change(collection, existing ? 'MODIFIED' : 'ADDED', new PlainObject(object, rv), existing);
  }

  serveGroup(group: ApiGroup, state: GroupState): void {
    this.groups[group] = state;
    // The aggregator or the CRD went away: its open watch streams break.
    if (state !== 'on') this.destroyWatches(group === USAGE_GROUP ? this.usageReports : this.licenses[group]);
  }

  /** Creates a LicenseUsageReport as Tigera's usage reporter writes it. Returns its name. */
  addUsageReport(report: UsageReportInput): string {
    const data = {
      intervalStart: timestamp(report.intervalStart),
      intervalEnd: timestamp(report.intervalEnd),
      vCPUs: report.vCPUs,
      nodes: report.nodes,
      licenseUID: report.licenseUID ?? '9c6d3f1e-6a43-4b7e-9a7e-2f1b5c0d7e11',
      reporterUptime: 3600,
    };
    const reportData = report.rawReportData ?? Buffer.from(JSON.stringify(data)).toString('base64');
    const name =
      report.name ??
      `${report.intervalEnd.toISOString().slice(0, 13).replace('T', '-')}h-${randomBytes(5).toString('hex')}`;
    const rv = ++this.rv;
    const object = {
      apiVersion: USAGE_GROUP,
      kind: 'LicenseUsageReport',
      metadata: {
        name,
        uid: uuid(createHash('sha256').update(`report/${name}`).digest('hex')),
        resourceVersion: String(rv),
        creationTimestamp: timestamp(report.intervalEnd),
      },
      // The real HMAC is keyed by Tigera; any hex digest has the same shape.
      spec: { reportData, hmac: createHash('sha256').update(reportData).digest('hex') },
    };
    this.change(this.usageReports, 'ADDED', new PlainObject(object, rv));
    return name;
  }

  removeUsageReport(name: string): number {
    const report = this.usageReports.objects.get(name);
    if (!report) throw new Error(`no usage report ${name}`);
    return this.change(this.usageReports, 'DELETED', report.withRv(++this.rv));
  }

  addNode(name: string, labels: Labels = {}, cpu: NodeCpu = {}): number {
    if (this.nodes.objects.has(name)) throw new Error(`node ${name} exists`);
    const seq = ++this.nodeSeq;
    const fields: NodeFields = {
      name,
      seq,
      labels: { ...defaultNodeLabels(name, seq), ...labels },
      created: timestamp(),
      heartbeat: timestamp(),
      ...cpuFields(cpu),
    };
    return this.change(this.nodes, 'ADDED', new NodeObject(fields, ++this.rv));
  }

  /** Adds `count` nodes named prefix-00001…; returns their names. */
  addNodes(count: number, options: { prefix?: string; labels?: Labels } & NodeCpu = {}): string[] {
    const prefix = options.prefix ?? 'node';
    const names: string[] = [];
    let n = this.lastIndex.get(prefix) ?? 0;
    while (names.length < count) {
      const name = `${prefix}-${String(++n).padStart(5, '0')}`;
      if (this.nodes.objects.has(name)) continue;
      this.addNode(name, options.labels, options);
      names.push(name);
    }
    this.lastIndex.set(prefix, n);
    return names;
  }

  /**
   * A kubelet heartbeat: new resourceVersion and heartbeat time; labels merged (null removes); a new
   * CPU capacity when given (a resized machine).
   */
  modifyNode(name: string, change: { labels?: Record<string, string | null> } & NodeCpu = {}): number {
    const node = this.nodes.objects.get(name) as NodeObject | undefined;
    if (!node) throw new Error(`no node ${name}`);
    const labels = { ...node.labels };
    for (const [key, value] of Object.entries(change.labels ?? {})) {
      if (value === null) delete labels[key];
      else labels[key] = value;
    }
    const cpu = change.cpu !== undefined ? cpuFields(change) : {};
    const fields = { ...node.fields, ...cpu, labels, heartbeat: timestamp() };
    return this.change(this.nodes, 'MODIFIED', new NodeObject(fields, ++this.rv), node);
  }

  removeNode(name: string): number {
    const node = this.nodes.objects.get(name);
    if (!node) throw new Error(`no node ${name}`);
    return this.change(this.nodes, 'DELETED', node.withRv(++this.rv));
  }

  /** Forgets the watch history and the list snapshots: older watches get 410, continue tokens expire. */
  compact(): void {
    for (const collection of this.byPath.values()) {
      collection.history.length = 0;
      collection.compactedRv = this.rv;
    }
    this.snapshots.clear();
  }

  /** Sends a BOOKMARK at the current resourceVersion to every watch that allows them. Returns it. */
  sendBookmark(): number {
    for (const collection of this.byPath.values()) {
      for (const watcher of collection.watchers) {
        if (watcher.bookmarks) this.writeWatch(watcher, bookmarkLine(collection.spec, watcher.form, this.rv));
      }
    }
    return this.rv;
  }

  /** Destroys open watch connections abruptly (no end of stream). Returns how many. */
  dropWatches(resource?: ResourceName): number {
    let dropped = 0;
    for (const collection of this.byPath.values()) {
      if (resource === undefined || collection.spec.resource === resource)
        dropped += this.destroyWatches(collection);
    }
    return dropped;
  }

  /**
   * true: every connection is reset on arrival and open watches die, like an API server that is
   * gone; 503: every request is answered 503; 'hang': requests are accepted and never answered;
   * false: back to normal.
   */
  setDown(state: boolean | 503 | 'hang'): void {
    this.down = state === true ? 'reset' : state;
    if (state !== false) this.dropWatches();
  }

  /**
   * RBAC denies the agent these verbs on the resource (403 Forbidden to GETs, lists, new watches), or
   * allows them again.
   */
  forbid(resource: ResourceName, forbidden = true, verbs: Verb[] = ['get', 'list', 'watch']): void {
    for (const verb of verbs) {
      if (forbidden) this.forbidden.add(`${resource}/${verb}`);
      else this.forbidden.delete(`${resource}/${verb}`);
    }
  }

  openWatches(resource?: ResourceName): number {
    let open = 0;
    for (const collection of this.byPath.values()) {
      if (resource === undefined || collection.spec.resource === resource) open += collection.watchers.size;
    }
    return open;
  }

  /** Counters summed over resources, plus the other bytes. */
  totals(): ResourceCounters & { otherBytes: number } {
    const sum = zeroCounters();
    for (const c of Object.values(this.counters)) {
      for (const key of Object.keys(sum) as (keyof ResourceCounters)[]) sum[key] += c[key];
    }
    return { ...sum, otherBytes: this.otherBytes };
  }

  resetCounters(): void {
    this.counters = zeroCountersByResource();
    this.otherBytes = 0;
    this.requests.length = 0;
  }

  // ---- changes and watches --------------------------------------------------------------------

  private addCollection(spec: CollectionSpec): Collection {
    const collection = new Collection(spec);
    this.byPath.set(spec.path, collection);
    return collection;
  }

  private change(
    collection: Collection,
    type: EventType,
    object: StoredObject,
    previous?: StoredObject,
  ): number {
    if (type === 'DELETED') collection.remove(object.name);
    else collection.put(object);
    const event: ChangeEvent = { type, object, previousLabels: previous?.labels };
    collection.record(event, this.historyLimit);
    const lines: Lines = {}; // rendered once per form, shared by every watcher; not kept in history
    for (const watcher of collection.watchers) this.deliver(watcher, event, lines);
    return object.rv;
  }

  private deliver(watcher: Watcher, event: ChangeEvent, lines: Lines = {}): void {
    const type = visibleType(watcher.filter, event);
    if (type === undefined) return;
    // Rendered once per event and form, shared by every watcher that sees the event as it is.
    if (type === event.type) lines[watcher.form] ??= eventLine(type, event.object, watcher.form);
    const line = type === event.type ? lines[watcher.form] : undefined;
    this.writeWatch(watcher, line ?? eventLine(type, event.object, watcher.form), true);
  }

  private writeWatch(watcher: Watcher, line: string, isObject = false): void {
    if (watcher.res.destroyed) return;
    watcher.res.write(line);
    const counters = this.counters[watcher.collection.spec.resource];
    counters.watchBytes += Buffer.byteLength(line);
    if (isObject) counters[watcher.form === 'metadata' ? 'metadataObjects' : 'fullObjects'] += 1;
  }

  private destroyWatches(collection: Collection): number {
    const dropped = collection.watchers.size;
    for (const watcher of collection.watchers) watcher.res.destroy();
    collection.watchers.clear();
    return dropped;
  }

  // ---- HTTP -----------------------------------------------------------------------------------

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    const record: RequestRecord = {
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      accept: req.headers.accept ?? '',
      kind: 'other',
      status: 0,
    };
    this.log(record);
    if (this.down === 'reset') {
      req.socket.destroy();
      return;
    }
    if (this.down === 'hang') return; // never answered; the socket closes when the client gives up
    if (this.down === 503) {
      this.sendStatus(
        res,
        record,
        503,
        'ServiceUnavailable',
        'the server is currently unable to handle the request',
      );
      return;
    }
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      this.sendStatus(res, record, 401, 'Unauthorized', 'Unauthorized');
      return;
    }
    if (req.method !== 'GET') {
      this.sendStatus(
        res,
        record,
        405,
        'MethodNotAllowed',
        `the server does not allow this method on the requested resource`,
      );
      return;
    }
    const collection = this.byPath.get(url.pathname);
    if (collection) {
      this.serveCollection(res, record, collection);
      return;
    }
    const slash = url.pathname.lastIndexOf('/');
    const parent = this.byPath.get(url.pathname.slice(0, slash));
    if (parent && slash < url.pathname.length - 1) {
      this.serveObject(res, record, parent, decodeURIComponent(url.pathname.slice(slash + 1)));
      return;
    }
    const discovered = [...this.byPath.values()].find(
      (c) => c.spec.group && url.pathname === `/apis/${c.spec.group}`,
    );
    if (discovered?.spec.group) {
      record.kind = 'discovery';
      if (this.answerUnserved(res, record, discovered.spec.group)) return;
      this.send(res, record, 200, JSON.stringify(discovery(discovered.spec)));
      return;
    }
    this.sendStatus(res, record, 404, 'NotFound', 'the server could not find the requested resource');
  }

  private serveCollection(res: http.ServerResponse, record: RequestRecord, collection: Collection): void {
    const watch = record.query.watch === '1' || record.query.watch === 'true';
    record.kind = watch ? 'watch' : 'list';
    record.resource = collection.spec.resource;
    this.counters[collection.spec.resource][watch ? 'watchRequests' : 'listRequests'] += 1;
    if (collection.spec.group && this.answerUnserved(res, record, collection.spec.group)) return;
    if (this.answerForbidden(res, record, collection, watch ? 'watch' : 'list')) return;
    const form = this.negotiated(res, record, watch ? 'PartialObjectMetadata' : 'PartialObjectMetadataList');
    if (form === undefined) return;
    let filter: Filter;
    try {
      filter = parseFilter(record.query);
    } catch (err) {
      this.sendStatus(res, record, 400, 'BadRequest', (err as Error).message);
      return;
    }
    if (watch) this.serveWatch(res, record, collection, filter, form);
    else this.serveList(res, record, collection, filter, form).catch(() => res.destroy());
  }

  /** GET of one object by name: whole, or as PartialObjectMetadata when the Accept header asks. */
  private serveObject(
    res: http.ServerResponse,
    record: RequestRecord,
    collection: Collection,
    name: string,
  ): void {
    const { spec } = collection;
    record.kind = 'get';
    record.resource = spec.resource;
    const counters = this.counters[spec.resource];
    counters.getRequests += 1;
    if (spec.group && this.answerUnserved(res, record, spec.group)) return;
    if (this.answerForbidden(res, record, collection, 'get', name)) return;
    const form = this.negotiated(res, record, 'PartialObjectMetadata');
    if (form === undefined) return;
    const object = collection.objects.get(name);
    if (!object) {
      const group = spec.group?.split('/')[0];
      const resource = group ? `${spec.resource}.${group}` : spec.resource;
      this.sendStatus(res, record, 404, 'NotFound', `${resource} "${name}" not found`);
      return;
    }
    const body = form === 'metadata' ? object.meta() : object.full(true);
    counters.getBytes += Buffer.byteLength(body);
    counters[form === 'metadata' ? 'metadataObjects' : 'fullObjects'] += 1;
    record.status = 200;
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(body);
  }

  /** The form the Accept header asks for; undefined after answering 406 when there is none. */
  private negotiated(res: http.ServerResponse, record: RequestRecord, metadata: string): Form | undefined {
    const form = negotiate(record.accept, metadata);
    if (form === undefined) {
      const message = 'only the following media types are accepted: application/json';
      this.sendStatus(res, record, 406, 'NotAcceptable', message);
    }
    return form;
  }

  /** Answers 403 as RBAC does when the resource is forbidden; false when it is allowed. */
  private answerForbidden(
    res: http.ServerResponse,
    record: RequestRecord,
    collection: Collection,
    verb: Verb,
    name?: string,
  ): boolean {
    const { resource, group = '' } = collection.spec;
    if (!this.forbidden.has(`${resource}/${verb}`)) return false;
    const object = name === undefined ? '' : ` "${name}"`;
    const message = `${resource}${object} is forbidden: User "system:serviceaccount:monitoring:license-agent" cannot ${verb} resource "${resource}" in API group "${group.split('/')[0]}" at the cluster scope`;
    this.sendStatus(res, record, 403, 'Forbidden', message);
    return true;
  }

  /** Answers for an API group that is switched off or unavailable; false when it is served. */
  private answerUnserved(res: http.ServerResponse, record: RequestRecord, group: ApiGroup): boolean {
    const state = this.groups[group];
    if (state === 'off') {
      this.sendStatus(res, record, 404, 'NotFound', 'the server could not find the requested resource');
      return true;
    }
    if (state === 'hang') return true; // the socket closes when the client gives up
    if (state === 503) {
      // What kube-aggregator answers when the APIService's backend is down: plain text.
      this.send(res, record, 503, 'service unavailable\n', 'text/plain; charset=utf-8');
      return true;
    }
    return false;
  }

  private async serveList(
    res: http.ServerResponse,
    record: RequestRecord,
    collection: Collection,
    filter: Filter,
    form: Form,
  ): Promise<void> {
    const { spec } = collection;
    this.beforeListPage?.({ resource: spec.resource, continueToken: record.query.continue });
    const limit = Number(record.query.limit ?? 0);
    if (!Number.isInteger(limit) || limit < 0) {
      this.sendStatus(res, record, 400, 'BadRequest', `invalid limit: ${record.query.limit}`);
      return;
    }
    let snapshot: ListSnapshot | undefined;
    let offset = 0;
    if (record.query.continue) {
      const token = decodeContinue(record.query.continue);
      snapshot = token ? this.snapshots.get(token.id) : undefined;
      if (!token || !snapshot) {
        this.sendStatus(res, record, 410, 'Expired', EXPIRED_CONTINUE);
        return;
      }
      offset = token.offset;
    } else {
      const objects = collection.sorted().filter((o) => filter.matches(o.name, o.labels));
      snapshot = { id: this.nextSnapshotId++, rv: this.rv, objects };
    }
    const total = snapshot.objects.length;
    const end = limit > 0 ? Math.min(offset + limit, total) : total;
    const metadata: Json = { resourceVersion: String(snapshot.rv) };
    if (end < total) {
      this.keepSnapshot(snapshot);
      metadata.continue = encodeContinue(snapshot.id, end);
      metadata.remainingItemCount = total - end;
    } else {
      this.snapshots.delete(snapshot.id);
    }
    const kind = form === 'metadata' ? 'PartialObjectMetadataList' : spec.listKind;
    const apiVersion = form === 'metadata' ? 'meta.k8s.io/v1' : spec.apiVersion;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    record.status = 200;
    const counters = this.counters[spec.resource];
    let chunk = `{"kind":"${kind}","apiVersion":"${apiVersion}","metadata":${JSON.stringify(metadata)},"items":[`;
    for (let i = offset; i < end; i++) {
      const object = snapshot.objects[i] as StoredObject;
      if (i > offset) chunk += ',';
      chunk += form === 'metadata' ? object.meta() : object.full(spec.typedItems ?? false);
      if (chunk.length >= LIST_CHUNK_CHARS) {
        counters.listBytes += Buffer.byteLength(chunk);
        await write(res, chunk);
        if (res.destroyed) return;
        chunk = '';
      }
    }
    chunk += ']}';
    counters.listBytes += Buffer.byteLength(chunk);
    counters[form === 'metadata' ? 'metadataObjects' : 'fullObjects'] += end - offset;
    res.end(chunk);
  }

  private keepSnapshot(snapshot: ListSnapshot): void {
    this.snapshots.set(snapshot.id, snapshot);
    // Bound memory like etcd's compaction bounds continue tokens: the oldest expire first.
    for (const id of this.snapshots.keys()) {
      if (this.snapshots.size <= MAX_SNAPSHOTS) break;
      this.snapshots.delete(id);
    }
  }

  private serveWatch(
    res: http.ServerResponse,
    record: RequestRecord,
    collection: Collection,
    filter: Filter,
    form: Form,
  ): void {
    const { query } = record;
    const rvText = query.resourceVersion ?? '';
    const fromRv = rvText === '' || rvText === '0' ? undefined : Number(rvText);
    if (fromRv !== undefined && !(Number.isInteger(fromRv) && fromRv >= 0)) {
      this.sendStatus(res, record, 400, 'BadRequest', `invalid resource version: ${rvText}`);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    record.status = 200;
    const bookmarks = query.allowWatchBookmarks === 'true' || query.allowWatchBookmarks === '1';
    const watcher: Watcher = { res, collection, filter, form, bookmarks };
    if (fromRv !== undefined && fromRv < collection.compactedRv) {
      // The real API server answers 200 and then a single ERROR event, and ends the stream.
      const message = `too old resource version: ${fromRv} (${collection.compactedRv})`;
      this.writeWatch(watcher, `{"type":"ERROR","object":${statusJson(410, 'Expired', message)}}\n`);
      res.end();
      return;
    }
    if (fromRv === undefined) {
      // Without a resourceVersion, the watch starts with a synthetic ADDED for every object.
      for (const object of collection.sorted()) {
        if (filter.matches(object.name, object.labels))
          this.writeWatch(watcher, eventLine('ADDED', object, form), true);
      }
    } else {
      for (const event of collection.eventsAfter(fromRv)) this.deliver(watcher, event);
    }
    collection.watchers.add(watcher);
    const seconds = Number(query.timeoutSeconds ?? 0);
    const timer = seconds > 0 ? setTimeout(() => res.end(), seconds * 1000) : undefined;
    res.on('close', () => {
      clearTimeout(timer);
      collection.watchers.delete(watcher);
    });
  }

  private send(
    res: http.ServerResponse,
    record: RequestRecord,
    status: number,
    body: string,
    contentType = 'application/json',
  ): void {
    record.status = status;
    this.otherBytes += Buffer.byteLength(body);
    res.writeHead(status, { 'Content-Type': contentType }).end(body);
  }

  private sendStatus(
    res: http.ServerResponse,
    record: RequestRecord,
    code: number,
    reason: string,
    message: string,
  ): void {
    this.send(res, record, code, statusJson(code, reason, message));
  }

  private log(record: RequestRecord): void {
    this.requests.push(record);
    if (this.requests.length > 2 * REQUEST_LOG_LIMIT) this.requests.splice(0, REQUEST_LOG_LIMIT);
  }
}

// ---- stored objects ---------------------------------------------------------------------------

interface StoredObject {
  readonly name: string;
  readonly rv: number;
  readonly labels: Labels;
  readonly uid: string;
  readonly created: string;
  /** The object as JSON; `typed` includes kind and apiVersion (watch events always are). */
  full(typed: boolean): string;
  /** The PartialObjectMetadata form: kind, apiVersion and metadata only. */
  meta(): string;
  /** The same object at another resourceVersion (a DELETED event carries the deletion's). */
  withRv(rv: number): StoredObject;
}

/** Marks a template value that is already JSON. */
class RawJson {
  constructor(readonly json: string) {}
}

/** JSON serialised once with "@@slot@@" strings standing for values filled in at render time. */
class Template {
  private readonly parts: string[];

  constructor(value: unknown) {
    this.parts = JSON.stringify(value).split(/"@@(\w+)@@"/);
  }

  render(values: Record<string, unknown>): string {
    const { parts } = this;
    let out = parts[0] as string;
    for (let i = 1; i < parts.length; i += 2) {
      const value = values[parts[i] as string];
      out += (value instanceof RawJson ? value.json : JSON.stringify(value)) + parts[i + 1];
    }
    return out;
  }
}

const slot = (name: string) => `@@${name}@@`;

interface NodeFields {
  name: string;
  seq: number;
  labels: Labels;
  created: string;
  heartbeat: string;
  cpu: string | null;
  allocatableCpu: string;
}

function cpuFields({ cpu = '8', allocatableCpu }: NodeCpu): Pick<NodeFields, 'cpu' | 'allocatableCpu'> {
  return { cpu, allocatableCpu: allocatableCpu ?? lessReserved(cpu ?? '0') };
}

/** The capacity less the 90m a kubelet typically reserves ("8" → "7910m"); other forms unchanged. */
function lessReserved(cpu: string): string {
  const milli = /^\d+$/.test(cpu)
    ? Number(cpu) * 1000
    : /^\d+m$/.test(cpu)
      ? Number(cpu.slice(0, -1))
      : undefined;
  return milli === undefined ? cpu : `${Math.max(0, milli - 90)}m`;
}

class NodeObject implements StoredObject {
  private metadataJson: string | undefined;

  constructor(
    readonly fields: NodeFields,
    readonly rv: number,
  ) {}

  get name(): string {
    return this.fields.name;
  }

  get labels(): Labels {
    return this.fields.labels;
  }

  get uid(): string {
    return nodeUid(this.fields.seq);
  }

  get created(): string {
    return this.fields.created;
  }

  full(typed: boolean): string {
    const values = { ...nodeValues(this.fields, this.rv), metadata: new RawJson(this.metadata()) };
    const json = (typed ? NODE_TYPED : NODE_UNTYPED).render(values);
    // A Node whose kubelet has not reported its capacity yet: no status.capacity.cpu at all.
    return this.fields.cpu === null ? json.replace(NO_CPU_CAPACITY, '"capacity":{') : json;
  }

  meta(): string {
    return `{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":${this.metadata()}}`;
  }

  withRv(rv: number): StoredObject {
    return new NodeObject(this.fields, rv);
  }

  private metadata(): string {
    this.metadataJson ??= NODE_METADATA.render(nodeValues(this.fields, this.rv));
    return this.metadataJson;
  }
}

/** A small object (a LicenseKey), serialised on demand. */
class PlainObject implements StoredObject {
  constructor(
    private readonly object: Json & { metadata: Json & { name: string; uid: string } },
    readonly rv: number,
  ) {}

  get name(): string {
    return this.object.metadata.name;
  }

  get labels(): Labels {
    return (this.object.metadata.labels as Labels | undefined) ?? {};
  }

  get uid(): string {
    return this.object.metadata.uid;
  }

  get created(): string {
    return this.object.metadata.creationTimestamp as string;
  }

  full(): string {
    return JSON.stringify(this.object);
  }

  meta(): string {
    return JSON.stringify({
      kind: 'PartialObjectMetadata',
      apiVersion: 'meta.k8s.io/v1',
      metadata: this.object.metadata,
    });
  }

  withRv(rv: number): StoredObject {
    const metadata = { ...this.object.metadata, resourceVersion: String(rv) };
    return new PlainObject({ ...this.object, metadata }, rv);
  }
}

// ---- collections, history, watchers -----------------------------------------------------------

interface CollectionSpec {
  resource: ResourceName;
  path: string;
  group?: ApiGroup;
  kind: string;
  listKind: string;
  apiVersion: string;
  /** List items carry kind and apiVersion: custom resources do, built-in types (Node) do not. */
  typedItems?: boolean;
}

interface ChangeEvent {
  type: EventType;
  object: StoredObject;
  /** Labels before a MODIFIED, to tell a selector watch that the object left or entered it. */
  previousLabels: Labels | undefined;
}

type Lines = Partial<Record<Form, string>>;

interface Watcher {
  res: http.ServerResponse;
  collection: Collection;
  filter: Filter;
  form: Form;
  bookmarks: boolean;
}

interface ListSnapshot {
  id: number;
  rv: number;
  objects: StoredObject[];
}

class Collection {
  readonly objects = new Map<string, StoredObject>();
  readonly history: ChangeEvent[] = [];
  readonly watchers = new Set<Watcher>();
  /** Watches from a resourceVersion older than this get 410: the events after it are forgotten. */
  compactedRv = 0;
  private sortedNames: string[] | undefined;

  constructor(readonly spec: CollectionSpec) {
    spec.typedItems ??= spec.resource !== 'nodes';
  }

  put(object: StoredObject): void {
    if (!this.objects.has(object.name)) this.sortedNames = undefined;
    this.objects.set(object.name, object);
  }

  remove(name: string): void {
    this.objects.delete(name);
    this.sortedNames = undefined;
  }

  /** Objects by name, as the API server (etcd key order) lists them. */
  sorted(): StoredObject[] {
    this.sortedNames ??= [...this.objects.keys()].sort();
    return this.sortedNames.map((name) => this.objects.get(name) as StoredObject);
  }

  record(event: ChangeEvent, limit: number): void {
    this.history.push(event);
    if (this.history.length >= 2 * limit) {
      const dropped = this.history.splice(0, this.history.length - limit);
      this.compactedRv = (dropped[dropped.length - 1] as ChangeEvent).object.rv;
    }
  }

  eventsAfter(rv: number): ChangeEvent[] {
    let low = 0;
    let high = this.history.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.history[mid] as ChangeEvent).object.rv <= rv) low = mid + 1;
      else high = mid;
    }
    return this.history.slice(low);
  }
}

/** What a watcher with this filter sees of a change: an object leaving the selector is DELETED. */
function visibleType(filter: Filter, event: ChangeEvent): EventType | undefined {
  const { object } = event;
  const now = filter.matches(object.name, object.labels);
  if (event.type !== 'MODIFIED') return now ? event.type : undefined;
  const before = filter.matches(object.name, event.previousLabels ?? object.labels);
  if (now) return before ? 'MODIFIED' : 'ADDED';
  return before ? 'DELETED' : undefined;
}

function eventLine(type: EventType, object: StoredObject, form: Form): string {
  return `{"type":"${type}","object":${form === 'metadata' ? object.meta() : object.full(true)}}\n`;
}

function bookmarkLine(spec: CollectionSpec, form: Form, rv: number): string {
  const typeMeta =
    form === 'metadata'
      ? '"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1"'
      : `"kind":"${spec.kind}","apiVersion":"${spec.apiVersion}"`;
  return `{"type":"BOOKMARK","object":{${typeMeta},"metadata":{"resourceVersion":"${rv}"}}}\n`;
}

async function write(res: http.ServerResponse, chunk: string): Promise<void> {
  if (res.write(chunk) || res.destroyed) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

// ---- request parsing --------------------------------------------------------------------------

/**
 * Which form the Accept header asks for, trying its alternatives in order; undefined: 406. `metadata`
 * names the PartialObjectMetadata kind that fits the request (a List for lists).
 */
function negotiate(accept: string, metadata: string): Form | undefined {
  if (accept.trim() === '') return 'full';
  for (const alternative of accept.split(',')) {
    const [type = '', ...params] = alternative.split(';').map((p) => p.trim());
    if (!['application/json', 'application/*', '*/*'].includes(type)) continue;
    const p = Object.fromEntries(params.map((param) => param.split('=').map((s) => s.trim())));
    if (p.as === undefined) return 'full';
    // A list answers PartialObjectMetadataList; a watch and a GET answer PartialObjectMetadata.
    if (p.as === metadata && p.g === 'meta.k8s.io' && p.v === 'v1') return 'metadata';
  }
  return undefined;
}

interface Requirement {
  key: string;
  op: 'exists' | '!exists' | '=' | '!=';
  value?: string;
}

class Filter {
  constructor(
    private readonly labels: Requirement[],
    private readonly names: Requirement[],
  ) {}

  matches(name: string, labels: Labels): boolean {
    for (const r of this.names) {
      if ((name === r.value) !== (r.op === '=')) return false;
    }
    for (const r of this.labels) {
      const value = labels[r.key];
      if (r.op === 'exists' && value === undefined) return false;
      if (r.op === '!exists' && value !== undefined) return false;
      if (r.op === '=' && value !== r.value) return false;
      if (r.op === '!=' && value === r.value) return false;
    }
    return true;
  }
}

function parseFilter(query: Record<string, string>): Filter {
  const labels = parseSelector(query.labelSelector ?? '');
  const fields = parseSelector(query.fieldSelector ?? '');
  for (const r of fields) {
    if (r.key !== 'metadata.name' || (r.op !== '=' && r.op !== '!=')) {
      throw new Error(`"${r.key}" is not a known field selector: only "metadata.name"`);
    }
  }
  return new Filter(labels, fields);
}

/** Equality-based selectors: key, !key, key=value, key==value, key!=value, comma-joined. */
function parseSelector(text: string): Requirement[] {
  const requirements: Requirement[] = [];
  for (const term of text.split(',').map((t) => t.trim())) {
    if (term === '') continue;
    const match = /^(!?)\s*([\w./-]+)\s*(?:(==|=|!=)\s*([\w.-]*))?$/.exec(term);
    if (!match) throw new Error(`unable to parse requirement: ${JSON.stringify(term)}`);
    const [, not, key = '', op, value] = match;
    if (not && op) throw new Error(`unable to parse requirement: ${JSON.stringify(term)}`);
    if (op) requirements.push({ key, op: op === '!=' ? '!=' : '=', value: value ?? '' });
    else requirements.push({ key, op: not ? '!exists' : 'exists' });
  }
  return requirements;
}

const EXPIRED_CONTINUE =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.';

function encodeContinue(id: number, offset: number): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', id, offset })).toString('base64url');
}

function decodeContinue(token: string): { id: number; offset: number } | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Json;
    if (Number.isInteger(parsed.id) && Number.isInteger(parsed.offset))
      return { id: parsed.id as number, offset: parsed.offset as number };
  } catch {
    // not one of ours: expired, as far as the client can tell
  }
  return undefined;
}

// ---- documents --------------------------------------------------------------------------------

function statusJson(code: number, reason: string, message: string): string {
  return JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
  });
}

function discovery(spec: CollectionSpec): Json {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: spec.group,
    resources: [
      {
        name: spec.resource,
        singularName: spec.kind.toLowerCase(),
        namespaced: false,
        kind: spec.kind,
        verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
      },
    ],
  };
}

function kubeconfig(server: string, token: string): string {
  // @kubernetes/client-node refuses http:// servers unless TLS verification is switched off.
  return `apiVersion: v1
kind: Config
clusters:
  - name: fake
    cluster:
      server: ${server}
      insecure-skip-tls-verify: true
users:
  - name: fake
    user:
      token: ${token}
contexts:
  - name: fake
    context:
      cluster: fake
      user: fake
current-context: fake
`;
}

/** A LicenseKey as Calico Enterprise stores it, with the status the v3 API server computes. */
export function licenseKey(options: {
  expiry: Date | string;
  maxnodes?: number | null;
  /** Absent by default (no core limit). */
  maxcores?: number;
  package?: string;
  features?: string[];
  gracePeriod?: string;
  name?: string;
}): LicenseKeyInput {
  const expiry = typeof options.expiry === 'string' ? options.expiry : timestamp(options.expiry);
  const status: Json = {
    expiry,
    package: options.package ?? 'Enterprise',
    features: options.features ?? ['cnx', 'all'],
  };
  if (options.maxnodes !== null) status.maxnodes = options.maxnodes ?? 100;
  if (options.maxcores !== undefined) status.maxcores = options.maxcores;
  if (options.gracePeriod) status.gracePeriod = options.gracePeriod;
  return {
    metadata: { name: options.name ?? 'default' },
    spec: {
      token: `eyJhbGciOiJBMTI4R0NNS1ciLCJlbmMiOiJBMTI4R0NNIn0.${randomBytes(96).toString('base64url')}`,
      certificate: `-----BEGIN CERTIFICATE-----\n${randomBytes(180).toString('base64')}\n-----END CERTIFICATE-----\n`,
    },
    status,
  };
}

function timestamp(date = new Date()): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z');
}

function uuid(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function nodeUid(seq: number): string {
  return `6c0f8a52-3b1e-4d7a-9e21-${seq.toString(16).padStart(12, '0')}`;
}

function defaultNodeLabels(name: string, seq: number): Labels {
  const zone = `eu-west-1${'abc'[seq % 3]}`;
  return {
    'beta.kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/instance-type': 'm5.2xlarge',
    'beta.kubernetes.io/os': 'linux',
    'failure-domain.beta.kubernetes.io/region': 'eu-west-1',
    'failure-domain.beta.kubernetes.io/zone': zone,
    'kubernetes.io/arch': 'amd64',
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    'node.kubernetes.io/instance-type': 'm5.2xlarge',
    'topology.kubernetes.io/region': 'eu-west-1',
    'topology.kubernetes.io/zone': zone,
  };
}

function nodeValues(f: NodeFields, rv: number): Record<string, unknown> {
  const { seq } = f;
  const ip = `10.${(seq >> 16) & 255}.${(seq >> 8) & 255}.${seq & 255}`;
  return {
    name: f.name,
    uid: nodeUid(seq),
    rv: String(rv),
    created: f.created,
    labels: f.labels,
    heartbeat: f.heartbeat,
    ip,
    calicoAddress: `${ip}/16`,
    tunnel: `192.168.${(seq >> 6) & 255}.${(seq & 63) << 2}`,
    podCidr: `172.${16 + ((seq >> 16) & 15)}.${(seq >> 8) & 255}.0/24`,
    providerID: `aws:///eu-west-1a/i-0${seq.toString(16).padStart(16, '0')}`,
    machineID: seq.toString(16).padStart(32, 'e'),
    bootID: nodeUid(seq).replace('6c0f', 'b007'),
    cpu: f.cpu ?? '',
    allocatableCpu: f.allocatableCpu,
  };
}

const fieldsV1 = (...keys: string[]) => Object.fromEntries(keys.map((k) => [k, {}]));

function nodeMetadataShape(): Json {
  return {
    name: slot('name'),
    uid: slot('uid'),
    resourceVersion: slot('rv'),
    creationTimestamp: slot('created'),
    labels: slot('labels'),
    annotations: {
      'kubeadm.alpha.kubernetes.io/cri-socket': 'unix:///run/containerd/containerd.sock',
      'node.alpha.kubernetes.io/ttl': '0',
      'projectcalico.org/IPv4Address': slot('calicoAddress'),
      'projectcalico.org/IPv4VXLANTunnelAddr': slot('tunnel'),
      'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
    },
    managedFields: [
      {
        manager: 'kubelet',
        operation: 'Update',
        apiVersion: 'v1',
        time: slot('created'),
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': {
            'f:annotations': fieldsV1('.', 'f:volumes.kubernetes.io/controller-managed-attach-detach'),
            'f:labels': fieldsV1(
              '.',
              'f:beta.kubernetes.io/arch',
              'f:beta.kubernetes.io/os',
              'f:kubernetes.io/arch',
              'f:kubernetes.io/hostname',
              'f:kubernetes.io/os',
            ),
          },
          'f:spec': fieldsV1('f:providerID'),
        },
      },
      {
        manager: 'calico-node',
        operation: 'Update',
        apiVersion: 'v1',
        time: slot('created'),
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': {
            'f:annotations': fieldsV1(
              'f:projectcalico.org/IPv4Address',
              'f:projectcalico.org/IPv4VXLANTunnelAddr',
            ),
          },
          'f:status': { 'f:conditions': fieldsV1('k:{"type":"NetworkUnavailable"}') },
        },
        subresource: 'status',
      },
      {
        manager: 'kubelet',
        operation: 'Update',
        apiVersion: 'v1',
        time: slot('heartbeat'),
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:status': {
            'f:conditions': fieldsV1(
              'k:{"type":"DiskPressure"}',
              'k:{"type":"MemoryPressure"}',
              'k:{"type":"PIDPressure"}',
              'k:{"type":"Ready"}',
            ),
            'f:images': {},
            'f:nodeInfo': fieldsV1('f:bootID'),
          },
        },
        subresource: 'status',
      },
    ],
  };
}

function condition(type: string, status: string, reason: string, message: string): Json {
  return {
    type,
    status,
    lastHeartbeatTime: slot('heartbeat'),
    lastTransitionTime: slot('created'),
    reason,
    message,
  };
}

/** About 25 container images with digests: the bulk of a real Node's size. */
function nodeImages(): Json[] {
  const images = [
    ['quay.io/tigera/cnx-node', 'v3.20.1'],
    ['quay.io/tigera/calico-cni', 'v3.20.1'],
    ['quay.io/tigera/fluentd', 'v3.20.1'],
    ['quay.io/tigera/key-cert-provisioner', 'v1.1.22'],
    ['quay.io/tigera/csi', 'v3.20.1'],
    ['quay.io/tigera/node-driver-registrar', 'v3.20.1'],
    ['quay.io/tigera/pod2daemon-flexvol', 'v3.20.1'],
    ['quay.io/tigera/typha', 'v3.20.1'],
    ['quay.io/tigera/kube-controllers', 'v3.20.1'],
    ['quay.io/tigera/dikastes', 'v3.20.1'],
    ['quay.io/tigera/l7-collector', 'v3.20.1'],
    ['quay.io/tigera/envoy', 'v3.20.1'],
    ['registry.k8s.io/kube-proxy', 'v1.30.4'],
    ['registry.k8s.io/pause', '3.9'],
    ['registry.k8s.io/coredns/coredns', 'v1.11.1'],
    ['registry.k8s.io/metrics-server/metrics-server', 'v0.7.1'],
    ['registry.k8s.io/sig-storage/csi-node-driver-registrar', 'v2.10.1'],
    ['docker.io/library/nginx', '1.27.1-alpine'],
    ['docker.io/library/redis', '7.4.0-alpine'],
    ['docker.io/library/postgres', '16.4'],
    ['docker.io/grafana/promtail', '3.1.1'],
    ['quay.io/prometheus/node-exporter', 'v1.8.2'],
    ['quay.io/prometheus-operator/prometheus-config-reloader', 'v0.76.0'],
    ['602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/aws-ebs-csi-driver', 'v1.34.0'],
    ['602401143452.dkr.ecr.eu-west-1.amazonaws.com/amazon-k8s-cni', 'v1.18.3'],
  ];
  return images.map(([repo, tag], i) => ({
    names: [
      `${repo}@sha256:${createHash('sha256').update(`${repo}:${tag}`).digest('hex')}`,
      `${repo}:${tag}`,
    ],
    sizeBytes: 10_000_000 + i * 7_654_321,
  }));
}

function nodeShape(typed: boolean): Json {
  const resources = {
    'ephemeral-storage': '104845292Ki',
    'hugepages-1Gi': '0',
    'hugepages-2Mi': '0',
    memory: '32386124Ki',
    pods: '110',
  };
  return {
    ...(typed ? { kind: 'Node', apiVersion: 'v1' } : {}),
    metadata: slot('metadata'),
    spec: { podCIDR: slot('podCidr'), podCIDRs: [slot('podCidr')], providerID: slot('providerID') },
    status: {
      capacity: { cpu: slot('cpu'), ...resources },
      allocatable: { cpu: slot('allocatableCpu'), ...resources, memory: '31235148Ki' },
      conditions: [
        condition('NetworkUnavailable', 'False', 'CalicoIsUp', 'Calico is running on this node'),
        condition(
          'MemoryPressure',
          'False',
          'KubeletHasSufficientMemory',
          'kubelet has sufficient memory available',
        ),
        condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
      ],
      addresses: [
        { type: 'InternalIP', address: slot('ip') },
        { type: 'InternalDNS', address: slot('name') },
        { type: 'Hostname', address: slot('name') },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: slot('machineID'),
        systemUUID: slot('uid'),
        bootID: slot('bootID'),
        kernelVersion: '6.1.102-111.182.amzn2023.x86_64',
        osImage: 'Amazon Linux 2023.5.20240819',
        containerRuntimeVersion: 'containerd://1.7.20',
        kubeletVersion: 'v1.30.4-eks-a737599',
        kubeProxyVersion: 'v1.30.4-eks-a737599',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
      images: nodeImages(),
    },
  };
}

const NO_CPU_CAPACITY = '"capacity":{"cpu":"",';
const NODE_METADATA = new Template(nodeMetadataShape());
const NODE_TYPED = new Template(nodeShape(true));
const NODE_UNTYPED = new Template(nodeShape(false));

function zeroCounters(): ResourceCounters {
  return {
    listRequests: 0,
    watchRequests: 0,
    getRequests: 0,
    listBytes: 0,
    watchBytes: 0,
    getBytes: 0,
    fullObjects: 0,
    metadataObjects: 0,
  };
}

function zeroCountersByResource(): Record<ResourceName, ResourceCounters> {
  return Object.fromEntries(RESOURCES.map((r) => [r, zeroCounters()])) as Record<
    ResourceName,
    ResourceCounters
  >;
}
