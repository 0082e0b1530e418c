// A fake webhook endpoint for tests and benchmarks: plain HTTP on 127.0.0.1 that accepts any method and
// path and records every request as it came — method, path with query, headers, raw body bytes — then
// answers 200 `ok`. It can be told to fail the next N requests on purpose: an HTTP status (with an
// optional Retry-After, other headers and a body), or a delayed answer (the request is recorded — the
// peer has it — and answered 200 only after the delay, as with a timeout on the sender's side).
import http from 'node:http';
import { closeLoopback, listenLoopback } from '../helpers/loopback.js';

export interface SinkRequest {
  /** When the request's body had been read (ms since the epoch). */
  at: number;
  method: string;
  /** Path and query, as sent. */
  path: string;
  /** Header names in lower case, as Node gives them. */
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The status the sink answered. */
  status: number;
}

export type SinkFault =
  | {
      status: number;
      /** Seconds, or an HTTP date. */
      retryAfter?: number | string;
      headers?: Record<string, string>;
      body?: string;
    }
  /** Record the request, answer 200 only after `delayMs`. */
  | { delayMs: number };

export class WebhookSink {
  readonly requests: SinkRequest[] = [];
  url = '';
  private readonly faults: SinkFault[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private server!: http.Server;

  static async start(): Promise<WebhookSink> {
    const sink = new WebhookSink();
    const { server, url } = await listenLoopback((req, res) => sink.handle(req, res));
    sink.server = server;
    sink.url = url;
    return sink;
  }

  /** The next `count` requests get `fault` (queued after faults already set). */
  failNext(fault: SinkFault, count = 1): void {
    for (let i = 0; i < count; i++) this.faults.push(fault);
  }

  /** Requests answered with 2xx. */
  get delivered(): SinkRequest[] {
    return this.requests.filter((r) => r.status >= 200 && r.status < 300);
  }

  /** The body of request `i` parsed as JSON. */
  json<T = Record<string, unknown>>(i: number): T {
    const request = this.requests.at(i);
    if (!request) throw new Error(`the sink has no request ${i} (it has ${this.requests.length})`);
    return JSON.parse(request.body.toString('utf8')) as T;
  }

  /** A header of request `i` (undefined when absent; repeated headers joined by ", "). */
  header(i: number, name: string): string | undefined {
    const value = this.requests.at(i)?.headers[name.toLowerCase()];
    return Array.isArray(value) ? value.join(', ') : value;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => res.destroy());
    req.on('end', () => {
      const fault = this.faults.shift();
      const request: SinkRequest = {
        at: Date.now(),
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
        status: fault && 'status' in fault ? fault.status : 200,
      };
      this.requests.push(request);
      if (fault && 'delayMs' in fault) {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          if (!res.destroyed) res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
        }, fault.delayMs);
        this.timers.add(timer);
        return;
      }
      if (fault) {
        res.writeHead(fault.status, {
          'Content-Type': 'text/plain',
          ...(fault.retryAfter !== undefined ? { 'Retry-After': String(fault.retryAfter) } : {}),
          ...fault.headers,
        });
        res.end(fault.body ?? http.STATUS_CODES[fault.status] ?? '');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
    });
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await closeLoopback(this.server);
  }
}
