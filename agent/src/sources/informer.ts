// List+watch of one cluster-scoped resource, as client-go's reflector does it: a paginated list,
// a watch from the list's resourceVersion with bookmarks, re-watch when the server ends the stream,
// re-list on 410 Gone, exponential backoff with jitter on errors.
import { KubeApiError, type KubeTransport, type Query, type WatchEvent } from './kube-client.js';

export const METADATA_LIST_ACCEPT =
  'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
export const METADATA_WATCH_ACCEPT =
  'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';
export const JSON_ACCEPT = 'application/json';

interface KubeObject {
  metadata?: { name?: string; resourceVersion?: string };
}

interface ListResponse {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: KubeObject[];
}

export interface InformerOptions<T> {
  transport: KubeTransport;
  /** Resolves the collection path at each (re)list, e.g. after API group discovery. */
  path: () => Promise<string>;
  query?: Query;
  metadataOnly: boolean;
  /**
   * With metadataOnly, lists still ask for whole objects: to read once (at each list) fields that
   * metadata lacks, such as a Node's capacity, while the watch stays cheap.
   */
  fullLists?: boolean;
  /**
   * What to keep of each object; keep little for large collections. `previous` is what was kept of
   * the object with this name before (undefined for a new one).
   */
  keep: (object: Record<string, unknown>, previous: T | undefined) => T;
  /**
   * The store keeps nothing a MODIFIED event can change (e.g. only names, under a server-side
   * selector that turns selector changes into ADDED/DELETED), so such events are not parsed: only
   * their resourceVersion is read. Kubelets modify every Node every few minutes. A function decides
   * line by line from the raw event (true: skip it); an event it keeps is parsed and kept as usual.
   */
  ignoreModified?: boolean | ((line: Buffer) => boolean);
  onChange: (store: ReadonlyMap<string, T>) => void;
  /** The store is known to be current (after a list, a watch (re)connect, an event or a bookmark). */
  onSynced: () => void;
  onError: (err: Error, phase: 'list' | 'watch') => void;
  /**
   * Objects per list page. 100 rather than client-go's 500: each page is parsed whole, and smaller
   * pages keep the agent's peak memory at 50,000 nodes about 40 MB lower for five times the requests.
   */
  pageSize?: number;
  /** Server-side watch timeout; the stream is re-opened after it. */
  watchTimeoutSeconds?: number;
  backoff?: { initialMs: number; maxMs: number };
}

class GoneError extends Error {}

const MODIFIED_PREFIX = Buffer.from('{"type":"MODIFIED",');
const RESOURCE_VERSION_KEY = Buffer.from('"resourceVersion":"');
const QUOTE = 0x22;

export class Informer<T> {
  private readonly store = new Map<string, T>();
  private readonly abort = new AbortController();
  private resourceVersion = '';
  private running: Promise<void> | undefined;
  /** The current watch stream, aborted by relist(). */
  private stream: AbortController | undefined;
  private relistRequested = false;
  /** Number of full lists done, for tests and benchmarks. */
  lists = 0;

  constructor(private readonly options: InformerOptions<T>) {}

  start(): void {
    this.running ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  /** Ends the current watch and lists again (a periodic reconciliation); not an error. */
  relist(): void {
    this.relistRequested = true;
    this.stream?.abort();
  }

  private async run(): Promise<void> {
    const { initialMs, maxMs } = this.options.backoff ?? { initialMs: 1000, maxMs: 30_000 };
    let delay = initialMs;
    let needList = true;
    while (!this.abort.signal.aborted) {
      let phase: 'list' | 'watch' = needList ? 'list' : 'watch';
      try {
        if (needList) {
          await this.list();
          needList = false;
        }
        phase = 'watch'; // a failure from here on is the watch's, not the list's
        await this.watch();
        delay = initialMs; // a watch that opened and ended cleanly: the API is healthy
        needList = this.takeRelist();
      } catch (err) {
        if (this.abort.signal.aborted) return;
        if (this.takeRelist()) {
          needList = true; // the watch was ended on purpose
          continue;
        }
        if (err instanceof GoneError || (err instanceof KubeApiError && err.status === 410)) {
          needList = true; // our resourceVersion is too old: start over from a fresh list
          continue;
        }
        // The collection is gone (e.g. its API group was removed): re-list, which resolves the path again.
        if (err instanceof KubeApiError && err.status === 404) needList = true;
        this.options.onError(err as Error, phase);
        await sleep(delay * (0.5 + Math.random() / 2), this.abort.signal);
        delay = Math.min(delay * 2, maxMs);
      }
    }
  }

  private takeRelist(): boolean {
    const requested = this.relistRequested;
    this.relistRequested = false;
    return requested;
  }

  private async list(): Promise<void> {
    this.relistRequested = false; // this list is the one asked for
    const path = await this.options.path();
    const metadataList = this.options.metadataOnly && !this.options.fullLists;
    const accept = metadataList ? METADATA_LIST_ACCEPT : JSON_ACCEPT;
    const fresh = new Map<string, T>();
    let token: string | undefined;
    let resourceVersion = '';
    do {
      const page = (await this.options.transport.get(
        path,
        { ...this.options.query, limit: String(this.options.pageSize ?? 100), continue: token },
        accept,
        this.abort.signal,
      )) as ListResponse;
      for (const item of page.items ?? []) {
        const name = item.metadata?.name;
        if (name) fresh.set(name, this.options.keep(item as Record<string, unknown>, this.store.get(name)));
      }
      token = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
    } while (token);
    this.lists += 1;
    this.store.clear();
    for (const [name, value] of fresh) this.store.set(name, value);
    this.resourceVersion = resourceVersion;
    this.currentPath = path;
    this.options.onChange(this.store);
    this.options.onSynced();
  }

  private currentPath = '';

  private async watch(): Promise<void> {
    const timeout = this.options.watchTimeoutSeconds ?? 300;
    const stream = new AbortController();
    this.stream = stream;
    const onAbort = () => stream.abort();
    this.abort.signal.addEventListener('abort', onAbort);
    // Guard against a half-open connection: the server ends the stream after `timeout` seconds.
    const guard = setTimeout(() => stream.abort(), (timeout + 30) * 1000);
    try {
      await this.options.transport.watch(
        this.currentPath,
        {
          ...this.options.query,
          resourceVersion: this.resourceVersion,
          allowWatchBookmarks: 'true',
          timeoutSeconds: String(timeout),
        },
        this.options.metadataOnly ? METADATA_WATCH_ACCEPT : JSON_ACCEPT,
        {
          onOpen: () => this.options.onSynced(),
          onEvent: (event) => this.apply(event),
          onLine: this.options.ignoreModified ? (line) => this.skipModified(line) : undefined,
        },
        stream.signal,
      );
    } finally {
      clearTimeout(guard);
      this.abort.signal.removeEventListener('abort', onAbort);
    }
  }

  /** A MODIFIED event as the API server writes it (type first): note its resourceVersion, skip the rest. */
  private skipModified(line: Buffer): boolean {
    if (line.length < MODIFIED_PREFIX.length) return false;
    if (line.compare(MODIFIED_PREFIX, 0, MODIFIED_PREFIX.length, 0, MODIFIED_PREFIX.length) !== 0)
      return false;
    const { ignoreModified } = this.options;
    if (typeof ignoreModified === 'function' && !ignoreModified(line)) return false;
    // metadata.resourceVersion comes before labels and annotations, so the first match is it.
    const key = line.indexOf(RESOURCE_VERSION_KEY);
    const end = key < 0 ? -1 : line.indexOf(QUOTE, key + RESOURCE_VERSION_KEY.length);
    if (end < 0) return false; // unexpected shape: let the full parser handle it
    this.resourceVersion = line.toString('latin1', key + RESOURCE_VERSION_KEY.length, end);
    this.options.onSynced();
    return true;
  }

  private apply(event: WatchEvent): void {
    if (event.type === 'ERROR') {
      const code = (event.object as { code?: number }).code;
      if (code === 410) throw new GoneError('resourceVersion too old (410 Gone)');
      throw new Error(`watch error event: ${JSON.stringify(event.object).slice(0, 300)}`);
    }
    const object = event.object as KubeObject;
    const rv = object.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
    const name = object.metadata?.name;
    if (event.type !== 'BOOKMARK' && name) {
      if (event.type === 'DELETED') this.store.delete(name);
      else this.store.set(name, this.options.keep(event.object, this.store.get(name)));
      this.options.onChange(this.store);
    }
    this.options.onSynced();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}
