// A client of the Prometheus HTTP API's two query endpoints, `query` and `query_range`, and nothing
// else: Thanos Query, Mimir and VictoriaMetrics serve them too. Queries are POSTed as forms (long
// PromQL fits), with a bearer token or basic auth and an extra CA when configured. Credentials go
// into headers only: no error message, URL or log line carries them.
import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { VERSION } from './version.js';

export interface ClientOptions {
  /** Base URL, e.g. http://prometheus:9090 or https://mimir/prometheus (no credentials in it). */
  url: string;
  bearerToken?: string;
  basicAuth?: { user: string; password: string };
  /** PEM of a CA to trust besides the system's. */
  ca?: string;
  timeoutMs: number;
}

/** One series of a result: its labels and its samples as [Unix ms, value]. */
export interface Series {
  labels: Record<string, string>;
  points: [number, number][];
}

export class PrometheusError extends Error {
  override name = 'PrometheusError';
}

interface ApiAnswer {
  status?: string;
  errorType?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
}

interface RawSeries {
  metric?: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

/** Prometheus writes sample values as strings, with +Inf, -Inf and NaN spelled its own way. */
export function parseSampleValue(text: string): number {
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  return Number(text);
}

/** API timestamps are seconds with millisecond decimals; `Math.round` undoes the float. */
const toMs = (seconds: number) => Math.round(seconds * 1000);
const toSeconds = (ms: number) => (ms / 1000).toFixed(3);

export class PrometheusClient {
  private readonly base: URL;
  private readonly headers: Record<string, string>;
  private readonly agent: http.Agent;

  constructor(private readonly options: ClientOptions) {
    this.base = new URL(options.url.endsWith('/') ? options.url : `${options.url}/`);
    this.headers = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
      'user-agent': `license-report/${VERSION}`,
    };
    if (options.bearerToken !== undefined) this.headers.authorization = `Bearer ${options.bearerToken}`;
    if (options.basicAuth !== undefined) {
      const { user, password } = options.basicAuth;
      this.headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    }
    this.agent =
      this.base.protocol === 'https:'
        ? new https.Agent({
            keepAlive: true,
            ...(options.ca === undefined ? {} : { ca: [...rootCertificates, options.ca] }),
          })
        : new http.Agent({ keepAlive: true });
  }

  /** The URL as it may be printed. */
  get url(): string {
    return this.base.href.replace(/\/$/, '');
  }

  /** An instant query at `time`; a range-vector expression gives the raw samples of each series. */
  async query(expr: string, time: number): Promise<Series[]> {
    const data = await this.call('query', { query: expr, time: toSeconds(time) });
    return toSeries(data, expr);
  }

  /** A range query evaluated at start, start + step, … ≤ end. */
  async queryRange(expr: string, start: number, end: number, step: number): Promise<Series[]> {
    const data = await this.call('query_range', {
      query: expr,
      start: toSeconds(start),
      end: toSeconds(end),
      step: toSeconds(step),
      // VictoriaMetrics otherwise shifts start and end to its cache's step grid (Prometheus ignores it).
      nocache: '1',
    });
    return toSeries(data, expr);
  }

  close(): void {
    this.agent.destroy();
  }

  private async call(endpoint: string, form: Record<string, string>): Promise<ApiAnswer['data']> {
    const url = new URL(`api/v1/${endpoint}`, this.base);
    const body = new URLSearchParams(form).toString();
    let status: number;
    let text: string;
    try {
      ({ status, text } = await this.post(url, body));
    } catch (err) {
      throw new PrometheusError(`${this.url}: ${endpoint} failed: ${(err as Error).message}`);
    }
    let answer: ApiAnswer | undefined;
    try {
      answer = JSON.parse(text) as ApiAnswer;
    } catch {
      answer = undefined;
    }
    if (status === 401 || status === 403) {
      throw new PrometheusError(
        `${this.url}: ${endpoint} answered HTTP ${status}: the server refused the credentials ` +
          '(check --bearer-token-file or --basic-auth-user/--basic-auth-password-file)',
      );
    }
    if (answer?.status !== 'success') {
      const why = answer?.error
        ? `${answer.errorType ?? 'error'}: ${answer.error}`
        : `not a Prometheus API answer: ${oneLine(text)}`;
      throw new PrometheusError(
        `${this.url}: ${endpoint} answered HTTP ${status} (${why}) to the query ${oneLine(form.query ?? '')}`,
      );
    }
    return answer.data;
  }

  private post(url: URL, body: string): Promise<{ status: number; text: string }> {
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request(
        url,
        {
          method: 'POST',
          agent: this.agent,
          headers: { ...this.headers, 'content-length': Buffer.byteLength(body) },
          timeout: this.options.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.options.timeoutMs / 1000} s`)));
      req.on('error', (err: NodeJS.ErrnoException) =>
        reject(err.code ? new Error(`${err.code}: ${err.message}`) : err),
      );
      req.end(body);
    });
  }
}

function oneLine(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

function toSeries(data: ApiAnswer['data'], expr: string): Series[] {
  const type = data?.resultType;
  const result = data?.result;
  if (!Array.isArray(result) || (type !== 'vector' && type !== 'matrix')) {
    throw new PrometheusError(`unexpected ${String(type)} result for ${oneLine(expr)}`);
  }
  return (result as RawSeries[]).map((s) => ({
    labels: s.metric ?? {},
    points:
      type === 'vector'
        ? s.value
          ? [[toMs(s.value[0]), parseSampleValue(s.value[1])]]
          : []
        : (s.values ?? []).map(([t, v]) => [toMs(t), parseSampleValue(v)]),
  }));
}

export type RangeSemantics = 'closed' | 'left-open';

/**
 * Whether the server's range selectors include a sample exactly at the window's start (Prometheus 2:
 * [t − r, t]) or not (Prometheus 3: (t − r, t]). Asked of the engine itself, with no data: the subquery
 * `vector(1)[10s:5s]` at a time divisible by 5 s holds 3 points when closed and 2 when left-open.
 */
export async function probeRangeSemantics(client: PrometheusClient, at: number): Promise<RangeSemantics> {
  const aligned = Math.floor(at / 10_000) * 10_000;
  const [series] = await client.query('count_over_time(vector(1)[10s:5s])', aligned);
  const count = series?.points[0]?.[1];
  if (count === 3) return 'closed';
  if (count === 2) return 'left-open';
  throw new PrometheusError(
    `${client.url}: cannot tell whether its range selectors include their start: count_over_time(vector(1)[10s:5s]) ` +
      `gave ${String(count)} (Prometheus 2 gives 3, Prometheus 3 gives 2); set --range-selectors closed or left-open`,
  );
}
