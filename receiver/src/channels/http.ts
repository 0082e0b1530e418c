// One HTTP client for the channels that speak JSON over HTTP (Jira, ServiceNow, GitHub, webhook): a
// base URL, fixed headers, credentials, a timeout, no redirects (a redirect could carry a credential to
// another host), and every failure classified once: network errors, timeouts, 408, 429 and 5xx are
// retryable (with the peer's Retry-After); other statuses are permanent, with the peer's own words.
import { VERSION } from '../version.js';
import { ChannelError } from './channel.js';

export class HttpError extends ChannelError {
  override name = 'HttpError';

  constructor(
    message: string,
    retryable: boolean,
    /** HTTP status; undefined when no answer came (network error, timeout). */
    readonly status: number | undefined,
    retryAfterMs?: number,
    options?: ErrorOptions,
  ) {
    super(message, retryable, retryAfterMs, options);
  }

  /** The request may have been carried out although no success came back (create twice?). */
  get uncertain(): boolean {
    return this.status === undefined || this.status >= 500 || this.status === 408;
  }
}

export interface HttpResponse<T = unknown> {
  status: number;
  headers: Headers;
  /** Parsed JSON, the text when it is not JSON, or undefined when empty. */
  body: T;
}

/** Sent as `Authorization`: a bearer token, else user and password (Basic). */
export interface Credentials {
  token?: string | undefined;
  user?: string | undefined;
  password?: string | undefined;
  /** What to name when none were loaded (`API token`): then no request is made. Absent: optional. */
  required?: string;
}

export interface HttpClientOptions {
  /** Names the peer in errors: `Jira`, `GitHub`… */
  peer: string;
  baseUrl: string;
  credentials?: Credentials;
  headers?: Record<string, string>;
  timeoutMs: number;
  /** The peer's error text from an error body (Jira's errorMessages, GitHub's message…). */
  describe?: (body: unknown) => string | undefined;
  /** A peer-specific verdict for a failed answer (GitHub's rate-limit 403), else the default one. */
  classify?: (response: HttpResponse) => HttpError | undefined;
  /**
   * A webhook URL (Slack's, a Teams workflow's, the webhook channel's): every request goes to baseUrl
   * exactly as written, the path only names it in errors (`<url>`), and since such a URL carries its
   * own credential, no error text ever contains it.
   */
  webhook?: boolean;
}

export interface RequestOptions {
  /** Statuses answered to the caller rather than thrown (404 to learn that a ticket is gone). */
  accept?: number[];
  headers?: Record<string, string>;
  /** A body sent as is (the webhook channel signs exact bytes). */
  raw?: string;
}

export class HttpClient {
  private readonly authorization: string | undefined;

  constructor(readonly options: HttpClientOptions) {
    const c = options.credentials;
    this.authorization = c && authorizationHeader(c.token, c.user, c.password);
  }

  url(path: string): string {
    if (this.options.webhook) return this.options.baseUrl;
    return `${this.options.baseUrl.replace(/\/+$/, '')}${path}`;
  }

  async request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    request: RequestOptions = {},
  ): Promise<HttpResponse<T>> {
    try {
      return await this.send<T>(method, path, body, request);
    } catch (err) {
      if (this.options.webhook && err instanceof Error)
        err.message = err.message.split(this.options.baseUrl).join(path);
      throw err;
    }
  }

  private async send<T>(
    method: string,
    path: string,
    body: unknown,
    request: RequestOptions,
  ): Promise<HttpResponse<T>> {
    const { peer, timeoutMs, credentials } = this.options;
    if (this.authorization === undefined && credentials?.required)
      throw new ChannelError(`no ${peer} ${credentials.required} was loaded`, false);
    const payload = request.raw ?? (body === undefined ? undefined : JSON.stringify(body));
    let res: Response;
    try {
      res = await fetch(this.url(path), {
        method,
        headers: {
          Accept: 'application/json',
          'User-Agent': `license-receiver/${VERSION}`,
          ...(payload !== undefined ? { 'Content-Type': 'application/json' } : {}),
          ...this.options.headers,
          ...(this.authorization !== undefined ? { Authorization: this.authorization } : {}),
          ...request.headers,
        },
        ...(payload !== undefined ? { body: payload } : {}),
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const timedOut = (err as Error).name === 'TimeoutError';
      const reason = timedOut ? `no answer within ${timeoutMs} ms` : causeText(err);
      throw new HttpError(`${peer} ${method} ${path} failed: ${reason}`, true, undefined, undefined, {
        cause: err,
      });
    }
    const response: HttpResponse<T> = {
      status: res.status,
      headers: res.headers,
      body: parseBody(await res.text().catch(() => '')) as T,
    };
    if ((res.status >= 200 && res.status < 300) || request.accept?.includes(res.status)) return response;
    throw this.options.classify?.(response) ?? this.failure(method, path, response);
  }

  /** The default verdict on a non-2xx answer. */
  failure(method: string, path: string, response: HttpResponse): HttpError {
    const { status, headers, body } = response;
    const said = this.options.describe?.(body) ?? (typeof body === 'string' ? body.slice(0, 300) : '');
    const text = `${this.options.peer} answered HTTP ${status} to ${method} ${path}${said ? `: ${said}` : ''}`;
    if (status >= 300 && status < 400)
      return new HttpError(`${text} (redirects are not followed; check the url)`, false, status);
    const retryable = status === 408 || status === 429 || status >= 500;
    return new HttpError(text, retryable, status, retryAfterMs(headers.get('retry-after')));
  }
}

/** `Bearer <token>` when there is a token, else `Basic` of user and password, else undefined. */
function authorizationHeader(
  token: string | undefined,
  user?: string,
  password?: string,
): string | undefined {
  if (token !== undefined) return `Bearer ${token}`;
  if (user === undefined || password === undefined) return undefined;
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** A peer's text on one line: runs of white space (newlines included) become one space. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** The words of an HTML error page (a proxy's, a gateway's) on one line, or undefined when it has none. */
export function pageWords(page: string, max: number): string | undefined {
  const text = oneLine(page.replace(/<[^>]*>/g, ' '));
  return text === '' ? undefined : text.slice(0, max);
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function causeText(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  return [e?.message, e?.cause?.code ?? e?.cause?.message].filter(Boolean).join(': ');
}

/** Retry-After in seconds or as an HTTP date → milliseconds. */
export function retryAfterMs(value: string | null | undefined): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
