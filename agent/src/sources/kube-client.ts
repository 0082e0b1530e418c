// A small Kubernetes API client: GET and watch streams over node's http(s) on one keep-alive agent,
// authenticated as the kubeconfig or service account says (see kubeconfig.ts).
import http from 'node:http';
import https from 'node:https';
import type { Connection } from './kubeconfig.js';

export type Query = Record<string, string | undefined>;

const NEWLINE = 0x0a;

export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: Record<string, unknown>;
}

export interface WatchHandlers {
  /** The server accepted the watch (HTTP 200). */
  onOpen: () => void;
  onEvent: (event: WatchEvent) => void;
  /** Sees each raw event line first; returning true means handled, so it is neither decoded nor parsed. */
  onLine?: (line: Buffer) => boolean;
}

export interface KubeTransport {
  get(path: string, query: Query, accept: string, signal?: AbortSignal): Promise<unknown>;
  /** Resolves when the server ends the stream; rejects when the request or the stream fails. */
  watch(
    path: string,
    query: Query,
    accept: string,
    handlers: WatchHandlers,
    signal: AbortSignal,
  ): Promise<void>;
  /** Closes idle connections. */
  close?(): void;
}

export class KubeClient implements KubeTransport {
  /** Bytes of response bodies received, for benchmarks and debugging. */
  bytesReceived = 0;

  /**
   * @param requestTimeoutMs how long a GET may stay silent before it fails, so that an API server that
   * accepts a connection and never answers cannot freeze a list (watches have their own guard).
   */
  constructor(
    private readonly connection: Connection,
    private readonly requestTimeoutMs = 60_000,
  ) {
    const secure = connection.server.protocol === 'https:';
    this.agent = secure
      ? new https.Agent({ keepAlive: true, ...connection.tls })
      : new http.Agent({ keepAlive: true });
  }

  private readonly agent: http.Agent;

  close(): void {
    this.agent.destroy();
  }

  async get(path: string, query: Query, accept: string, signal?: AbortSignal): Promise<unknown> {
    const res = await this.open(path, query, accept, signal, this.requestTimeoutMs);
    const body = await this.readAll(res);
    if (res.statusCode !== 200) throw apiError(res.statusCode ?? 0, path, body);
    return JSON.parse(body);
  }

  async watch(
    path: string,
    query: Query,
    accept: string,
    { onOpen, onEvent, onLine }: WatchHandlers,
    signal: AbortSignal,
  ): Promise<void> {
    const res = await this.open(path, { ...query, watch: '1' }, accept, signal);
    if (res.statusCode !== 200) throw apiError(res.statusCode ?? 0, path, await this.readAll(res));
    onOpen();
    await new Promise<void>((resolve, reject) => {
      // Bytes, not strings: a line a handler takes raw (most of a node watch) is never decoded.
      let pending: Buffer | undefined;
      res.on('data', (chunk: Buffer) => {
        this.bytesReceived += chunk.length;
        const data = pending ? Buffer.concat([pending, chunk]) : chunk;
        let start = 0;
        for (let newline = data.indexOf(NEWLINE); newline >= 0; newline = data.indexOf(NEWLINE, start)) {
          const line = data.subarray(start, newline);
          start = newline + 1;
          try {
            if (onLine?.(line)) continue;
            const text = line.toString('utf8');
            if (text.trim() !== '') onEvent(JSON.parse(text) as WatchEvent);
          } catch (err) {
            // Reject first: destroying the response emits 'aborted', which would mask the cause
            // (a 410 Gone must reach the informer as such to trigger a re-list).
            reject(err);
            res.destroy();
            return;
          }
        }
        pending = start < data.length ? data.subarray(start) : undefined;
      });
      res.on('end', () => resolve());
      res.on('error', reject);
      res.on('aborted', () => reject(new Error('watch stream aborted')));
      res.on('close', () => {
        if (!res.complete) reject(new Error('watch stream closed before it ended'));
      });
    });
  }

  private async open(
    path: string,
    query: Query,
    accept: string,
    signal?: AbortSignal,
    idleTimeoutMs?: number,
  ): Promise<http.IncomingMessage> {
    const url = new URL(this.connection.server.href.replace(/\/$/, '') + path);
    for (const [key, value] of Object.entries(query))
      if (value !== undefined) url.searchParams.set(key, value);
    const headers = { Accept: accept, ...(await this.connection.headers()) };
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request(url, { method: 'GET', headers, agent: this.agent, signal }, resolve);
      req.on('error', reject);
      if (idleTimeoutMs) {
        req.setTimeout(idleTimeoutMs, () =>
          req.destroy(new Error(`GET ${path}: no answer for ${idleTimeoutMs} ms`)),
        );
      }
      req.end();
    });
  }

  private readAll(res: http.IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => {
        this.bytesReceived += chunk.length;
        chunks.push(chunk);
      });
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', reject);
    });
  }
}

function apiError(status: number, path: string, body: string): KubeApiError {
  let message = body.slice(0, 300);
  try {
    const parsed = JSON.parse(body) as { message?: string };
    if (parsed.message) message = parsed.message;
  } catch {
    // not a Status object; keep the raw text
  }
  return new KubeApiError(status, `GET ${path}: HTTP ${status}: ${message}`);
}
