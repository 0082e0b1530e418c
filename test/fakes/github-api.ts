// A fake GitHub REST API (Issues) for tests and benchmarks: plain HTTP on 127.0.0.1 speaking the real
// wire format, at the root like api.github.com or under a prefix like GitHub Enterprise Server
// (`/api/v3`). Issues, comments and labels of the configured repositories (owner/name compare
// case-insensitively, as on GitHub).
//
// It checks what real GitHub checks and what matters to a client: a User-Agent (403 without one),
// `Authorization: Bearer|token <token>` (401 Bad credentials), a supported X-GitHub-Api-Version
// (400), the repository (404), JSON bodies (400 Problems parsing JSON), field types (422 Invalid
// request) and limits (422 Validation Failed: title 1–256 characters, body ≤ 65,536, label names
// 1–50; lengths count code points, as GitHub does), and state/state_reason pairs (`reopened` only
// with open, `completed`/`not_planned` only with closed). Labels that do not exist are created;
// label names match case-insensitively. Lists filter by labels (all of them), state, sort, direction
// and page like GitHub, with a `Link` header whose URLs are GitHub's own
// (`…/repositories/{id}/issues?…&page=N`, which the fake serves too). Lists are strongly
// consistent; there is no search API (404).
//
// Rate limits as GitHub enforces them: a primary budget per token per hour (every authenticated
// request costs 1 except GET /rate_limit; 403 with x-ratelimit-remaining: 0 and x-ratelimit-reset
// when spent) and a secondary limit on content-creating requests (POST issue, POST comment, PATCH
// issue) in a sliding minute (403 with retry-after). Every answer carries the x-ratelimit-* headers
// and an x-github-request-id. It can be told to fail on purpose: a permission 403 (rate-limit
// headers untouched, no retry-after), 429 with retry-after, HTTP 5xx, or a delayed answer (the
// request is handled — the issue IS created — and answered only after the delay).
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { closeLoopback, listenLoopback } from '../helpers/loopback.js';

export interface FakeGitHubOptions {
  /** Default 'ghp_testtoken'. */
  token?: string;
  /** 'owner/name'; default ['acme/licences']. */
  repos?: string[];
  /** '' like api.github.com (default), '/api/v3' like GitHub Enterprise Server. */
  pathPrefix?: string;
  /** Primary rate limit: requests per hour per token. Default 5000. */
  primaryLimit?: number;
  /** Secondary rate limit: content-creating requests per sliding minute. Default 80. */
  contentPerMinute?: number;
}

export type StateReason = 'completed' | 'not_planned' | 'reopened';

export interface GitHubUser {
  login: string;
  id: number;
  type: 'Bot' | 'User';
}

export interface GitHubLabel {
  id: number;
  node_id: string;
  url: string;
  name: string;
  color: string;
  default: false;
  description: string | null;
}

export interface GitHubIssue {
  id: number;
  node_id: string;
  url: string;
  repository_url: string;
  comments_url: string;
  html_url: string;
  number: number;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  state_reason: StateReason | null;
  labels: GitHubLabel[];
  assignee: GitHubUser | null;
  assignees: GitHubUser[];
  milestone: { number: number; title: string } | null;
  locked: false;
  active_lock_reason: null;
  comments: number;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  closed_by: GitHubUser | null;
  user: GitHubUser;
  author_association: 'NONE';
}

export interface GitHubComment {
  id: number;
  node_id: string;
  url: string;
  html_url: string;
  issue_url: string;
  body: string;
  user: GitHubUser;
  created_at: string;
  updated_at: string;
  author_association: 'NONE';
}

export interface GitHubCall {
  method: string;
  /** The API path without the prefix (e.g. '/repos/acme/licences/issues'); as sent when outside it. */
  path: string;
  query: Record<string, string>;
  /** HTTP status answered (set when decided; a delayed answer is sent later). */
  status: number;
  at: number;
  /** The JSON body as parsed, or the raw text when it is not JSON. */
  body?: unknown;
  /** The Accept header as sent (application/vnd.github+json is what GitHub recommends). */
  accept?: string;
  /** The X-GitHub-Api-Version header as sent. */
  apiVersion?: string;
  requestId: string;
}

export type Fault =
  /** A permission (or other non-rate-limit) 403: rate-limit headers as usual, no retry-after. */
  | { status: 403; message: string }
  | { status: 429; retryAfter: number }
  | { status: 500 | 502 | 503 }
  /** Handle the request (the issue is created) but answer only after `delayMs`. */
  | { delayMs: number };

export interface FaultMatch {
  method?: string;
  /** Tested against the API path without the prefix. */
  path?: RegExp;
}

export const BOT_LOGIN = 'license-monitor[bot]';
export const SUPPORTED_API_VERSIONS = ['2022-11-28', '2026-03-10'] as const;
export const LIMITS = { title: 256, body: 65_536, label: 50, perPage: 100, defaultPerPage: 30 } as const;
const DOCS = 'https://docs.github.com/rest';
const RATE_DOCS = 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api';
const UNAUTHENTICATED_LIMIT = 60;
const HOUR = 3_600_000;
const MINUTE = 60_000;
const BOT: GitHubUser = { login: BOT_LOGIN, id: 1, type: 'Bot' };
const HUMAN: GitHubUser = { login: 'octocat', id: 583231, type: 'User' };

type Json = Record<string, unknown>;
type Answer = { status: number; body: unknown; headers?: Record<string, string> };

interface IssueRecord {
  json: GitHubIssue;
  createdMs: number;
  updatedMs: number;
  comments: GitHubComment[];
}

interface RepoState {
  fullName: string;
  id: number;
  issues: IssueRecord[];
  /** By lower-case name. */
  labels: Map<string, GitHubLabel>;
}

interface Bucket {
  limit: number;
  used: number;
  resetAt: number;
}

/** GitHub's timestamp format: ISO 8601 in UTC without fractions. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Length as GitHub counts it (code points, like Ruby's String#length). */
function chars(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

export class FakeGitHub {
  readonly token: string;
  readonly primaryLimit: number;
  readonly contentPerMinute: number;
  readonly pathPrefix: string;
  readonly calls: GitHubCall[] = [];
  /** Base URL of the API, prefix included (what a client is configured with). */
  url = '';
  private readonly repoNames: string[];
  private repos = new Map<string, RepoState>();
  private readonly faults: { fault: Fault; match?: FaultMatch }[] = [];
  private primary!: Bucket;
  private unauthenticated!: Bucket;
  private contentTimes: number[] = [];
  private secondaryUntil = 0;
  private ids = { issue: 1_000_000_000, comment: 2_000_000_000, label: 3_000_000_000 };
  private server!: http.Server;
  private readonly pendingTimers = new Set<NodeJS.Timeout>();

  private constructor(options: FakeGitHubOptions) {
    this.token = options.token ?? 'ghp_testtoken';
    this.repoNames = options.repos ?? ['acme/licences'];
    if (this.repoNames.length === 0 || this.repoNames.some((r) => !/^[^/\s]+\/[^/\s]+$/.test(r)))
      throw new Error(`FakeGitHub: repos must be 'owner/name', got ${JSON.stringify(this.repoNames)}`);
    this.pathPrefix = (options.pathPrefix ?? '').replace(/\/+$/, '');
    if (this.pathPrefix !== '' && !this.pathPrefix.startsWith('/'))
      throw new Error(`FakeGitHub: pathPrefix must start with '/', got ${this.pathPrefix}`);
    this.primaryLimit = options.primaryLimit ?? 5000;
    this.contentPerMinute = options.contentPerMinute ?? 80;
    this.reset();
  }

  static async start(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
    const fake = new FakeGitHub(options);
    const { server, url } = await listenLoopback((req, res) => fake.handle(req, res));
    fake.server = server;
    fake.url = `${url}${fake.pathPrefix}`;
    return fake;
  }

  // ---- controls -------------------------------------------------------------------------------

  /** The next `count` requests (matching `match`, if given) fail with `fault`. */
  failNext(fault: Fault, count = 1, match?: FaultMatch): void {
    for (let i = 0; i < count; i++) this.faults.push(match === undefined ? { fault } : { fault, match });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  /** Spend the primary budget: 403 rate limit exceeded until `resetInSeconds` from now, then it refills. */
  exhaustPrimary(resetInSeconds: number): void {
    this.primary = {
      limit: this.primaryLimit,
      used: this.primaryLimit,
      resetAt: Date.now() + resetInSeconds * 1000,
    };
  }

  /** Content-creating requests get the secondary-limit 403 until `retryAfterSeconds` from now. */
  triggerSecondary(retryAfterSeconds: number): void {
    this.secondaryUntil = Date.now() + retryAfterSeconds * 1000;
  }

  /** The primary budget left in the current window. */
  get primaryRemaining(): number {
    return this.limitState(this.primary, Date.now()).remaining;
  }

  /** Close an issue as a person would in the web UI (no request, no rate limit). */
  humanClose(n: number, reason: 'completed' | 'not_planned', repo?: string): void {
    const record = this.record(n, repo);
    const now = Date.now();
    const issue = record.json;
    if (issue.state !== 'closed') {
      issue.closed_at = isoSeconds(now);
      issue.state = 'closed';
    }
    issue.state_reason = reason;
    issue.closed_by = { ...HUMAN };
    this.touch(record, now);
  }

  /** Move an issue's closed_at `ms` into the past (for reopen-window tests). */
  backdateClosed(n: number, ms: number, repo?: string): void {
    const issue = this.record(n, repo).json;
    if (issue.closed_at === null) throw new Error(`FakeGitHub: issue #${n} is not closed`);
    issue.closed_at = isoSeconds(Date.parse(issue.closed_at) - ms);
  }

  /** Forget issues, labels, calls, faults and rate-limit state (the server keeps running). */
  reset(): void {
    this.repos = new Map();
    for (const [i, fullName] of this.repoNames.entries())
      this.repos.set(fullName.toLowerCase(), { fullName, id: 100_000 + i, issues: [], labels: new Map() });
    this.calls.length = 0;
    this.faults.length = 0;
    this.primary = { limit: this.primaryLimit, used: 0, resetAt: 0 };
    this.unauthenticated = { limit: UNAUTHENTICATED_LIMIT, used: 0, resetAt: 0 };
    this.contentTimes = [];
    this.secondaryUntil = 0;
  }

  async close(): Promise<void> {
    for (const t of this.pendingTimers) clearTimeout(t);
    this.pendingTimers.clear();
    await closeLoopback(this.server);
  }

  // ---- inspection ---------------------------------------------------------------------------------

  callsTo(method: string, path: RegExp): GitHubCall[] {
    return this.calls.filter((c) => c.method === method.toUpperCase() && testRe(path, c.path));
  }

  /** Issues of a repository (default: the first configured), in creation order; copies. */
  issues(repo?: string): GitHubIssue[] {
    return this.repo(repo).issues.map((r) => this.render(r));
  }

  issue(n: number, repo?: string): GitHubIssue | undefined {
    const record = this.repo(repo).issues[n - 1];
    return record ? this.render(record) : undefined;
  }

  /** Comment bodies of an issue, oldest first. */
  comments(n: number, repo?: string): string[] {
    return this.record(n, repo).comments.map((c) => c.body);
  }

  /** Labels of a repository, created ones included, in creation order. */
  labels(repo?: string): GitHubLabel[] {
    return [...this.repo(repo).labels.values()].map((l) => ({ ...l }));
  }

  // ---- state helpers ------------------------------------------------------------------------------

  private repo(name?: string): RepoState {
    const state = this.repos.get((name ?? (this.repoNames[0] as string)).toLowerCase());
    if (!state) throw new Error(`FakeGitHub: no repository ${name}`);
    return state;
  }

  private record(n: number, repo?: string): IssueRecord {
    const record = this.repo(repo).issues[n - 1];
    if (!record) throw new Error(`FakeGitHub: no issue #${n} in ${repo ?? this.repoNames[0]}`);
    return record;
  }

  private render(record: IssueRecord): GitHubIssue {
    const copy = structuredClone(record.json);
    copy.comments = record.comments.length;
    return copy;
  }

  private touch(record: IssueRecord, now: number): void {
    record.updatedMs = now;
    record.json.updated_at = isoSeconds(now);
  }

  private apiRepoUrl(repo: RepoState): string {
    return `${this.url}/repos/${repo.fullName}`;
  }

  private label(repo: RepoState, name: string): GitHubLabel {
    let label = repo.labels.get(name.toLowerCase());
    if (!label) {
      const id = ++this.ids.label;
      label = {
        id,
        node_id: nodeId('LA', id),
        url: `${this.apiRepoUrl(repo)}/labels/${encodeURIComponent(name)}`,
        name,
        color: 'ededed',
        default: false,
        description: null,
      };
      repo.labels.set(name.toLowerCase(), label);
    }
    return { ...label };
  }

  private refresh(bucket: Bucket, now: number): void {
    if (now >= bucket.resetAt) {
      bucket.used = 0;
      bucket.resetAt = now + HOUR;
    }
  }

  private limitState(bucket: Bucket, now: number): { remaining: number; reset: number } {
    this.refresh(bucket, now);
    return { remaining: Math.max(0, bucket.limit - bucket.used), reset: Math.ceil(bucket.resetAt / 1000) };
  }

  private rateHeaders(bucket: Bucket, now: number, requestId: string): Record<string, string> {
    const { remaining, reset } = this.limitState(bucket, now);
    return {
      'x-ratelimit-limit': String(bucket.limit),
      'x-ratelimit-remaining': String(remaining),
      'x-ratelimit-used': String(Math.min(bucket.used, bucket.limit)),
      'x-ratelimit-reset': String(reset),
      'x-ratelimit-resource': 'core',
      'x-github-request-id': requestId,
    };
  }

  private takeFault(method: string, path: string): Fault | undefined {
    const i = this.faults.findIndex(
      ({ match }) =>
        !match ||
        ((match.method === undefined || match.method.toUpperCase() === method) &&
          (match.path === undefined || testRe(match.path, path))),
    );
    if (i < 0) return undefined;
    return (this.faults.splice(i, 1)[0] as { fault: Fault }).fault;
  }

  // ---- HTTP -----------------------------------------------------------------------------------------

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const at = Date.now();
    const requestId = newRequestId();
    const method = (req.method ?? 'GET').toUpperCase();
    const target = new URL(req.url ?? '/', 'http://fake.invalid');
    const prefix = this.pathPrefix;
    const underPrefix =
      prefix === '' || target.pathname === prefix || target.pathname.startsWith(`${prefix}/`);
    const path = underPrefix ? target.pathname.slice(prefix.length) || '/' : target.pathname;
    const call: GitHubCall = {
      method,
      path,
      query: Object.fromEntries(target.searchParams),
      status: 0,
      at,
      requestId,
    };
    let parsed: unknown;
    let badJson = false;
    if (raw !== '') {
      try {
        parsed = JSON.parse(raw);
        call.body = parsed;
      } catch {
        badJson = true;
        call.body = raw;
      }
    }
    const accept = header(req, 'accept');
    if (accept !== undefined) call.accept = accept;
    const apiVersion = header(req, 'x-github-api-version');
    if (apiVersion !== undefined) call.apiVersion = apiVersion;
    this.calls.push(call);

    let delayMs = 0;
    const send = (status: number, text: string, headers: Record<string, string>) => {
      call.status = status;
      const write = () => {
        if (!res.destroyed) res.writeHead(status, headers).end(text);
      };
      if (delayMs <= 0) return write();
      const timer = setTimeout(() => {
        this.pendingTimers.delete(timer);
        write();
      }, delayMs);
      this.pendingTimers.add(timer);
    };
    const json = 'application/json; charset=utf-8';

    // GitHub's edge refuses requests without a User-Agent before the API sees them.
    if (!header(req, 'user-agent'))
      return send(
        403,
        'Request forbidden by administrative rules. Please make sure your request has a User-Agent header ' +
          '(https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). ' +
          'Check https://developer.github.com for other possible causes.\n',
        {
          ...this.rateHeaders(this.unauthenticated, at, requestId),
          'content-type': 'text/plain; charset=utf-8',
        },
      );

    const auth = /^(bearer|token)\s+(\S+)\s*$/i.exec(header(req, 'authorization') ?? '');
    if (auth?.[2] !== this.token) {
      this.refresh(this.unauthenticated, at);
      this.unauthenticated.used++;
      return send(401, JSON.stringify(error('Bad credentials', 401)), {
        ...this.rateHeaders(this.unauthenticated, at, requestId),
        'content-type': json,
      });
    }

    // GET /rate_limit is free and answers even when the budget is spent.
    if (method === 'GET' && underPrefix && path === '/rate_limit') {
      const { remaining, reset } = this.limitState(this.primary, at);
      const core = { limit: this.primary.limit, used: this.primary.used, remaining, reset, resource: 'core' };
      return send(200, JSON.stringify({ resources: { core }, rate: core }), {
        ...this.rateHeaders(this.primary, at, requestId),
        'content-type': json,
      });
    }

    this.refresh(this.primary, at);
    if (this.primary.used >= this.primary.limit)
      return send(
        403,
        JSON.stringify({
          message: `API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID ${requestId}.`,
          documentation_url: RATE_DOCS,
          status: '403',
        }),
        { ...this.rateHeaders(this.primary, at, requestId), 'content-type': json },
      );
    this.primary.used++;
    const supported = apiVersion !== undefined && SUPPORTED_API_VERSIONS.includes(apiVersion as never);
    const headers: Record<string, string> = {
      ...this.rateHeaders(this.primary, at, requestId),
      'content-type': json,
      'x-github-api-version-selected': supported ? (apiVersion as string) : '2022-11-28',
    };
    const reply = (a: Answer) => send(a.status, JSON.stringify(a.body), { ...headers, ...a.headers });

    const fault = this.takeFault(method, path);
    if (fault && 'status' in fault) {
      if (fault.status === 403)
        return reply({
          status: 403,
          body: error(fault.message, 403),
          headers: method === 'GET' ? {} : { 'x-accepted-github-permissions': 'issues=write' },
        });
      if (fault.status === 429)
        return reply({
          status: 429,
          body: secondaryBody(requestId, 429),
          headers: { 'retry-after': String(fault.retryAfter) },
        });
      const text = { 500: 'Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable' }[fault.status];
      return reply({ status: fault.status, body: error(text, fault.status) });
    }
    if (fault) delayMs = fault.delayMs;

    if (apiVersion !== undefined && !supported)
      return reply({
        status: 400,
        body: {
          message: `API version ${apiVersion} is not supported.`,
          documentation_url: `${DOCS}/about-the-rest-api/api-versions`,
          status: '400',
        },
      });

    if (!underPrefix) return reply(notFound());
    reply(this.route(method, path, target.searchParams, parsed, badJson, at, requestId));
  }

  private route(
    method: string,
    rawPath: string,
    query: URLSearchParams,
    body: unknown,
    badJson: boolean,
    now: number,
    requestId: string,
  ): Answer {
    // Link headers point at /repositories/{id}/…; serve those as the repository they name.
    let path = rawPath;
    const byId = /^\/repositories\/(\d+)(\/.*)$/.exec(path);
    if (byId) {
      const repo = [...this.repos.values()].find((r) => r.id === Number(byId[1]));
      if (!repo) return notFound();
      path = `/repos/${repo.fullName}${byId[2]}`;
    }
    const m = /^\/repos\/([^/]+)\/([^/]+)\/issues(?:\/(\d+)(\/comments)?)?$/.exec(path);
    if (!m) return notFound();
    const [, owner, name, num, comments] = m;
    const kind = num === undefined ? 'issues' : comments ? 'comments' : 'issue';
    const allowed = { issues: ['GET', 'POST'], issue: ['GET', 'PATCH'], comments: ['GET', 'POST'] }[kind];
    if (!allowed.includes(method)) return notFound();

    if (method !== 'GET') {
      const cutoff = now - MINUTE;
      this.contentTimes = this.contentTimes.filter((t) => t > cutoff);
      if (now < this.secondaryUntil)
        return {
          status: 403,
          body: secondaryBody(requestId, 403),
          headers: { 'retry-after': String(Math.max(1, Math.ceil((this.secondaryUntil - now) / 1000))) },
        };
      if (this.contentTimes.length >= this.contentPerMinute)
        return { status: 403, body: secondaryBody(requestId, 403), headers: { 'retry-after': '60' } };
      this.contentTimes.push(now);
    }

    const repo = this.repos.get(`${owner}/${name}`.toLowerCase());
    if (!repo) return notFound();
    let record: IssueRecord | undefined;
    if (num !== undefined) {
      record = repo.issues[Number(num) - 1];
      if (!record) return notFound();
    }
    if (method === 'GET') {
      if (kind === 'issues') return this.list(repo, query);
      if (kind === 'issue') return { status: 200, body: this.render(record as IssueRecord) };
      const all = (record as IssueRecord).comments;
      return this.page(all, query, `${this.url}/repositories/${repo.id}/issues/${num}/comments`);
    }

    if (badJson) return { status: 400, body: error('Problems parsing JSON', 400) };
    const args = body ?? {};
    if (typeof args !== 'object' || args === null || Array.isArray(args))
      return { status: 400, body: error('Problems parsing JSON', 400) };
    if (kind === 'issues') return this.create(repo, args as Json, now);
    if (kind === 'issue') return this.update(repo, record as IssueRecord, args as Json, now);
    return this.comment(repo, record as IssueRecord, args as Json, now);
  }

  private create(repo: RepoState, args: Json, now: number): Answer {
    const docs = `${DOCS}/issues/issues#create-an-issue`;
    const typed = checkTypes(args, docs);
    if (typed) return typed;
    const errors = fieldErrors(args, true);
    if (errors.length > 0) return validationFailed(errors, docs);

    const id = ++this.ids.issue;
    const number = repo.issues.length + 1;
    const base = this.apiRepoUrl(repo);
    const assignees = ((args.assignees as string[] | undefined) ?? []).map(assignee);
    const json: GitHubIssue = {
      id,
      node_id: nodeId('I', id),
      url: `${base}/issues/${number}`,
      repository_url: base,
      comments_url: `${base}/issues/${number}/comments`,
      html_url: `https://github.com/${repo.fullName}/issues/${number}`,
      number,
      title: String(args.title),
      body: (args.body as string | null | undefined) ?? null,
      state: 'open',
      state_reason: null,
      labels: labelNames(args.labels).map((l) => this.label(repo, l)),
      assignee: assignees[0] ?? null,
      assignees,
      milestone: milestone(args.milestone),
      locked: false,
      active_lock_reason: null,
      comments: 0,
      created_at: isoSeconds(now),
      updated_at: isoSeconds(now),
      closed_at: null,
      closed_by: null,
      user: { ...BOT },
      author_association: 'NONE',
    };
    json.labels = dedupe(json.labels);
    const record: IssueRecord = { json, createdMs: now, updatedMs: now, comments: [] };
    repo.issues.push(record);
    return { status: 201, body: this.render(record), headers: { location: json.url } };
  }

  private update(repo: RepoState, record: IssueRecord, args: Json, now: number): Answer {
    const docs = `${DOCS}/issues/issues#update-an-issue`;
    const typed = checkTypes(args, docs);
    if (typed) return typed;
    const errors = fieldErrors(args, false);
    const issue = record.json;
    const state = args.state;
    if (state !== undefined && state !== 'open' && state !== 'closed')
      errors.push({ value: state, resource: 'Issue', field: 'state', code: 'invalid' });
    const reason = args.state_reason;
    const nextState = state === 'open' || state === 'closed' ? state : issue.state;
    if (reason !== undefined && reason !== null) {
      const fits =
        (reason === 'reopened' && nextState === 'open') ||
        ((reason === 'completed' || reason === 'not_planned') && nextState === 'closed');
      if (!fits) errors.push({ value: reason, resource: 'Issue', field: 'state_reason', code: 'invalid' });
    }
    if (errors.length > 0) return validationFailed(errors, docs);

    const before = JSON.stringify(issue);
    if (args.title !== undefined) issue.title = String(args.title);
    if (args.body !== undefined) issue.body = args.body as string | null;
    if (args.labels !== undefined)
      issue.labels = dedupe(labelNames(args.labels).map((l) => this.label(repo, l)));
    if (args.assignees !== undefined) {
      issue.assignees = ((args.assignees as string[] | null) ?? []).map(assignee);
      issue.assignee = issue.assignees[0] ?? null;
    }
    if (args.milestone !== undefined) issue.milestone = milestone(args.milestone);
    if (nextState === 'closed') {
      if (issue.state === 'open') {
        issue.state = 'closed';
        issue.closed_at = isoSeconds(now);
        issue.closed_by = { ...BOT };
        issue.state_reason = (reason as StateReason | null | undefined) ?? 'completed';
      } else if (reason) issue.state_reason = reason as StateReason;
    } else if (issue.state === 'closed') {
      issue.state = 'open';
      issue.closed_at = null;
      issue.closed_by = null;
      issue.state_reason = 'reopened';
    } else if (reason !== undefined) issue.state_reason = reason as StateReason | null;
    if (JSON.stringify(issue) !== before) this.touch(record, now);
    return { status: 200, body: this.render(record) };
  }

  private comment(repo: RepoState, record: IssueRecord, args: Json, now: number): Answer {
    const docs = `${DOCS}/issues/comments#create-an-issue-comment`;
    const body = args.body;
    if (body !== undefined && body !== null && typeof body !== 'string')
      return invalidRequest('body', body, 'a string', docs);
    if (typeof body !== 'string' || body === '')
      return validationFailed([{ resource: 'IssueComment', code: 'missing_field', field: 'body' }], docs);
    if (chars(body) > LIMITS.body)
      return validationFailed(
        [
          {
            resource: 'IssueComment',
            code: 'custom',
            field: 'body',
            message: `body is too long (maximum is ${LIMITS.body} characters)`,
          },
        ],
        docs,
      );
    const id = ++this.ids.comment;
    const issue = record.json;
    const comment: GitHubComment = {
      id,
      node_id: nodeId('IC', id),
      url: `${this.apiRepoUrl(repo)}/issues/comments/${id}`,
      html_url: `${issue.html_url}#issuecomment-${id}`,
      issue_url: issue.url,
      body,
      user: { ...BOT },
      created_at: isoSeconds(now),
      updated_at: isoSeconds(now),
      author_association: 'NONE',
    };
    record.comments.push(comment);
    this.touch(record, now);
    return { status: 201, body: structuredClone(comment), headers: { location: comment.url } };
  }

  private list(repo: RepoState, query: URLSearchParams): Answer {
    const docs = `${DOCS}/issues/issues#list-repository-issues`;
    const state = query.get('state') ?? 'open';
    const sort = query.get('sort') ?? 'created';
    const direction = query.get('direction') ?? 'desc';
    const bad: Json[] = [];
    if (!['open', 'closed', 'all'].includes(state))
      bad.push({ value: state, resource: 'Issue', field: 'state', code: 'invalid' });
    if (!['created', 'updated', 'comments'].includes(sort))
      bad.push({ value: sort, resource: 'Issue', field: 'sort', code: 'invalid' });
    if (!['asc', 'desc'].includes(direction))
      bad.push({ value: direction, resource: 'Issue', field: 'direction', code: 'invalid' });
    if (bad.length > 0) return validationFailed(bad, docs);
    const wanted = (query.get('labels') ?? '')
      .split(',')
      .map((l) => l.trim().toLowerCase())
      .filter((l) => l !== '');
    const since = query.has('since') ? Date.parse(query.get('since') as string) : Number.NaN;
    const key = (r: IssueRecord) =>
      sort === 'updated' ? r.updatedMs : sort === 'comments' ? r.comments.length : r.createdMs;
    const sign = direction === 'asc' ? 1 : -1;
    const matching = repo.issues
      .filter(
        (r) =>
          (state === 'all' || r.json.state === state) &&
          wanted.every((w) => r.json.labels.some((l) => l.name.toLowerCase() === w)) &&
          (Number.isNaN(since) || r.updatedMs >= since),
      )
      .sort((a, b) => sign * (key(a) - key(b) || a.json.number - b.json.number))
      .map((r) => this.render(r));
    return this.page(matching, query, `${this.url}/repositories/${repo.id}/issues`);
  }

  /** One page of `items` with GitHub's Link header (prev, next, last, first). */
  private page(items: unknown[], query: URLSearchParams, linkBase: string): Answer {
    const perPageRaw = Number.parseInt(query.get('per_page') ?? '', 10);
    const perPage =
      Number.isNaN(perPageRaw) || perPageRaw < 1
        ? LIMITS.defaultPerPage
        : Math.min(perPageRaw, LIMITS.perPage);
    const pageRaw = Number.parseInt(query.get('page') ?? '', 10);
    const page = Number.isNaN(pageRaw) || pageRaw < 1 ? 1 : pageRaw;
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const body = items.slice((page - 1) * perPage, page * perPage);
    const link = (p: number, rel: string) => {
      const params = new URLSearchParams(query);
      params.set('page', String(p));
      return `<${linkBase}?${params.toString()}>; rel="${rel}"`;
    };
    const links: string[] = [];
    if (page > 1) links.push(link(Math.min(page - 1, last), 'prev'));
    if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'));
    if (page > 1) links.push(link(1, 'first'));
    return { status: 200, body, headers: links.length > 0 ? { link: links.join(', ') } : {} };
  }
}

// ---- wire helpers -----------------------------------------------------------------------------------

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

function testRe(re: RegExp, s: string): boolean {
  re.lastIndex = 0;
  return re.test(s);
}

function newRequestId(): string {
  const hex = (bytes: number, len: number) => randomBytes(bytes).toString('hex').slice(0, len).toUpperCase();
  return `${hex(2, 4)}:${hex(3, 5)}:${hex(4, 7)}:${hex(4, 7)}:${Math.floor(Date.now() / 1000)
    .toString(16)
    .toUpperCase()}`;
}

function nodeId(kind: string, id: number): string {
  return `${kind}_kwDO${Buffer.from(`fake:${id}`).toString('base64url')}`;
}

function error(message: string, status: number, documentation_url = DOCS): Json {
  return { message, documentation_url, status: String(status) };
}

function notFound(): Answer {
  return { status: 404, body: error('Not Found', 404) };
}

function secondaryBody(requestId: string, status: number): Json {
  return {
    message: `You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID ${requestId}.`,
    documentation_url: `${RATE_DOCS}#about-secondary-rate-limits`,
    status: String(status),
  };
}

function validationFailed(errors: Json[], docs: string): Answer {
  return {
    status: 422,
    body: { message: 'Validation Failed', errors, documentation_url: docs, status: '422' },
  };
}

function invalidRequest(property: string, value: unknown, expected: string, docs: string): Answer {
  return {
    status: 422,
    body: {
      message: `Invalid request.\n\nFor 'properties/${property}', ${JSON.stringify(value)} is not ${expected}.`,
      documentation_url: docs,
      status: '422',
    },
  };
}

/** Schema checks (GitHub answers these with "Invalid request" before validating values). */
function checkTypes(args: Json, docs: string): Answer | undefined {
  const { title, body, labels, assignees, milestone: ms, state, state_reason } = args;
  if (title !== undefined && typeof title !== 'string' && !Number.isInteger(title))
    return invalidRequest('title', title, 'a string or an integer', docs);
  if (body !== undefined && body !== null && typeof body !== 'string')
    return invalidRequest('body', body, 'a string or null', docs);
  if (labels !== undefined) {
    if (!Array.isArray(labels)) return invalidRequest('labels', labels, 'an array', docs);
    for (const l of labels) {
      const named = typeof l === 'object' && l !== null && typeof (l as Json).name === 'string';
      if (typeof l !== 'string' && !named)
        return invalidRequest('labels', l, 'a string or an object with a name', docs);
    }
  }
  if (assignees !== undefined && assignees !== null) {
    if (!Array.isArray(assignees)) return invalidRequest('assignees', assignees, 'an array', docs);
    for (const a of assignees)
      if (typeof a !== 'string') return invalidRequest('assignees', a, 'a string', docs);
  }
  if (ms !== undefined && ms !== null && typeof ms !== 'string' && !Number.isInteger(ms))
    return invalidRequest('milestone', ms, 'a string, an integer or null', docs);
  if (state !== undefined && typeof state !== 'string')
    return invalidRequest('state', state, 'a string', docs);
  if (state_reason !== undefined && state_reason !== null && typeof state_reason !== 'string')
    return invalidRequest('state_reason', state_reason, 'a string or null', docs);
  if (
    state_reason !== undefined &&
    state_reason !== null &&
    !['completed', 'not_planned', 'reopened'].includes(state_reason as string)
  )
    return {
      status: 422,
      body: {
        message: `Invalid request.\n\nFor 'properties/state_reason', ${JSON.stringify(state_reason)} is not one of ["completed", "not_planned", "reopened", null].`,
        documentation_url: docs,
        status: '422',
      },
    };
  return undefined;
}

/** Value checks after the types are right: title, body, label names. */
function fieldErrors(args: Json, creating: boolean): Json[] {
  const errors: Json[] = [];
  const title = args.title === undefined ? undefined : String(args.title);
  if ((creating && title === undefined) || title === '')
    errors.push({ resource: 'Issue', code: 'missing_field', field: 'title' });
  else if (title !== undefined && chars(title) > LIMITS.title)
    errors.push({
      resource: 'Issue',
      code: 'custom',
      field: 'title',
      message: `title is too long (maximum is ${LIMITS.title} characters)`,
    });
  if (typeof args.body === 'string' && chars(args.body) > LIMITS.body)
    errors.push({
      resource: 'Issue',
      code: 'custom',
      field: 'body',
      message: `body is too long (maximum is ${LIMITS.body} characters)`,
    });
  const ms = args.milestone;
  if (ms !== undefined && ms !== null && !(Number.isInteger(Number(ms)) && Number(ms) > 0))
    errors.push({ value: ms, resource: 'Issue', field: 'milestone', code: 'invalid' });
  for (const name of labelNames(args.labels))
    if (name.trim() === '' || chars(name) > LIMITS.label)
      errors.push({ resource: 'Label', code: 'invalid', field: 'name' });
  return errors;
}

function labelNames(labels: unknown): string[] {
  if (!Array.isArray(labels)) return [];
  return labels.map((l) => (typeof l === 'string' ? l : String((l as Json).name)));
}

function dedupe(labels: GitHubLabel[]): GitHubLabel[] {
  const seen = new Set<number>();
  return labels.filter((l) => {
    if (seen.has(l.id)) return false;
    seen.add(l.id);
    return true;
  });
}

function assignee(login: string): GitHubUser {
  let id = 0;
  for (const ch of login) id = (id * 31 + (ch.codePointAt(0) ?? 0)) % 100_000_000;
  return { login, id: id + 1000, type: 'User' };
}

function milestone(value: unknown): GitHubIssue['milestone'] {
  if (value === undefined || value === null) return null;
  const number = Number(value);
  return { number, title: `Milestone ${number}` };
}
