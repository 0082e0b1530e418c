// GitHub Issues as a ticket system: one issue per alert group, marked by the identity label and found
// through the issue list (consistent, unlike search). Rate limits are GitHub's own kind of 403/429:
// the primary budget (wait for x-ratelimit-reset), the secondary limit (wait for retry-after, else a
// minute); any other 403 is a missing permission and is not retried.
import type { Logger } from 'pino';
import type { DeliveryEvent, WireRequest } from '../channel.js';
import { defineChannel } from '../descriptor.js';
import type { Block } from '../doc.js';
import { HttpClient, HttpError, type HttpResponse, oneLine, retryAfterMs } from '../http.js';
import { type CommentKind, commentOf } from '../ticket/content.js';
import {
  identityLabel,
  printTicketRequest,
  type RemoteTicket,
  TicketChannel,
  TicketGoneError,
  type TicketRef,
  type TicketStep,
  type TicketSystem,
} from '../ticket/lifecycle.js';
import { buildGitHubSettings, type GitHubChannelSettings, githubSchema } from './config.js';
import {
  closeRequest,
  commentRequest,
  createRequest,
  findRequest,
  type GitHubRequest,
  getRequest,
  reopenRequest,
  toWire,
} from './render.js';

const PEER = 'GitHub';
const GITHUB_HEADERS = { Accept: 'application/vnd.github+json', 'X-GitHub-Api-Version': '2022-11-28' };
/** GitHub's advice when a rate limit says neither retry-after nor a reset time. */
const RATE_LIMIT_WAIT_MS = 60_000;
/** Statuses of an issue that no longer answers: deleted (410, or 404), transferred away (301). */
const GONE = [301, 404, 410];

/** The fields of an issue this channel reads. */
interface GitHubIssue {
  number: number;
  html_url: string;
  state: 'open' | 'closed';
  state_reason?: string | null;
  closed_at?: string | null;
  labels?: { name: string }[];
}

export const githubChannel = defineChannel({
  type: 'github',
  schema: githubSchema,
  build: buildGitHubSettings,
  create: (settings, logger) =>
    new TicketChannel('github', settings, createGitHubSystem(settings, logger), logger),
  print: printTicketRequest,
});

export function createGitHubSystem(settings: GitHubChannelSettings, logger: Logger): TicketSystem {
  return new GitHubSystem(settings, logger);
}

class GitHubSystem implements TicketSystem {
  readonly peer = PEER;
  readonly searchLagMs = 0;
  private readonly client: HttpClient;
  private readonly repository: string;

  constructor(
    private readonly settings: GitHubChannelSettings,
    private readonly logger: Logger,
  ) {
    this.repository = `${settings.owner}/${settings.repo}`;
    this.client = new HttpClient({
      peer: PEER,
      baseUrl: settings.apiUrl,
      headers: GITHUB_HEADERS,
      credentials: { token: settings.token, required: 'token' },
      timeoutMs: settings.timeoutMs,
      describe: describeGitHub,
      classify: (response) => classifyGitHub(response, this.repository),
    });
  }

  identity(event: DeliveryEvent): string {
    return identityLabel(event);
  }

  async find(identity: string): Promise<RemoteTicket | undefined> {
    const issues = await this.inRepository<GitHubIssue[]>(findRequest(this.settings, identity));
    const [newest] = Array.isArray(issues) ? issues : [];
    return newest ? remoteTicket(newest) : undefined;
  }

  async get(ref: TicketRef): Promise<RemoteTicket> {
    return remoteTicket(await this.onIssue<GitHubIssue>(ref, getRequest(this.settings, ref.id)));
  }

  async create(event: DeliveryEvent, identity: string, earlier?: TicketRef): Promise<TicketRef> {
    const issue = await this.inRepository<GitHubIssue>(
      createRequest(this.settings, event, identity, earlier),
    );
    // GitHub drops labels silently when the account lacks push access: nothing would find the issue again.
    const labels = (issue.labels ?? []).map((l) => l.name.toLowerCase());
    if (!labels.includes(identity.toLowerCase()))
      this.logger.warn(
        { ticket: `#${issue.number}`, identity },
        'GitHub dropped the identity label (the account needs push access): later firings may open duplicates',
      );
    return refOf(issue);
  }

  async note(ref: TicketRef, note: Block[]): Promise<void> {
    await this.onIssue(
      ref,
      commentRequest(this.settings, ref.id, () => note),
    );
  }

  async comment(ref: TicketRef, event: DeliveryEvent, kind: CommentKind): Promise<void> {
    await this.onIssue(ref, commentRequest(this.settings, ref.id, commentOf(event, kind)));
  }

  async resolve(ref: TicketRef, event: DeliveryEvent): Promise<void> {
    const current = await this.get(ref);
    await this.comment(ref, event, 'resolve');
    // Closed already (by a person, maybe as not planned): keep their state reason.
    if (!current.open) {
      this.logger.debug({ ticket: ref.key }, 'GitHub issue closed already: commented only');
      return;
    }
    await this.onIssue(ref, closeRequest(this.settings, ref.id));
  }

  async reopen(ref: TicketRef, event: DeliveryEvent): Promise<void> {
    await this.onIssue(ref, reopenRequest(this.settings, ref.id));
    await this.comment(ref, event, 'reopen');
  }

  preview(step: TicketStep, event: DeliveryEvent, ref?: TicketRef, kind?: CommentKind): WireRequest[] {
    const s = this.settings;
    const identity = this.identity(event);
    const id = ref?.id ?? '<number>';
    const requests: GitHubRequest[] = (() => {
      switch (step) {
        case 'find':
          // With a known issue the lifecycle reads that issue instead of listing.
          return [ref ? getRequest(s, ref.id) : findRequest(s, identity)];
        case 'create':
          return [createRequest(s, event, identity, ref)];
        case 'comment':
          return [commentRequest(s, id, commentOf(event, kind))];
        case 'resolve':
          return [getRequest(s, id), commentRequest(s, id, commentOf(event, 'resolve')), closeRequest(s, id)];
        case 'reopen':
          return [reopenRequest(s, id), commentRequest(s, id, commentOf(event, 'reopen'))];
      }
    })();
    return requests.map(toWire);
  }

  /** A request on the repository: a 404 means the repository is not there for this token. */
  private async inRepository<T>(request: GitHubRequest): Promise<T> {
    const res = await this.send<T>(request, [404]);
    if (res.status === 404)
      throw new HttpError(
        `${this.said(request, res)} (repository ${this.repository} not found or the token cannot see it)`,
        false,
        404,
      );
    return res.body;
  }

  /** A request on one issue: an issue that no longer answers is gone. */
  private async onIssue<T = unknown>(ref: TicketRef, request: GitHubRequest): Promise<T> {
    const res = await this.send<T>(request, GONE);
    if (GONE.includes(res.status))
      throw new TicketGoneError(`GitHub issue ${ref.key} is gone: ${this.said(request, res)}`);
    return res.body;
  }

  private send<T>(request: GitHubRequest, accept: number[]): Promise<HttpResponse<T>> {
    return this.client.request<T>(request.method, request.path, request.body, { accept });
  }

  private said(request: GitHubRequest, res: HttpResponse): string {
    const text = describeGitHub(res.body);
    return `GitHub answered HTTP ${res.status} to ${request.method} ${request.path}${text ? `: ${text}` : ''}`;
  }
}

function refOf(issue: GitHubIssue): TicketRef {
  return { key: `#${issue.number}`, id: String(issue.number), url: issue.html_url };
}

function remoteTicket(issue: GitHubIssue): RemoteTicket {
  const closedAt = issue.closed_at ? Date.parse(issue.closed_at) : Number.NaN;
  return {
    ref: refOf(issue),
    open: issue.state === 'open',
    ...(Number.isNaN(closedAt) ? {} : { resolvedAt: closedAt }),
    wontFix: issue.state_reason === 'not_planned',
  };
}

/** GitHub's error text: its message and each entry of `errors` (resource.field code: message). */
export function describeGitHub(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { message, errors } = body as { message?: unknown; errors?: unknown };
  if (typeof message !== 'string') return undefined;
  const text = oneLine(message);
  const details = Array.isArray(errors) ? errors.map(errorText).filter((e) => e !== '') : [];
  return details.length > 0 ? `${text} (${details.join('; ')})` : text;
}

function errorText(entry: unknown): string {
  if (typeof entry === 'string') return entry;
  if (typeof entry !== 'object' || entry === null) return '';
  const e = entry as Record<string, unknown>;
  const where = [e.resource, e.field].filter((v) => typeof v === 'string' && v !== '').join('.');
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : '';
  return `${[where, code].filter(Boolean).join(' ')}${message ? `: ${message}` : ''}`;
}

/**
 * GitHub's verdicts the default cannot make: a 403/429 is a rate limit when the budget is spent, when
 * it says how long to wait, or when it says "secondary rate limit"; any other 403 (a permission) and
 * a 401 are permanent. Undefined: the default verdict.
 */
export function classifyGitHub(
  response: HttpResponse,
  repository: string,
  now: number = Date.now(),
): HttpError | undefined {
  const { status, headers, body } = response;
  const said = describeGitHub(body) ?? (typeof body === 'string' ? body.trim().slice(0, 300) : '');
  if (status === 401)
    return new HttpError(`GitHub answered HTTP 401 for ${repository}: ${said} (check the token)`, false, 401);
  if (status !== 403 && status !== 429) return undefined;
  const wait = rateLimitWait(headers, said, now);
  if (wait !== undefined)
    return new HttpError(
      `GitHub rate limit (HTTP ${status}): ${said}; retrying in ${Math.ceil(wait / 1000)} s`,
      true,
      status,
      wait,
    );
  if (status === 429) return undefined;
  const needs = headers.get('x-accepted-github-permissions');
  return new HttpError(
    `GitHub answered HTTP 403 for ${repository}: ${said}${needs ? ` (the token needs ${needs})` : ''}`,
    false,
    403,
  );
}

/** How long a rate-limited answer asks to wait (ms, at least 1 s), or undefined when it is no rate limit. */
function rateLimitWait(headers: Headers, said: string, now: number): number | undefined {
  const retryAfter = retryAfterMs(headers.get('retry-after'));
  if (retryAfter !== undefined) return Math.max(1000, retryAfter);
  if (headers.get('x-ratelimit-remaining') === '0') {
    const reset = Number(headers.get('x-ratelimit-reset'));
    if (!Number.isFinite(reset) || reset <= 0) return RATE_LIMIT_WAIT_MS;
    // One second more: the reset time is rounded to whole seconds, and clocks differ.
    return Math.max(1000, reset * 1000 - now + 1000);
  }
  if (/secondary rate limit/i.test(said)) return RATE_LIMIT_WAIT_MS;
  return undefined;
}
