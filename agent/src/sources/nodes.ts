// The Nodes that count against the licence, in one of two modes:
//
// - nodes only: a metadata-only list+watch (PartialObjectMetadata); MODIFIED events, one per node
//   every few minutes from kubelet heartbeats, are skipped unparsed. This is the cheap path.
// - nodes and cores (a licence with a core limit, or --count-cores): cores need
//   status.capacity.cpu, which metadata lacks. The watch stays metadata-only; lists ask for whole
//   Nodes (capacity read at start and at each re-list); a node that appears in the watch is read once
//   with a GET; a full list every --core-resync-interval reconciles capacities that changed in place.
//   A MODIFIED event is read only when the node's `node.kubernetes.io/instance-type` label changed
//   (a resized cloud machine re-registers with its new type) or its capacity was not reported yet;
//   any other MODIFIED is skipped unparsed, as in the nodes-only mode.
//
// Cores are counted over the same nodes as the node count (the --node-selector applies to both), each
// node as round(status.capacity.cpu), as Tigera's usage reporter counts them.
import type { Logger } from 'pino';
import { nodeCores } from '../quantity.js';
import type { Snapshot } from '../snapshot.js';
import { Informer, JSON_ACCEPT } from './informer.js';
import { KubeApiError, type KubeTransport } from './kube-client.js';

export const INSTANCE_TYPE_LABEL = 'node.kubernetes.io/instance-type';
const NODES_PATH = '/api/v1/nodes';

export interface NodeWatchOptions {
  transport: KubeTransport;
  snapshot: Snapshot;
  logger: Logger;
  /** Label selector of the Nodes that count; all when empty. */
  nodeSelector?: string;
  watchTimeoutSeconds?: number;
  backoff?: { initialMs: number; maxMs: number };
  pageSize?: number;
  /** How often the cores are reconciled with a full list of the Nodes. */
  coreResyncMs: number;
  /** GETs of new nodes in flight at once. */
  getConcurrency?: number;
}

interface NodeEntry {
  /** round(status.capacity.cpu); undefined while the node's GET is pending. */
  cores: number | undefined;
  /** False while the node has reported no CPU capacity (it counts 0 until it does). */
  reported: boolean;
  instanceType: string | undefined;
}

type Json = Record<string, unknown>;

const NAME_KEY = Buffer.from('"name":"');
const INSTANCE_TYPE_KEY = Buffer.from(`"${INSTANCE_TYPE_LABEL}":"`);

export class NodeWatch {
  private informer: Informer<unknown> | undefined;
  private countingCores: boolean | undefined;
  /** Lists done by informers already replaced. */
  private pastLists = 0;
  private switching: Promise<void> = Promise.resolve();
  private readonly abort = new AbortController();
  private stopped = false;

  // Cores mode state.
  private store: ReadonlyMap<string, NodeEntry> | undefined;
  private readonly queue = new Set<string>();
  private inFlight = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs: number;
  private resyncTimer: NodeJS.Timeout | undefined;
  private getFailure = '';
  /** Every counted node's capacity was known at the last change (kept: bookmarks come often). */
  private coresKnown = false;
  private readonly badCapacity = new Set<string>();

  constructor(private readonly options: NodeWatchOptions) {
    this.retryDelayMs = options.backoff?.initialMs ?? 1000;
  }

  /** Whether cores are counted (undefined before the first call to countCores). */
  get cores(): boolean | undefined {
    return this.countingCores;
  }

  /** Full lists done so far. */
  get lists(): number {
    return this.pastLists + (this.informer?.lists ?? 0);
  }

  /** Starts watching, or switches mode: count cores too, or nodes only. */
  countCores(on: boolean): void {
    if (on === this.countingCores) return;
    this.countingCores = on;
    this.switching = this.switching.then(() => this.restart(on));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.switching;
    await this.stopInformer();
  }

  private async restart(cores: boolean): Promise<void> {
    if (this.stopped) return;
    await this.stopInformer();
    const { snapshot, logger } = this.options;
    if (!cores) snapshot.clearCoreCount();
    logger.info(
      { mode: cores ? 'nodes and cores' : 'nodes', selector: this.options.nodeSelector || undefined },
      cores
        ? 'counting nodes and CPU cores (whole Nodes at each list, metadata in the watch)'
        : 'counting nodes (metadata only)',
    );
    this.informer = cores ? this.coresInformer() : this.nodesInformer();
    this.informer.start();
    if (cores) this.resyncTimer = setInterval(() => this.informer?.relist(), this.options.coreResyncMs);
  }

  private async stopInformer(): Promise<void> {
    clearInterval(this.resyncTimer);
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.queue.clear();
    this.store = undefined;
    this.coresKnown = false;
    const informer = this.informer;
    this.informer = undefined;
    if (!informer) return;
    await informer.stop();
    this.pastLists += informer.lists;
  }

  private common() {
    const { transport, watchTimeoutSeconds, backoff, pageSize, nodeSelector, snapshot, logger } =
      this.options;
    return {
      transport,
      watchTimeoutSeconds,
      backoff,
      pageSize,
      path: async () => NODES_PATH,
      query: { labelSelector: nodeSelector || undefined },
      metadataOnly: true,
      onError: (err: Error, phase: 'list' | 'watch') => {
        snapshot.recordError('nodes', phase === 'watch' ? 'watch' : 'nodes_read');
        logger.warn({ err: err.message, phase, resource: 'nodes' }, 'reading Nodes failed');
      },
    };
  }

  private nodesInformer(): Informer<unknown> {
    const { snapshot } = this.options;
    return new Informer<true>({
      ...this.common(),
      keep: () => true, // only the count matters: keep nothing of the object
      ignoreModified: true,
      onChange: (store) => snapshot.setNodeCount(store.size),
      onSynced: () => snapshot.markSuccess('nodes'),
    }) as Informer<unknown>;
  }

  private coresInformer(): Informer<unknown> {
    const { snapshot } = this.options;
    return new Informer<NodeEntry>({
      ...this.common(),
      fullLists: true,
      keep: (object, previous) => this.keep(object, previous),
      ignoreModified: (line) => this.unchanged(line),
      onChange: (store) => {
        this.store = store;
        snapshot.setNodeCount(store.size);
        this.publishCores();
      },
      onSynced: () => {
        snapshot.markSuccess('nodes');
        if (this.coresKnown) snapshot.markSuccess('cores');
      },
    }) as Informer<unknown>;
  }

  /** A Node from a list or a GET (whole), or from the watch (metadata): what it counts for. */
  private keep(object: Json, previous: NodeEntry | undefined): NodeEntry {
    const metadata = (object.metadata ?? {}) as { name?: string; labels?: Record<string, string> };
    const name = metadata.name as string;
    const instanceType = metadata.labels?.[INSTANCE_TYPE_LABEL];
    const status = object.status as { capacity?: Json } | undefined;
    if (status !== undefined) return { ...this.coresOf(name, status.capacity?.cpu), instanceType };
    // Metadata only: the capacity is known unless the node is new, was resized, or had not reported it.
    if (previous?.cores !== undefined && previous.reported && previous.instanceType === instanceType) {
      return previous;
    }
    this.queue.add(name);
    queueMicrotask(() => this.pump());
    return { cores: undefined, reported: false, instanceType };
  }

  private coresOf(name: string, cpu: unknown): Pick<NodeEntry, 'cores' | 'reported'> {
    this.queue.delete(name); // a whole Node answers what a queued GET would
    const cores = nodeCores(cpu);
    if (cores !== undefined) {
      this.badCapacity.delete(name);
      return { cores, reported: cpu !== undefined && cpu !== null };
    }
    // The API server validates quantities, so this does not happen; if it does, count 0 and say so once.
    if (!this.badCapacity.has(name)) {
      this.badCapacity.add(name);
      this.options.logger.warn(
        { node: name, cpu },
        'status.capacity.cpu is not a quantity; counting 0 cores',
      );
    }
    return { cores: 0, reported: true };
  }

  /** A raw MODIFIED line that changes nothing counted: same instance type, capacity known. */
  private unchanged(line: Buffer): boolean {
    const name = rawString(line, NAME_KEY);
    const entry = name === undefined ? undefined : this.store?.get(name);
    if (entry?.cores === undefined || !entry.reported) return false;
    return rawString(line, INSTANCE_TYPE_KEY) === entry.instanceType;
  }

  /** Starts queued GETs, a few at a time. */
  private pump(): void {
    const limit = this.options.getConcurrency ?? 4;
    while (!this.stopped && this.retryTimer === undefined && this.inFlight < limit && this.queue.size > 0) {
      const name = this.queue.values().next().value as string;
      this.queue.delete(name);
      this.inFlight += 1;
      void this.read(name).finally(() => {
        this.inFlight -= 1;
        this.pump();
        this.publishCores();
      });
    }
  }

  private async read(name: string): Promise<void> {
    const { transport, snapshot, logger } = this.options;
    const store = this.store;
    try {
      const node = (await transport.get(
        `${NODES_PATH}/${encodeURIComponent(name)}`,
        {},
        JSON_ACCEPT,
        this.abort.signal,
      )) as Json;
      const entry = this.store === store ? store?.get(name) : undefined;
      if (entry)
        Object.assign(entry, this.coresOf(name, (node.status as { capacity?: Json })?.capacity?.cpu));
      this.recovered();
    } catch (err) {
      if (this.stopped || this.store !== store) return;
      const entry = store?.get(name);
      if (err instanceof KubeApiError && err.status === 404) {
        // Deleted since it was added: it counts nothing, and its DELETED event follows.
        if (entry) Object.assign(entry, { cores: 0, reported: true });
        return;
      }
      if (entry) this.queue.add(name);
      snapshot.recordError('cores', 'cores_read');
      const message = (err as Error).message;
      if (message !== this.getFailure) {
        logger.warn(
          { err: message, node: name },
          'reading a Node’s capacity failed; keeping the last core count',
        );
        this.getFailure = message;
      }
      this.backOff();
    }
  }

  private backOff(): void {
    if (this.retryTimer !== undefined) return;
    const delay = this.retryDelayMs * (0.5 + Math.random() / 2);
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, this.options.backoff?.maxMs ?? 30_000);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.pump();
    }, delay);
  }

  private recovered(): void {
    this.retryDelayMs = this.options.backoff?.initialMs ?? 1000;
    if (this.getFailure === '') return;
    this.getFailure = '';
    this.options.logger.info({ resource: 'nodes' }, 'reading Node capacities works again');
  }

  /** Every counted node's capacity is known. */
  private settled(): boolean {
    if (this.store === undefined || this.queue.size > 0 || this.inFlight > 0) return false;
    for (const entry of this.store.values()) if (entry.cores === undefined) return false;
    return true;
  }

  /** Publishes the core count once every node's capacity is known; until then the last one stays. */
  private publishCores(): void {
    this.coresKnown = this.settled();
    if (!this.countingCores || !this.coresKnown) return;
    let cores = 0;
    for (const entry of (this.store as ReadonlyMap<string, NodeEntry>).values())
      cores += entry.cores as number;
    this.options.snapshot.setCoreCount(cores);
  }
}

/** The JSON string after the first occurrence of `key` in a raw event line (no escapes expected). */
function rawString(line: Buffer, key: Buffer): string | undefined {
  const at = line.indexOf(key);
  if (at < 0) return undefined;
  const start = at + key.length;
  const end = line.indexOf(0x22, start);
  return end < 0 ? undefined : line.toString('latin1', start, end);
}
