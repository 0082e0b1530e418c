// A fake Jira (Cloud or Data Center) for tests and benchmarks: plain HTTP on 127.0.0.1 speaking the REST
// wire format a ticketing channel uses — create, read and edit issues, comments, workflow transitions,
// issue links and JQL search. Cloud serves /rest/api/3 (descriptions and comments in Atlassian Document
// Format) with HTTP Basic `email:apiToken`; Data Center serves /rest/api/2 (plain strings) with
// `Authorization: Bearer <PAT>`. Errors have Jira's shape `{errorMessages: [...], errors: {field: msg}}`.
//
// It checks what real Jira checks and what a sender gets wrong: credentials (401), fields that are not
// on the create/edit screen (Jira's "cannot be set" 400), project, issue type, priority, components,
// labels without spaces, summary ≤ 255 characters without newlines, description/comment ≤ 32,767
// characters, ADF documents validated against the node/mark schema (a string on Cloud is rejected),
// transitions only from the statuses that offer them, and JQL: only a conjunction of clauses on
// project, labels, status, statusCategory and resolution is understood, values must exist, and the
// empty-field semantics are Jira's (`resolution != "Won't Do"` does not match unresolved issues). On
// Cloud the old /search answers 410 Gone and /search/jql paginates with an opaque nextPageToken and,
// without `fields`, returns only issue ids. Search is eventually consistent when `searchLagMs` is set:
// it sees each issue as it was that long ago (a new issue is missing) unless the Cloud request lists
// its id in `reconcileIssues`. It can be told to fail on purpose: 429 with Retry-After, HTTP 5xx (502
// and 503 with an HTML body, as from Atlassian's edge), or a delayed answer (the request is applied,
// the client may time out first).
import type http from 'node:http';
import { closeLoopback, listenLoopback } from '../helpers/loopback.js';

type Json = Record<string, unknown>;

export type JiraDeployment = 'cloud' | 'datacenter';
export type StatusCategoryKey = 'new' | 'indeterminate' | 'done';

export interface FakeJiraProject {
  key: string;
  name?: string;
  /** Default ['Task', 'Bug']. */
  issueTypes?: string[];
  /** Default []. */
  components?: string[];
}

export interface FakeJiraStatus {
  name: string;
  category: StatusCategoryKey;
}

export interface FakeJiraTransition {
  id: string;
  name: string;
  /** Target status name. */
  to: string;
  /**
   * Where it is offered: status names, 'open' (every status whose category is not done) or 'done' (every
   * done status). Default: every status other than `to`.
   */
  from?: string[] | 'open' | 'done';
  /** Resolution set when it leads into a done status and the request sets none. */
  resolution?: string;
  /** Fields on its screen, which the POST may set in `fields`. Default none. */
  screen?: string[];
}

export interface FakeJiraOptions {
  /** Default 'cloud'. */
  deployment?: JiraDeployment;
  /** Cloud Basic auth user. Default 'bot@example.com'. */
  email?: string;
  /** Cloud Basic auth password. Default 'jira-api-token'. */
  apiToken?: string;
  /** Data Center personal access token. Default 'jira-pat'. */
  pat?: string;
  projects?: FakeJiraProject[];
  priorities?: string[];
  resolutions?: string[];
  /** Field ids on the create/edit screen. */
  screenFields?: string[];
  /** Search sees issues as they were this long ago (new ones are missing). Default 0. */
  searchLagMs?: number;
  /** The workflow's statuses; the first is where issues are created. */
  statuses?: FakeJiraStatus[];
  transitions?: FakeJiraTransition[];
  /** serverInfo's deploymentType. Default 'Cloud', or 'Server' for Data Center (which answers 'Server'). */
  deploymentTypeName?: string;
  /** serverInfo's version. */
  version?: string;
  /** Time source (ms since the epoch) for timestamps and the search lag. Default Date.now. */
  clock?: () => number;
}

export type JiraFault =
  | { status: 429; retryAfter: number }
  | { status: 500 | 502 | 503 }
  /** Handle the request (the issue is created, the transition applied) but answer only after `delayMs`. */
  | { delayMs: number };

export interface JiraCall {
  method: string;
  /** Path without the query string. */
  path: string;
  /** Query parameters (repeated ones joined with commas). */
  query: Record<string, string>;
  /** HTTP status answered (or to be answered, for a delayed call). */
  status: number;
  at: number;
  /** Parsed JSON body (the raw text when it was not JSON). */
  body?: unknown;
}

export interface JiraStatusJson {
  self: string;
  id: string;
  name: string;
  statusCategory: { self: string; id: number; key: StatusCategoryKey; name: string; colorName: string };
}

export interface JiraCommentJson {
  self: string;
  id: string;
  author: { displayName: string; active: boolean; accountId?: string; name?: string };
  body: unknown;
  created: string;
  updated: string;
}

export interface JiraIssueLinkJson {
  id: string;
  self: string;
  type: { id: string; name: string; inward: string; outward: string };
  inwardIssue?: { id: string; key: string; self: string };
  outwardIssue?: { id: string; key: string; self: string };
}

export interface JiraIssueFields {
  summary: string;
  /** ADF document (Cloud) or string (Data Center), or null. */
  description: unknown;
  labels: string[];
  priority: { self: string; id: string; name: string } | null;
  components: { self: string; id: string; name: string }[];
  issuetype: { self: string; id: string; name: string; subtask: boolean };
  project: { self: string; id: string; key: string; name: string };
  status: JiraStatusJson;
  resolution: { self: string; id: string; name: string } | null;
  resolutiondate: string | null;
  created: string;
  updated: string;
  issuelinks: JiraIssueLinkJson[];
  comment: { comments: JiraCommentJson[]; total: number; maxResults: number; startAt: number };
  [customField: string]: unknown;
}

export interface JiraIssueJson {
  id: string;
  key: string;
  self: string;
  fields: JiraIssueFields;
}

export const DEFAULT_STATUSES: readonly FakeJiraStatus[] = [
  { name: 'To Do', category: 'new' },
  { name: 'In Progress', category: 'indeterminate' },
  { name: 'Done', category: 'done' },
];

export const DEFAULT_TRANSITIONS: readonly FakeJiraTransition[] = [
  { id: '31', name: 'Done', to: 'Done', from: 'open', resolution: 'Done', screen: ['resolution'] },
  { id: '41', name: "Won't Do", to: 'Done', from: 'open', resolution: "Won't Do", screen: ['resolution'] },
  { id: '21', name: 'In Progress', to: 'In Progress', from: ['To Do'] },
  // Into a non-done status: clears resolution and resolutiondate.
  { id: '51', name: 'Reopen', to: 'To Do', from: 'done' },
];

export const DEFAULT_SCREEN_FIELDS: readonly string[] = [
  'project',
  'issuetype',
  'summary',
  'description',
  'labels',
  'priority',
  'components',
  'customfield_10010',
];

export const LINK_TYPES: readonly { id: string; name: string; inward: string; outward: string }[] = [
  { id: '10000', name: 'Blocks', inward: 'is blocked by', outward: 'blocks' },
  { id: '10001', name: 'Cloners', inward: 'is cloned by', outward: 'clones' },
  { id: '10002', name: 'Duplicate', inward: 'is duplicated by', outward: 'duplicates' },
  { id: '10003', name: 'Relates', inward: 'relates to', outward: 'relates to' },
];

const CATEGORIES = {
  new: { id: 2, key: 'new', name: 'To Do', colorName: 'blue-gray' },
  indeterminate: { id: 4, key: 'indeterminate', name: 'In Progress', colorName: 'yellow' },
  done: { id: 3, key: 'done', name: 'Done', colorName: 'green' },
} as const;

const NOT_AUTHENTICATED = 'You are not authenticated. Authentication required to perform this operation.';
const NO_ISSUE = 'Issue does not exist or you do not have permission to see it.';
const SEARCH_REMOVED =
  'The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046';
const TOO_LONG = 'The entered text is too long. It exceeds the allowed limit of 32,767 characters.';
const NOT_ADF = 'Operation value must be an Atlassian Document (see the Atlassian Document Format)';
const TEXT_LIMIT = 32_767;
const AUTHOR = 'license-monitor';

const notOnScreen = (field: string) =>
  `Field '${field}' cannot be set. It is not on the appropriate screen, or unknown.`;

interface ProjectDef {
  id: string;
  key: string;
  name: string;
  issueTypes: string[];
  components: string[];
}

interface CommentState {
  id: string;
  body: unknown;
  created: number;
  updated: number;
}

interface IssueState {
  id: string;
  key: string;
  project: string;
  issuetype: string;
  summary: string;
  description: unknown;
  labels: string[];
  priority: string | null;
  components: string[];
  custom: Record<string, unknown>;
  status: string;
  resolution: string | null;
  resolutiondate: number | null;
  created: number;
  updated: number;
  comments: CommentState[];
}

interface StoredIssue {
  current: IssueState;
  /** What the search index holds, oldest first: a copy after every change. */
  versions: { at: number; state: IssueState }[];
}

interface LinkState {
  id: string;
  type: (typeof LINK_TYPES)[number];
  /** Issue ids as sent in the request's inwardIssue / outwardIssue. */
  inward: string;
  outward: string;
}

interface Reply {
  status: number;
  body?: unknown;
  /** A non-JSON body (HTML from the edge). */
  html?: string;
  headers?: Record<string, string>;
}

interface FieldValues {
  project?: ProjectDef;
  issuetype?: string;
  summary?: string;
  description?: unknown;
  labels?: string[];
  priority?: string | null;
  components?: string[];
  custom: Record<string, unknown>;
}

type RouteName =
  | 'serverInfo'
  | 'myself'
  | 'createIssue'
  | 'issue'
  | 'comment'
  | 'transitions'
  | 'searchRemoved'
  | 'searchDc'
  | 'searchJql'
  | 'issueLink';

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const fail = (status: number, errorMessages: string[], errors: Record<string, string> = {}): Reply => ({
  status,
  body: { errorMessages, errors },
});

/** Jira's timestamp format: `2026-11-28T14:00:00.000+0000`. */
export function jiraTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000');
}

export class FakeJira {
  readonly deployment: JiraDeployment;
  readonly email: string;
  readonly apiToken: string;
  readonly pat: string;
  readonly calls: JiraCall[] = [];
  url = '';
  private searchLag: number;
  private readonly now: () => number;
  private readonly projects: ProjectDef[];
  private readonly statuses: FakeJiraStatus[];
  private readonly transitionDefs: FakeJiraTransition[];
  private readonly priorities: string[];
  private readonly resolutions: string[];
  private readonly screen: Set<string>;
  private readonly issueTypeIds = new Map<string, string>();
  private readonly componentIds = new Map<string, string>();
  private readonly stored: StoredIssue[] = [];
  private readonly links: LinkState[] = [];
  private readonly faults: { fault: JiraFault; match?: { method?: string; path?: RegExp } }[] = [];
  private readonly keyCounters = new Map<string, number>();
  private nextIssueId = 10001;
  private nextCommentId = 10000;
  private nextLinkId = 10000;
  private server!: http.Server;
  private readonly pendingTimers = new Set<NodeJS.Timeout>();

  private constructor(private readonly options: FakeJiraOptions) {
    this.deployment = options.deployment ?? 'cloud';
    this.email = options.email ?? 'bot@example.com';
    this.apiToken = options.apiToken ?? 'jira-api-token';
    this.pat = options.pat ?? 'jira-pat';
    this.searchLag = options.searchLagMs ?? 0;
    this.now = options.clock ?? Date.now;
    this.projects = (
      options.projects ?? [{ key: 'LIC', issueTypes: ['Task', 'Bug'], components: ['Licensing'] }]
    ).map((p, i) => ({
      id: String(10000 + i),
      key: p.key,
      name: p.name ?? p.key,
      issueTypes: p.issueTypes ?? ['Task', 'Bug'],
      components: p.components ?? [],
    }));
    for (const p of this.projects) {
      for (const t of p.issueTypes)
        if (!this.issueTypeIds.has(t)) this.issueTypeIds.set(t, String(10100 + this.issueTypeIds.size));
      for (const c of p.components)
        this.componentIds.set(`${p.key}/${c}`, String(10200 + this.componentIds.size));
    }
    this.statuses = [...(options.statuses ?? DEFAULT_STATUSES)];
    this.transitionDefs = [...(options.transitions ?? DEFAULT_TRANSITIONS)];
    this.priorities = options.priorities ?? ['Highest', 'High', 'Medium', 'Low', 'Lowest'];
    this.resolutions = options.resolutions ?? ['Done', "Won't Do", 'Duplicate', 'Cannot Reproduce'];
    this.screen = new Set(options.screenFields ?? DEFAULT_SCREEN_FIELDS);
    if (this.statuses.length === 0) throw new Error('FakeJira: at least one status');
    for (const t of this.transitionDefs) {
      if (!this.statusDef(t.to))
        throw new Error(`FakeJira: transition ${t.name} leads to unknown status ${t.to}`);
      if (t.resolution !== undefined && !this.resolutions.includes(t.resolution))
        throw new Error(`FakeJira: transition ${t.name} sets unknown resolution ${t.resolution}`);
    }
  }

  static async start(options: FakeJiraOptions = {}): Promise<FakeJira> {
    const fake = new FakeJira(options);
    const { server, url } = await listenLoopback((req, res) => fake.handle(req, res));
    fake.server = server;
    fake.url = url;
    return fake;
  }

  /** `<url>/rest/api/3` on Cloud, `<url>/rest/api/2` on Data Center. */
  get apiBase(): string {
    return `${this.url}/rest/api/${this.apiVersion}`;
  }

  /** The Authorization header value the fake accepts. */
  get authorization(): string {
    return this.deployment === 'cloud'
      ? `Basic ${Buffer.from(`${this.email}:${this.apiToken}`).toString('base64')}`
      : `Bearer ${this.pat}`;
  }

  get searchLagMs(): number {
    return this.searchLag;
  }

  set searchLagMs(ms: number) {
    this.searchLag = ms;
  }

  setSearchLag(ms: number): void {
    this.searchLag = ms;
  }

  /** The next `count` requests (matching `match`, if given) fail with `fault`. */
  failNext(fault: JiraFault, count = 1, match?: { method?: string; path?: RegExp }): void {
    for (let i = 0; i < count; i++) this.faults.push(match === undefined ? { fault } : { fault, match });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  callsTo(method: string, path: RegExp): JiraCall[] {
    return this.calls.filter((c) => c.method === method.toUpperCase() && path.test(c.path));
  }

  /** Every issue in creation order, as GET /issue/{key} would answer it (with comments and links). */
  issues(): JiraIssueJson[] {
    return this.stored.map((s) => this.issueJson(s.current, () => true));
  }

  issue(keyOrId: string): JiraIssueJson | undefined {
    const s = this.find(keyOrId);
    return s ? this.issueJson(s.current, () => true) : undefined;
  }

  /** The issue's comments as plain text, oldest first. */
  comments(keyOrId: string): string[] {
    return this.mustFind(keyOrId).current.comments.map((c) => plainText(c.body));
  }

  /** Applies a transition by name as a person in the UI would (with its default resolution). */
  humanTransition(keyOrId: string, transitionName: string): void {
    const s = this.mustFind(keyOrId);
    const t = this.available(s.current).find((x) => x.name === transitionName);
    if (!t)
      throw new Error(
        `FakeJira: transition '${transitionName}' is not available for ${s.current.key} in '${s.current.status}'`,
      );
    this.applyTransition(s, t, t.resolution ?? null);
  }

  /** Moves the issue's resolutiondate `ms` into the past (also in the search index). */
  backdateResolution(keyOrId: string, ms: number): void {
    const s = this.mustFind(keyOrId);
    const old = s.current.resolutiondate;
    if (old === null) throw new Error(`FakeJira: ${s.current.key} is not resolved`);
    for (const state of [s.current, ...s.versions.map((v) => v.state)])
      if (state.resolutiondate === old) state.resolutiondate = old - ms;
  }

  /** Forgets issues, links, calls and faults; the search lag goes back to the option's value. */
  reset(): void {
    this.stored.length = 0;
    this.links.length = 0;
    this.calls.length = 0;
    this.faults.length = 0;
    this.keyCounters.clear();
    this.nextIssueId = 10001;
    this.nextCommentId = 10000;
    this.nextLinkId = 10000;
    this.searchLag = this.options.searchLagMs ?? 0;
  }

  async close(): Promise<void> {
    for (const t of this.pendingTimers) clearTimeout(t);
    this.pendingTimers.clear();
    await closeLoopback(this.server);
  }

  // ---- HTTP ----

  private get apiVersion(): '2' | '3' {
    return this.deployment === 'cloud' ? '3' : '2';
  }

  private takeFault(method: string, path: string): JiraFault | undefined {
    const i = this.faults.findIndex(
      (f) =>
        (f.match?.method === undefined || f.match.method.toUpperCase() === method) &&
        (f.match?.path === undefined || f.match.path.test(path)),
    );
    if (i < 0) return undefined;
    return (this.faults.splice(i, 1)[0] as { fault: JiraFault }).fault;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    const method = (req.method ?? 'GET').toUpperCase();
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
    const call: JiraCall = { method, path: url.pathname, query, status: 0, at: this.now() };
    let body: unknown;
    let bodyError: string | undefined;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
        call.body = body;
      } catch (err) {
        bodyError = (err as Error).message;
        call.body = raw;
      }
    }
    this.calls.push(call);

    const send = (reply: Reply) => {
      if (reply.html !== undefined) {
        res.writeHead(reply.status, { 'Content-Type': 'text/html;charset=UTF-8', ...reply.headers });
        res.end(reply.html);
      } else if (reply.body === undefined) {
        res.writeHead(reply.status, reply.headers).end();
      } else {
        res.writeHead(reply.status, { 'Content-Type': 'application/json;charset=UTF-8', ...reply.headers });
        res.end(JSON.stringify(reply.body));
      }
    };

    const fault = this.takeFault(method, url.pathname);
    let reply: Reply;
    if (fault && 'status' in fault) {
      if (fault.status === 429)
        reply = {
          status: 429,
          body: { errorMessages: ['Rate limit exceeded.'] },
          headers: { 'Retry-After': String(fault.retryAfter) },
        };
      else if (fault.status === 500) reply = fail(500, ['Internal server error']);
      else
        reply = {
          status: fault.status,
          html: `<html><head><title>${fault.status}</title></head><body><h1>${fault.status} ${
            fault.status === 502 ? 'Bad Gateway' : 'Service Unavailable'
          }</h1></body></html>`,
        };
    } else {
      reply = this.dispatch(req, method, url, raw, body, bodyError);
    }
    call.status = reply.status;
    if (fault && 'delayMs' in fault) {
      const timer = setTimeout(() => {
        this.pendingTimers.delete(timer);
        send(reply);
      }, fault.delayMs);
      this.pendingTimers.add(timer);
      return;
    }
    send(reply);
  }

  private route(
    version: string,
    rest: string,
  ): { name: RouteName; key?: string; methods: string[] } | undefined {
    const cloud = this.deployment === 'cloud';
    // Data Center has no /rest/api/3.
    if (!cloud && version === '3') return undefined;
    const seg = rest.split('/');
    let r: { name: RouteName; key?: string; methods: string[] } | undefined;
    if (rest === 'serverInfo') r = { name: 'serverInfo', methods: ['GET'] };
    else if (rest === 'myself') r = { name: 'myself', methods: ['GET'] };
    else if (rest === 'issue') r = { name: 'createIssue', methods: ['POST'] };
    else if (rest === 'issueLink') r = { name: 'issueLink', methods: ['POST'] };
    else if (rest === 'search') r = { name: cloud ? 'searchRemoved' : 'searchDc', methods: ['GET', 'POST'] };
    else if (rest === 'search/jql' && cloud) r = { name: 'searchJql', methods: ['GET', 'POST'] };
    else if (seg[0] === 'issue' && seg[1]) {
      const key = decodeURIComponent(seg[1]);
      if (seg.length === 2) r = { name: 'issue', key, methods: ['GET', 'PUT'] };
      else if (seg.length === 3 && seg[2] === 'comment')
        r = { name: 'comment', key, methods: ['GET', 'POST'] };
      else if (seg.length === 3 && seg[2] === 'transitions')
        r = { name: 'transitions', key, methods: ['GET', 'POST'] };
    }
    if (!r) return undefined;
    // Kept simple: Cloud serves /rest/api/3, plus serverInfo and the removed search on /rest/api/2.
    if (cloud && version === '2' && r.name !== 'serverInfo' && r.name !== 'searchRemoved') return undefined;
    return r;
  }

  private authenticate(header: string | undefined, anonymousAllowed: boolean): Reply | undefined {
    if (header === undefined && anonymousAllowed) return undefined;
    const denied = fail(401, [NOT_AUTHENTICATED]);
    if (!header) return denied;
    if (this.deployment === 'cloud') {
      const m = /^Basic\s+(\S+)$/i.exec(header);
      if (!m) return denied;
      const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
      return decoded === `${this.email}:${this.apiToken}` ? undefined : denied;
    }
    return header === `Bearer ${this.pat}` ? undefined : denied;
  }

  private dispatch(
    req: http.IncomingMessage,
    method: string,
    url: URL,
    raw: string,
    body: unknown,
    bodyError: string | undefined,
  ): Reply {
    const path = url.pathname;
    const m = /^\/rest\/api\/(2|3)\/(.+?)\/?$/.exec(path);
    const route = m ? this.route(m[1] as string, m[2] as string) : undefined;
    if (!route) return fail(404, [`No resource found for ${method} ${path}`]);
    // serverInfo answers anonymous requests (as real Jira does); wrong credentials are still a 401.
    const denied = this.authenticate(req.headers.authorization, route.name === 'serverInfo');
    if (denied) return denied;
    if (!route.methods.includes(method))
      return {
        ...fail(405, [`Method ${method} is not allowed for ${path}`]),
        headers: { Allow: route.methods.join(', ') },
      };
    if (method === 'POST' || method === 'PUT') {
      const type = req.headers['content-type'] ?? '';
      if (raw.length > 0 && !/^application\/json\b/i.test(type)) return fail(415, ['Unsupported Media Type']);
      if (bodyError !== undefined) return fail(400, [`Unexpected character in JSON body: ${bodyError}`]);
      if (raw.length === 0 && route.name !== 'searchRemoved')
        return fail(400, ['No content to map due to end-of-input']);
    }
    const params = url.searchParams;
    switch (route.name) {
      case 'serverInfo':
        return { status: 200, body: this.serverInfo() };
      case 'myself':
        return { status: 200, body: this.myself() };
      case 'createIssue':
        return this.createIssue(body);
      case 'searchRemoved':
        return fail(410, [SEARCH_REMOVED]);
      case 'searchJql':
        return this.searchJql(method === 'POST' ? body : undefined, params);
      case 'searchDc':
        return this.searchDc(method === 'POST' ? body : undefined, params);
      case 'issueLink':
        return this.createLink(body);
    }
    const s = this.find(route.key as string);
    if (!s) return fail(404, [NO_ISSUE]);
    switch (route.name) {
      case 'issue':
        if (method === 'GET')
          return { status: 200, body: this.issueJson(s.current, fieldFilter(params.get('fields'), 'all')) };
        return this.editIssue(s, body);
      case 'comment':
        return method === 'GET' ? this.listComments(s, params) : this.addComment(s, body);
      case 'transitions':
        return method === 'GET'
          ? {
              status: 200,
              body: {
                expand: 'transitions',
                transitions: this.available(s.current).map((t) => this.transitionJson(t)),
              },
            }
          : this.transition(s, body);
    }
    return fail(404, [`No resource found for ${method} ${path}`]);
  }

  // ---- Endpoints ----

  private serverInfo(): Json {
    const cloud = this.deployment === 'cloud';
    const version = this.options.version ?? (cloud ? '1001.0.0-SNAPSHOT' : '9.12.15');
    return {
      baseUrl: this.url,
      version,
      versionNumbers: version.split(/[.-]/).slice(0, 3).map(Number),
      // Data Center reports itself as 'Server'.
      deploymentType: this.options.deploymentTypeName ?? (cloud ? 'Cloud' : 'Server'),
      buildNumber: cloud ? 100_284 : 9_120_015,
      buildDate: '2026-01-01T00:00:00.000+0000',
      serverTime: jiraTime(this.now()),
      scmInfo: 'fake',
      serverTitle: 'Jira',
    };
  }

  private myself(): Json {
    if (this.deployment === 'cloud')
      return {
        self: `${this.apiBase}/user?accountId=557058:fake-license-monitor`,
        accountId: '557058:fake-license-monitor',
        accountType: 'atlassian',
        emailAddress: this.email,
        displayName: AUTHOR,
        active: true,
        timeZone: 'Etc/UTC',
      };
    return {
      self: `${this.apiBase}/user?username=${AUTHOR}`,
      key: 'JIRAUSER10000',
      name: AUTHOR,
      emailAddress: `${AUTHOR}@example.com`,
      displayName: AUTHOR,
      active: true,
      timeZone: 'Etc/UTC',
    };
  }

  private createIssue(body: unknown): Reply {
    if (!isObject(body)) return fail(400, ['The request body must be a JSON object.']);
    const { fields = {}, update = {} } = body;
    if (!isObject(fields) || !isObject(update))
      return fail(400, ["'fields' and 'update' must be JSON objects."]);
    const checked = this.checkFields(fields, update, undefined);
    if ('errors' in checked) return fail(400, [], checked.errors);
    const v = checked.values;
    const project = v.project as ProjectDef;
    const n = (this.keyCounters.get(project.key) ?? 0) + 1;
    this.keyCounters.set(project.key, n);
    const at = this.now();
    const state: IssueState = {
      id: String(this.nextIssueId++),
      key: `${project.key}-${n}`,
      project: project.key,
      issuetype: v.issuetype as string,
      summary: v.summary as string,
      description: v.description ?? null,
      labels: v.labels ?? [],
      priority:
        v.priority !== undefined
          ? v.priority
          : this.priorities.includes('Medium')
            ? 'Medium'
            : (this.priorities[0] ?? null),
      components: v.components ?? [],
      custom: v.custom,
      status: (this.statuses[0] as FakeJiraStatus).name,
      resolution: null,
      resolutiondate: null,
      created: at,
      updated: at,
      comments: [],
    };
    const stored: StoredIssue = { current: state, versions: [] };
    this.stored.push(stored);
    this.reindex(stored);
    return { status: 201, body: { id: state.id, key: state.key, self: this.issueSelf(state.id) } };
  }

  private editIssue(s: StoredIssue, body: unknown): Reply {
    if (!isObject(body)) return fail(400, ['The request body must be a JSON object.']);
    const { fields = {}, update = {} } = body;
    if (!isObject(fields) || !isObject(update))
      return fail(400, ["'fields' and 'update' must be JSON objects."]);
    const checked = this.checkFields(fields, update, s.current);
    if ('errors' in checked) return fail(400, [], checked.errors);
    const v = checked.values;
    const state = s.current;
    if (v.issuetype !== undefined) state.issuetype = v.issuetype;
    if (v.summary !== undefined) state.summary = v.summary;
    if (v.description !== undefined) state.description = v.description;
    if (v.labels !== undefined) state.labels = v.labels;
    if (v.priority !== undefined) state.priority = v.priority;
    if (v.components !== undefined) state.components = v.components;
    Object.assign(state.custom, v.custom);
    for (const c of checked.comments) this.pushComment(state, c);
    state.updated = this.now();
    this.reindex(s);
    return { status: 204 };
  }

  private listComments(s: StoredIssue, params: URLSearchParams): Reply {
    const startAt = Math.max(0, Number(params.get('startAt') ?? 0) || 0);
    const maxResults = Math.max(0, Number(params.get('maxResults') ?? 5000) || 0);
    const all = s.current.comments.map((c) => this.commentJson(s.current, c));
    if (params.get('orderBy') === '-created') all.reverse();
    return {
      status: 200,
      body: { startAt, maxResults, total: all.length, comments: all.slice(startAt, startAt + maxResults) },
    };
  }

  private addComment(s: StoredIssue, body: unknown): Reply {
    if (!isObject(body)) return fail(400, ['The request body must be a JSON object.']);
    const problem = this.checkText(body.body, true);
    if (problem) return fail(400, [], { comment: problem });
    const c = this.pushComment(s.current, body.body);
    s.current.updated = c.created;
    this.reindex(s);
    return { status: 201, body: this.commentJson(s.current, c) };
  }

  private transition(s: StoredIssue, body: unknown): Reply {
    if (!isObject(body)) return fail(400, ['The request body must be a JSON object.']);
    const t = isObject(body.transition) ? body.transition.id : undefined;
    if (typeof t !== 'string' && typeof t !== 'number') return fail(400, ["Missing 'transition' identifier"]);
    const def = this.available(s.current).find((x) => x.id === String(t));
    if (!def) return fail(400, [`Transition id '${t}' is not valid for this issue.`]);
    const { fields = {}, update = {} } = body;
    if (!isObject(fields) || !isObject(update))
      return fail(400, ["'fields' and 'update' must be JSON objects."]);
    const errors: Record<string, string> = {};
    let resolution = def.resolution ?? null;
    for (const [key, value] of Object.entries(fields)) {
      if (!(def.screen ?? []).includes(key)) errors[key] = notOnScreen(key);
      else if (key === 'resolution') {
        const name = isObject(value) ? value.name : undefined;
        const id = isObject(value) ? value.id : undefined;
        const found =
          typeof name === 'string'
            ? this.resolutions.find((r) => r === name)
            : typeof id === 'string'
              ? this.resolutions.find((_, i) => String(10000 + i) === id)
              : undefined;
        if (found === undefined)
          errors.resolution = "Could not find valid 'id' or 'name' in resolution object.";
        else resolution = found;
      }
    }
    const comments: unknown[] = [];
    for (const [key, ops] of Object.entries(update)) {
      if (key !== 'comment') {
        errors[key] = notOnScreen(key);
        continue;
      }
      if (!Array.isArray(ops)) {
        errors.comment = 'Operations on comment must be an array.';
        continue;
      }
      for (const op of ops) {
        if (!isObject(op) || !isObject(op.add))
          errors.comment = "Only the 'add' operation is supported on comment.";
        else {
          const problem = this.checkText(op.add.body, true);
          if (problem) errors.comment = problem;
          else comments.push(op.add.body);
        }
      }
    }
    if (Object.keys(errors).length > 0) return fail(400, [], errors);
    for (const c of comments) this.pushComment(s.current, c);
    this.applyTransition(s, def, resolution);
    return { status: 204 };
  }

  private createLink(body: unknown): Reply {
    if (!isObject(body)) return fail(400, ['The request body must be a JSON object.']);
    const t = body.type;
    const typeName = isObject(t) ? (t.name ?? t.id) : undefined;
    const type = isObject(t)
      ? LINK_TYPES.find((x) => (t.name !== undefined ? x.name === t.name : x.id === t.id))
      : undefined;
    if (!type) return fail(404, [`No issue link type with name '${String(typeName)}' found.`]);
    const ref = (v: unknown) =>
      isObject(v) && typeof (v.key ?? v.id) === 'string' ? this.find(String(v.key ?? v.id)) : undefined;
    const inward = ref(body.inwardIssue);
    const outward = ref(body.outwardIssue);
    if (!inward || !outward) return fail(404, [NO_ISSUE]);
    if (inward === outward) return fail(400, ['You cannot link an issue to itself.']);
    let comment: unknown;
    if (body.comment !== undefined) {
      comment = isObject(body.comment) ? body.comment.body : undefined;
      const problem = this.checkText(comment, true);
      if (problem) return fail(400, [], { comment: problem });
    }
    const exists = this.links.some(
      (l) => l.type === type && l.inward === inward.current.id && l.outward === outward.current.id,
    );
    if (!exists)
      this.links.push({
        id: String(this.nextLinkId++),
        type,
        inward: inward.current.id,
        outward: outward.current.id,
      });
    const at = this.now();
    // The fake puts the link's comment on the inward issue.
    if (comment !== undefined) this.pushComment(inward.current, comment);
    for (const s of [inward, outward]) {
      s.current.updated = at;
      this.reindex(s);
    }
    return { status: 201 };
  }

  private searchJql(body: unknown, params: URLSearchParams): Reply {
    let jql: unknown;
    let fields: unknown;
    let maxResults: unknown;
    let token: unknown;
    let reconcile: unknown;
    if (body !== undefined) {
      if (!isObject(body)) return fail(400, ['The request body must be a JSON object.']);
      const known = [
        'jql',
        'fields',
        'maxResults',
        'nextPageToken',
        'reconcileIssues',
        'expand',
        'properties',
        'fieldsByKeys',
        'failFast',
      ];
      for (const k of Object.keys(body))
        if (!known.includes(k))
          return fail(400, [
            `Unrecognized field "${k}" (class com.atlassian.jira.rest.v2.search.SearchAndReconcileRequestBean), not marked as ignorable`,
          ]);
      ({ jql, fields, maxResults, nextPageToken: token, reconcileIssues: reconcile } = body);
      if (fields !== undefined && (!Array.isArray(fields) || fields.some((f) => typeof f !== 'string')))
        return fail(400, ["'fields' must be an array of strings."]);
      if (
        reconcile !== undefined &&
        (!Array.isArray(reconcile) || reconcile.some((x) => !Number.isInteger(x)))
      )
        return fail(400, ["'reconcileIssues' must be an array of issue ids (numbers)."]);
    } else {
      jql = params.get('jql') ?? undefined;
      const f = params.getAll('fields').join(',');
      fields = f === '' ? undefined : f.split(',');
      maxResults = params.has('maxResults') ? Number(params.get('maxResults')) : undefined;
      token = params.get('nextPageToken') ?? undefined;
      const r = params.getAll('reconcileIssues').join(',');
      if (r !== '') {
        reconcile = r.split(',').map(Number);
        if ((reconcile as number[]).some((x) => !Number.isInteger(x)))
          return fail(400, ["'reconcileIssues' must be a comma-separated list of issue ids."]);
      }
    }
    if (jql !== undefined && typeof jql !== 'string') return fail(400, ["'jql' must be a string."]);
    if (maxResults !== undefined && !Number.isInteger(maxResults))
      return fail(400, ["'maxResults' must be an integer."]);
    if (token !== undefined && typeof token !== 'string')
      return fail(400, ["'nextPageToken' must be a string."]);
    const ids = (reconcile as number[] | undefined) ?? [];
    if (ids.length > 50) return fail(400, ['reconcileIssues accepts at most 50 issue ids.']);
    const query = this.parseQuery(jql ?? '');
    if ('reply' in query) return query.reply;
    if (query.q.clauses.length === 0)
      return fail(400, [
        'Unbounded JQL queries are not allowed here. Please add a search restriction to your query.',
      ]);
    let offset = 0;
    if (token !== undefined) {
      const decoded = decodeToken(token);
      if (!decoded || decoded.jql !== jql)
        return fail(400, ['The provided next page token is invalid or expired.']);
      offset = decoded.offset;
    }
    const wanted = fields === undefined ? undefined : fieldFilter((fields as string[]).join(','), 'none');
    const idOnly = (fields as string[] | undefined)?.every((f) => f === 'id' || f === 'key') ?? true;
    const limit = Math.min(Math.max(1, (maxResults as number | undefined) ?? 50), idOnly ? 5000 : 100);
    const hits = this.search(query.q, new Set(ids.map(String)));
    const page = hits.slice(offset, offset + limit);
    const out: Json = {
      issues: page.map((state) =>
        wanted ? { expand: '', ...this.issueJson(state, wanted) } : { id: state.id },
      ),
    };
    // Like Cloud: no nextPageToken key at all on the last page.
    if (offset + limit < hits.length) out.nextPageToken = encodeToken(offset + limit, jql as string);
    out.isLast = offset + limit >= hits.length;
    return { status: 200, body: out };
  }

  private searchDc(body: unknown, params: URLSearchParams): Reply {
    let jql: unknown;
    let fields: unknown;
    let maxResults: unknown;
    let startAt: unknown;
    if (body !== undefined) {
      if (!isObject(body)) return fail(400, ['The request body must be a JSON object.']);
      const known = [
        'jql',
        'startAt',
        'maxResults',
        'fields',
        'expand',
        'validateQuery',
        'properties',
        'fieldsByKeys',
      ];
      for (const k of Object.keys(body))
        if (!known.includes(k))
          return fail(400, [
            `Unrecognized field "${k}" (class com.atlassian.jira.rest.v2.search.SearchRequestBean), not marked as ignorable`,
          ]);
      ({ jql, fields, maxResults, startAt } = body);
      if (fields !== undefined && (!Array.isArray(fields) || fields.some((f) => typeof f !== 'string')))
        return fail(400, ["'fields' must be an array of strings."]);
    } else {
      jql = params.get('jql') ?? undefined;
      const f = params.getAll('fields').join(',');
      fields = f === '' ? undefined : f.split(',');
      maxResults = params.has('maxResults') ? Number(params.get('maxResults')) : undefined;
      startAt = params.has('startAt') ? Number(params.get('startAt')) : undefined;
    }
    if (jql !== undefined && typeof jql !== 'string') return fail(400, ["'jql' must be a string."]);
    if (maxResults !== undefined && !Number.isInteger(maxResults))
      return fail(400, ["'maxResults' must be an integer."]);
    if (startAt !== undefined && (!Number.isInteger(startAt) || (startAt as number) < 0))
      return fail(400, ["'startAt' must be a non-negative integer."]);
    const query = this.parseQuery(jql ?? '');
    if ('reply' in query) return query.reply;
    const wanted = fieldFilter(fields === undefined ? null : (fields as string[]).join(','), 'navigable');
    const from = (startAt as number | undefined) ?? 0;
    const limit = Math.min(Math.max(0, (maxResults as number | undefined) ?? 50), 1000);
    const hits = this.search(query.q, new Set());
    const expand = 'operations,editmeta,changelog,transitions';
    const page = hits
      .slice(from, from + limit)
      .map((state) => ({ expand, ...this.issueJson(state, wanted) }));
    return {
      status: 200,
      body: {
        expand: 'schema,names',
        startAt: from,
        maxResults: limit,
        total: hits.length,
        issues: page,
      },
    };
  }

  // ---- Model ----

  private parseQuery(jql: string): { q: JqlQuery } | { reply: Reply } {
    try {
      const q = parseJql(jql);
      this.checkJqlValues(q);
      return { q };
    } catch (err) {
      if (err instanceof JqlError) return { reply: fail(400, [err.message]) };
      throw err;
    }
  }

  private checkJqlValues(q: JqlQuery): void {
    for (const c of q.clauses)
      for (const v of c.values) {
        const x = v.toLowerCase();
        const ok =
          c.field === 'labels' ||
          (c.field === 'project' &&
            this.projects.some((p) => [p.key, p.name, p.id].some((y) => y.toLowerCase() === x))) ||
          (c.field === 'status' &&
            this.statuses.some((s, i) => s.name.toLowerCase() === x || String(10000 + i) === x)) ||
          (c.field === 'statusCategory' &&
            Object.values(CATEGORIES).some((k) => [k.key, k.name.toLowerCase(), String(k.id)].includes(x))) ||
          (c.field === 'resolution' &&
            (x === 'unresolved' ||
              this.resolutions.some((r, i) => r.toLowerCase() === x || String(10000 + i) === x)));
        if (!ok) throw new JqlError(`The value '${v}' does not exist for the field '${c.typed}'.`);
      }
  }

  private search(q: JqlQuery, reconcile: Set<string>): IssueState[] {
    const cutoff = this.now() - this.searchLag;
    const hits: IssueState[] = [];
    for (const s of this.stored) {
      let view: IssueState | undefined;
      if (reconcile.has(s.current.id)) view = s.current;
      else
        for (let i = s.versions.length - 1; i >= 0; i--) {
          const v = s.versions[i] as { at: number; state: IssueState };
          if (v.at <= cutoff) {
            view = v.state;
            break;
          }
        }
      if (view && q.clauses.every((c) => this.clauseMatches(c, view))) hits.push(view);
    }
    const dir = q.order === 'ASC' ? 1 : -1;
    return hits.sort((a, b) => dir * (a.created - b.created || Number(a.id) - Number(b.id)));
  }

  private clauseMatches(c: JqlClause, state: IssueState): boolean {
    // Each item a value the field holds, with the names it answers to (lower case except labels).
    let items: string[][];
    switch (c.field) {
      case 'labels':
        items = state.labels.map((l) => [l]);
        break;
      case 'project': {
        const p = this.projectDef(state.project) as ProjectDef;
        items = [[p.key, p.name, p.id].map((x) => x.toLowerCase())];
        break;
      }
      case 'status':
        items = [[state.status.toLowerCase(), this.statusJson(state.status).id]];
        break;
      case 'statusCategory': {
        const k = CATEGORIES[(this.statusDef(state.status) as FakeJiraStatus).category];
        items = [[k.key, k.name.toLowerCase(), String(k.id)]];
        break;
      }
      case 'resolution':
        items =
          state.resolution === null
            ? []
            : [[state.resolution.toLowerCase(), String(10000 + this.resolutions.indexOf(state.resolution))]];
        break;
    }
    const norm = (v: string) => (c.field === 'labels' ? v : v.toLowerCase());
    const unresolved = (v: string) => c.field === 'resolution' && v.toLowerCase() === 'unresolved';
    const has = (v: string) => items.some((names) => names.includes(norm(v)));
    const eq = (v: string) => (unresolved(v) ? items.length === 0 : items.length > 0 && has(v));
    const values = c.values;
    switch (c.op) {
      case 'eq':
        return eq(values[0] as string);
      case 'ne': {
        const v = values[0] as string;
        // Jira: != never matches an empty field.
        return items.length > 0 && (unresolved(v) || !has(v));
      }
      case 'in':
        return values.some(eq);
      case 'notin':
        return items.length > 0 && values.every((v) => unresolved(v) || !has(v));
      case 'empty':
        return items.length === 0;
      case 'notempty':
        return items.length > 0;
    }
  }

  private checkFields(
    fields: Json,
    update: Json,
    existing: IssueState | undefined,
  ): { values: FieldValues; comments: unknown[] } | { errors: Record<string, string> } {
    const errors: Record<string, string> = {};
    const editing = existing !== undefined;
    const settable = (key: string) => this.screen.has(key) && !(editing && key === 'project');
    const merged: Json = {};
    for (const [key, value] of Object.entries(fields)) {
      if (settable(key)) merged[key] = value;
      else errors[key] = notOnScreen(key);
    }
    const comments: unknown[] = [];
    for (const [key, ops] of Object.entries(update)) {
      if (key === 'comment' && editing) {
        for (const op of Array.isArray(ops) ? ops : [undefined]) {
          if (!isObject(op) || !isObject(op.add))
            errors.comment = "Only the 'add' operation is supported on comment.";
          else {
            const problem = this.checkText(op.add.body, true);
            if (problem) errors.comment = problem;
            else comments.push(op.add.body);
          }
        }
        continue;
      }
      if (!settable(key)) {
        errors[key] = notOnScreen(key);
        continue;
      }
      if (key in fields) {
        errors[key] = `Field '${key}' cannot be set in both 'fields' and 'update'.`;
        continue;
      }
      for (const op of Array.isArray(ops) ? ops : [undefined]) {
        const entry = isObject(op) ? Object.entries(op) : [];
        const [verb, value] = entry.length === 1 ? (entry[0] as [string, unknown]) : ['', undefined];
        const list = key === 'labels' || key === 'components';
        if (verb === 'set') merged[key] = value;
        else if (list && (verb === 'add' || verb === 'remove')) {
          const base = Array.isArray(merged[key])
            ? (merged[key] as unknown[])
            : existing
              ? key === 'labels'
                ? [...existing.labels]
                : existing.components.map((name) => ({ name }))
              : [];
          const same = (x: unknown) =>
            JSON.stringify(isObject(x) ? (x.name ?? x.id) : x) ===
            JSON.stringify(isObject(value) ? (value.name ?? value.id) : value);
          merged[key] = verb === 'add' ? [...base, value] : base.filter((x) => !same(x));
        } else errors[key] = `Field '${key}' does not support the operation '${verb || JSON.stringify(op)}'.`;
      }
    }

    const values: FieldValues = { custom: {} };
    let project = existing ? this.projectDef(existing.project) : undefined;
    if (!editing || 'project' in merged) {
      const p = merged.project;
      project = isObject(p)
        ? this.projects.find((x) => (p.key !== undefined ? x.key === p.key : x.id === String(p.id)))
        : undefined;
      if (!project) errors.project = 'valid project is required';
      else values.project = project;
    }
    if (!editing || 'issuetype' in merged) {
      const t = merged.issuetype;
      const name = isObject(t)
        ? typeof t.name === 'string'
          ? t.name
          : [...this.issueTypeIds].find(([, id]) => id === String(t.id))?.[0]
        : undefined;
      if (name === undefined || (project && !project.issueTypes.includes(name)))
        errors.issuetype = 'Specify a valid issue type';
      else values.issuetype = name;
    }
    if (!editing || 'summary' in merged) {
      const s = merged.summary;
      if (s === undefined || s === null || (typeof s === 'string' && s.trim() === ''))
        errors.summary = 'You must specify a summary of the issue.';
      else if (typeof s !== 'string') errors.summary = 'Operation value must be a string';
      else if (s.length > 255) errors.summary = 'Summary must be less than 255 characters.';
      else if (/[\r\n]/.test(s))
        errors.summary = 'The summary is invalid because it contains newline characters.';
      else values.summary = s;
    }
    if ('description' in merged) {
      const d = merged.description;
      const problem = d === null ? undefined : this.checkText(d, false);
      if (problem) errors.description = problem;
      else values.description = d;
    }
    if ('labels' in merged) {
      const l = merged.labels;
      if (l === null) values.labels = [];
      else if (!Array.isArray(l)) errors.labels = 'Operation value must be an array';
      else {
        for (const x of l) {
          if (typeof x !== 'string') errors.labels = 'Operation value must be a string';
          else if (x === '') errors.labels = 'The label can not be empty.';
          else if (/\s/.test(x)) errors.labels = `The label '${x}' contains spaces which is invalid.`;
          else if (x.length > 255)
            errors.labels = `The label '${x}' exceeds the maximum length for a single label of 255 characters.`;
          if (errors.labels) break;
        }
        if (!errors.labels) values.labels = [...new Set(l as string[])];
      }
    }
    if ('priority' in merged) {
      const p = merged.priority;
      if (p === null) values.priority = null;
      else if (!isObject(p) || (typeof p.name !== 'string' && typeof p.id !== 'string'))
        errors.priority = 'Specify the Priority (id or name) in the string format';
      else {
        const found =
          typeof p.name === 'string'
            ? this.priorities.find((x) => x === p.name)
            : this.priorities.find((_, i) => String(i + 1) === p.id);
        if (found === undefined) errors.priority = 'The priority selected is invalid.';
        else values.priority = found;
      }
    }
    if ('components' in merged) {
      const c = merged.components;
      if (c === null) values.components = [];
      else if (!Array.isArray(c)) errors.components = 'Operation value must be an array';
      else {
        const names: string[] = [];
        for (const x of c) {
          const name = isObject(x) ? x.name : undefined;
          const id = isObject(x) ? x.id : undefined;
          if (typeof name !== 'string' && typeof id !== 'string') {
            errors.components = "Could not find valid 'id' or 'name' in component object.";
            break;
          }
          const found = project?.components.find((n) =>
            typeof name === 'string' ? n === name : this.componentIds.get(`${project?.key}/${n}`) === id,
          );
          if (found === undefined) {
            errors.components =
              typeof name === 'string'
                ? `Component name '${name}' is not valid`
                : `Component id '${id}' is not valid`;
            break;
          }
          if (!names.includes(found)) names.push(found);
        }
        if (!errors.components) values.components = names;
      }
    }
    const known = ['project', 'issuetype', 'summary', 'description', 'labels', 'priority', 'components'];
    for (const [key, value] of Object.entries(merged)) if (!known.includes(key)) values.custom[key] = value;
    if (Object.keys(errors).length > 0) return { errors };
    return { values, comments };
  }

  /** The error for a description (comment = false) or comment body, or undefined when it is fine. */
  private checkText(value: unknown, comment: boolean): string | undefined {
    if (this.deployment === 'cloud') {
      if (comment && (value === undefined || value === null)) return 'Comment body can not be empty!';
      if (typeof value === 'string') return NOT_ADF;
      if (!isAdfDocument(value)) return 'INVALID_INPUT';
      if (comment && plainText(value).trim() === '') return 'Comment body can not be empty!';
      if (JSON.stringify(value).length > TEXT_LIMIT) return TOO_LONG;
      return undefined;
    }
    if (comment && (value === undefined || value === null || value === ''))
      return 'Comment body can not be empty!';
    if (typeof value !== 'string') return 'Operation value must be a string';
    if (comment && value.trim() === '') return 'Comment body can not be empty!';
    if (value.length > TEXT_LIMIT) return TOO_LONG;
    return undefined;
  }

  private pushComment(state: IssueState, body: unknown): CommentState {
    const at = this.now();
    const c: CommentState = {
      id: String(this.nextCommentId++),
      body: structuredClone(body),
      created: at,
      updated: at,
    };
    state.comments.push(c);
    return c;
  }

  private applyTransition(s: StoredIssue, t: FakeJiraTransition, resolution: string | null): void {
    const state = s.current;
    const at = this.now();
    state.status = t.to;
    if ((this.statusDef(t.to) as FakeJiraStatus).category === 'done') {
      // Jira sets a resolution only by the transition's screen or post function; none → stays empty.
      if (resolution !== null) {
        state.resolution = resolution;
        state.resolutiondate = at;
      }
    } else {
      state.resolution = null;
      state.resolutiondate = null;
    }
    state.updated = at;
    this.reindex(s);
  }

  private available(state: IssueState): FakeJiraTransition[] {
    const here = this.statusDef(state.status) as FakeJiraStatus;
    return this.transitionDefs.filter((t) =>
      t.from === 'open'
        ? here.category !== 'done'
        : t.from === 'done'
          ? here.category === 'done'
          : t.from === undefined
            ? state.status !== t.to
            : t.from.includes(state.status),
    );
  }

  private reindex(s: StoredIssue): void {
    s.versions.push({ at: this.now(), state: structuredClone(s.current) });
  }

  private find(keyOrId: string): StoredIssue | undefined {
    const k = keyOrId.toUpperCase();
    return this.stored.find((s) => s.current.id === keyOrId || s.current.key === k);
  }

  private mustFind(keyOrId: string): StoredIssue {
    const s = this.find(keyOrId);
    if (!s) throw new Error(`FakeJira: no issue ${keyOrId}`);
    return s;
  }

  private projectDef(key: string): ProjectDef | undefined {
    return this.projects.find((p) => p.key === key);
  }

  private statusDef(name: string): FakeJiraStatus | undefined {
    return this.statuses.find((s) => s.name === name);
  }

  // ---- Wire format ----

  private issueSelf(id: string): string {
    return `${this.apiBase}/issue/${id}`;
  }

  private statusJson(name: string): JiraStatusJson {
    const i = this.statuses.findIndex((s) => s.name === name);
    const k = CATEGORIES[(this.statuses[i] as FakeJiraStatus).category];
    return {
      self: `${this.apiBase}/status/${10000 + i}`,
      id: String(10000 + i),
      name,
      statusCategory: { self: `${this.apiBase}/statuscategory/${k.id}`, ...k },
    };
  }

  private transitionJson(t: FakeJiraTransition): Json {
    return {
      id: t.id,
      name: t.name,
      to: this.statusJson(t.to),
      hasScreen: (t.screen ?? []).length > 0,
      isGlobal: false,
      isInitial: false,
      isAvailable: true,
      isConditional: false,
      isLooped: false,
    };
  }

  private commentJson(state: IssueState, c: CommentState): JiraCommentJson {
    const author =
      this.deployment === 'cloud'
        ? { accountId: '557058:fake-license-monitor', displayName: AUTHOR, active: true }
        : { name: AUTHOR, displayName: AUTHOR, active: true };
    return {
      self: `${this.issueSelf(state.id)}/comment/${c.id}`,
      id: c.id,
      author,
      body: structuredClone(c.body),
      created: jiraTime(c.created),
      updated: jiraTime(c.updated),
    };
  }

  private issueRef(id: string): { id: string; key: string; self: string } {
    const s = this.stored.find((x) => x.current.id === id) as StoredIssue;
    return { id, key: s.current.key, self: this.issueSelf(id) };
  }

  private issueJson(state: IssueState, wanted: (field: string) => boolean): JiraIssueJson {
    const project = this.projectDef(state.project) as ProjectDef;
    const all: JiraIssueFields = {
      summary: state.summary,
      description: structuredClone(state.description),
      labels: [...state.labels],
      priority:
        state.priority === null
          ? null
          : {
              self: `${this.apiBase}/priority/${this.priorities.indexOf(state.priority) + 1}`,
              id: String(this.priorities.indexOf(state.priority) + 1),
              name: state.priority,
            },
      components: state.components.map((name) => {
        const id = this.componentIds.get(`${project.key}/${name}`) as string;
        return { self: `${this.apiBase}/component/${id}`, id, name };
      }),
      issuetype: {
        self: `${this.apiBase}/issuetype/${this.issueTypeIds.get(state.issuetype)}`,
        id: this.issueTypeIds.get(state.issuetype) as string,
        name: state.issuetype,
        subtask: false,
      },
      project: {
        self: `${this.apiBase}/project/${project.id}`,
        id: project.id,
        key: project.key,
        name: project.name,
      },
      status: this.statusJson(state.status),
      resolution:
        state.resolution === null
          ? null
          : {
              self: `${this.apiBase}/resolution/${10000 + this.resolutions.indexOf(state.resolution)}`,
              id: String(10000 + this.resolutions.indexOf(state.resolution)),
              name: state.resolution,
            },
      resolutiondate: state.resolutiondate === null ? null : jiraTime(state.resolutiondate),
      created: jiraTime(state.created),
      updated: jiraTime(state.updated),
      issuelinks: this.links.flatMap((l): JiraIssueLinkJson[] => {
        const base = { id: l.id, self: `${this.apiBase}/issueLink/${l.id}`, type: { ...l.type } };
        if (l.inward === state.id) return [{ ...base, outwardIssue: this.issueRef(l.outward) }];
        if (l.outward === state.id) return [{ ...base, inwardIssue: this.issueRef(l.inward) }];
        return [];
      }),
      comment: {
        comments: state.comments.map((c) => this.commentJson(state, c)),
        maxResults: state.comments.length,
        total: state.comments.length,
        startAt: 0,
      },
    };
    for (const f of this.screen)
      if (f.startsWith('customfield_')) all[f] = structuredClone(state.custom[f] ?? null);
    for (const [k, v] of Object.entries(state.custom)) all[k] = structuredClone(v);
    const fields = Object.fromEntries(Object.entries(all).filter(([k]) => wanted(k))) as JiraIssueFields;
    return { id: state.id, key: state.key, self: this.issueSelf(state.id), fields };
  }
}

// ---- Fields selection (?fields=a,b / *all / *navigable / -x) ----

function fieldFilter(
  param: string | null,
  fallback: 'all' | 'navigable' | 'none',
): (field: string) => boolean {
  const parts = (param ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const include = new Set(parts.filter((p) => !p.startsWith('-') && !p.startsWith('*')));
  const exclude = new Set(parts.filter((p) => p.startsWith('-')).map((p) => p.slice(1)));
  const positives = parts.filter((p) => !p.startsWith('-'));
  const mode = parts.includes('*all')
    ? 'all'
    : parts.includes('*navigable')
      ? 'navigable'
      : positives.length === 0
        ? fallback
        : 'none';
  return (field) => {
    if (exclude.has(field)) return false;
    if (include.has(field)) return true;
    if (mode === 'all') return true;
    // The comment field is not navigable (search results leave it out by default).
    if (mode === 'navigable') return field !== 'comment';
    return false;
  };
}

function encodeToken(offset: number, jql: string): string {
  return Buffer.from(JSON.stringify({ o: offset, q: jql })).toString('base64url');
}

function decodeToken(token: string): { offset: number; jql: string } | undefined {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { o?: unknown; q?: unknown };
    if (typeof v.o !== 'number' || typeof v.q !== 'string') return undefined;
    return { offset: v.o, jql: v.q };
  } catch {
    return undefined;
  }
}

// ---- Atlassian Document Format ----

const BLOCK = [
  'paragraph',
  'heading',
  'bulletList',
  'orderedList',
  'codeBlock',
  'rule',
  'blockquote',
  'panel',
  'table',
];
const INLINE = ['text', 'hardBreak'];
const CELL = [
  'paragraph',
  'heading',
  'bulletList',
  'orderedList',
  'codeBlock',
  'rule',
  'blockquote',
  'panel',
];
/** Allowed children per node type; null = a leaf. */
const ADF_CHILDREN: Record<string, readonly string[] | null> = {
  doc: BLOCK,
  paragraph: INLINE,
  heading: INLINE,
  bulletList: ['listItem'],
  orderedList: ['listItem'],
  listItem: ['paragraph', 'bulletList', 'orderedList', 'codeBlock'],
  codeBlock: ['text'],
  blockquote: ['paragraph', 'bulletList', 'orderedList', 'codeBlock'],
  panel: ['paragraph', 'heading', 'bulletList', 'orderedList', 'codeBlock', 'rule'],
  table: ['tableRow'],
  tableRow: ['tableHeader', 'tableCell'],
  tableHeader: CELL,
  tableCell: CELL,
  text: null,
  hardBreak: null,
  rule: null,
};
/** Nodes whose content may not be empty. */
const ADF_NON_EMPTY = new Set([
  'bulletList',
  'orderedList',
  'listItem',
  'blockquote',
  'panel',
  'table',
  'tableRow',
  'tableHeader',
  'tableCell',
]);
const ADF_MARKS = new Set(['strong', 'em', 'code', 'link', 'strike', 'underline']);
const PANEL_TYPES = new Set(['info', 'note', 'tip', 'warning', 'error', 'success', 'custom']);

/** A shallow but strict check of an ADF document: known nodes in allowed places, text, marks, attrs. */
export function isAdfDocument(doc: unknown): boolean {
  if (!isObject(doc) || doc.type !== 'doc' || doc.version !== 1 || !Array.isArray(doc.content)) return false;
  const node = (n: unknown, allowed: readonly string[], parent: string): boolean => {
    if (!isObject(n) || typeof n.type !== 'string' || !allowed.includes(n.type)) return false;
    const children = ADF_CHILDREN[n.type];
    if (n.type === 'text') {
      if (typeof n.text !== 'string' || n.text === '') return false;
      if (n.marks !== undefined) {
        if (!Array.isArray(n.marks) || (parent === 'codeBlock' && n.marks.length > 0)) return false;
        for (const m of n.marks) {
          if (!isObject(m) || typeof m.type !== 'string' || !ADF_MARKS.has(m.type)) return false;
          if (m.type === 'link' && !(isObject(m.attrs) && typeof m.attrs.href === 'string')) return false;
        }
      }
      return true;
    }
    if (n.type === 'heading') {
      const level = isObject(n.attrs) ? n.attrs.level : undefined;
      if (typeof level !== 'number' || !Number.isInteger(level) || level < 1 || level > 6) return false;
    }
    if (n.type === 'panel' && !(isObject(n.attrs) && PANEL_TYPES.has(String(n.attrs.panelType))))
      return false;
    if (children === null || children === undefined) return n.content === undefined;
    if (n.content === undefined) return !ADF_NON_EMPTY.has(n.type);
    if (!Array.isArray(n.content) || (ADF_NON_EMPTY.has(n.type) && n.content.length === 0)) return false;
    const type = n.type;
    return n.content.every((c) => node(c, children, type));
  };
  return doc.content.every((c) => node(c, BLOCK, 'doc'));
}

/** The text a reader sees: ADF text nodes concatenated (blocks on separate lines), or the string as is. */
export function plainText(body: unknown): string {
  if (typeof body === 'string') return body;
  const walk = (n: unknown): string => {
    if (!isObject(n)) return '';
    if (n.type === 'text') return typeof n.text === 'string' ? n.text : '';
    if (n.type === 'hardBreak') return '\n';
    const parts = Array.isArray(n.content) ? n.content.map(walk) : [];
    const inline = n.type === 'paragraph' || n.type === 'heading' || n.type === 'codeBlock';
    return parts.join(inline ? '' : '\n');
  };
  return walk(body);
}

// ---- JQL (the subset the fake understands) ----

export type JqlField = 'project' | 'labels' | 'status' | 'statusCategory' | 'resolution';

export interface JqlClause {
  field: JqlField;
  /** The field name as written in the query. */
  typed: string;
  op: 'eq' | 'ne' | 'in' | 'notin' | 'empty' | 'notempty';
  values: string[];
}

export interface JqlQuery {
  clauses: JqlClause[];
  order: 'ASC' | 'DESC';
}

export class JqlError extends Error {}

const JQL_FIELDS: Record<string, JqlField> = {
  project: 'project',
  labels: 'labels',
  status: 'status',
  statuscategory: 'statusCategory',
  resolution: 'resolution',
};

const JQL_RESERVED_CHARS = new Set([...'[]{}|&*/%+^$#@?;']);

// JQL's reserved words: as values they must be quoted.
const JQL_RESERVED_WORDS = new Set(
  (
    'a an abort access add after alias all alter and any as asc audit avg before begin between boolean break by ' +
    'byte catch cf char character check checkpoint collate collation column commit connect continue count create ' +
    'current date decimal declare decrement default defaults define delete delimiter desc difference distinct ' +
    'divide do double drop else empty encoding end equals escape exclusive exec execute exists explain false ' +
    'fetch file field first float for from function go goto grant greater group having identified if immediate ' +
    'in increment index initial inner inout input insert int integer intersect intersection into is isempty ' +
    'isnull join last left less like limit lock long max min minus mode modify modulo more multiply next noaudit ' +
    'not notin nowait null number object of on option or order outer output power previous prior privileges ' +
    'public raise raw remainder rename resource return returns revoke right row rowid rownum rows select session ' +
    'set share size sqrt start strict string subtract sum synonym table then to trans transaction trigger true ' +
    'uid union unique update user validate values view when whenever where while with'
  ).split(' '),
);

interface Tok {
  kind: 'str' | 'word' | 'op' | '(' | ')' | ',';
  text: string;
  at: number;
}

/**
 * Parses `clause AND clause … [ORDER BY created [ASC|DESC]]` where a clause is `field = v`, `field != v`,
 * `field in (v, …)`, `field not in (v, …)`, `field is [not] EMPTY` on project, labels, status,
 * statusCategory or resolution; values unquoted words or "double-quoted" (with \" escapes). Anything else
 * throws a JqlError with Jira's "Error in the JQL Query: … (line 1, column N)" message.
 */
export function parseJql(jql: string): JqlQuery {
  const where = (at: number) => {
    const before = jql.slice(0, at).split('\n');
    return `(line ${before.length}, column ${(before.at(-1) as string).length + 1})`;
  };
  const error = (message: string, at: number): never => {
    throw new JqlError(`Error in the JQL Query: ${message} ${where(at)}`);
  };
  const toks: Tok[] = [];
  let i = 0;
  while (i < jql.length) {
    const c = jql[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"') {
      let j = i + 1;
      let s = '';
      while (j < jql.length && jql[j] !== '"') {
        if (jql[j] === '\\') {
          const n = jql[j + 1];
          const simple: Record<string, string> = {
            '"': '"',
            "'": "'",
            '\\': '\\',
            n: '\n',
            t: '\t',
            r: '\r',
            ' ': ' ',
          };
          if (n !== undefined && n in simple) {
            s += simple[n];
            j += 2;
          } else if (n === 'u' && /^[0-9a-fA-F]{4}$/.test(jql.slice(j + 2, j + 6))) {
            s += String.fromCharCode(Number.parseInt(jql.slice(j + 2, j + 6), 16));
            j += 6;
          } else error(`Illegal escape sequence '\\${n ?? ''}' in the string.`, j);
        } else s += jql[j++];
      }
      if (j >= jql.length) error(`The quoted string '${s}' has not been completed.`, i);
      toks.push({ kind: 'str', text: s, at: i });
      i = j + 1;
    } else if (c === "'") {
      error('The fake Jira accepts only double-quoted strings ("…"), not single quotes.', i);
    } else if (c === '(' || c === ')' || c === ',') {
      toks.push({ kind: c, text: c, at: i });
      i++;
    } else if ('=!~<>'.includes(c)) {
      const two = jql.slice(i, i + 2);
      if (['!=', '!~', '<=', '>='].includes(two)) {
        toks.push({ kind: 'op', text: two, at: i });
        i += 2;
      } else if (c === '!') {
        error("Expecting '!=' or '!~' after '!'.", i);
      } else {
        toks.push({ kind: 'op', text: c, at: i });
        i++;
      }
    } else if (JQL_RESERVED_CHARS.has(c)) {
      error(
        `The character '${c}' is a reserved JQL character. You must enclose it in a string or use the escape '\\u${c
          .charCodeAt(0)
          .toString(16)
          .padStart(4, '0')}' instead.`,
        i,
      );
    } else {
      let j = i;
      while (j < jql.length) {
        const d = jql[j] as string;
        if (/\s/.test(d) || '(),=!~<>"\''.includes(d) || JQL_RESERVED_CHARS.has(d)) break;
        j++;
      }
      toks.push({ kind: 'word', text: jql.slice(i, j), at: i });
      i = j;
    }
  }

  let p = 0;
  const end = jql.length;
  const peek = () => toks[p];
  const isWord = (t: Tok | undefined, w: string) => t?.kind === 'word' && t.text.toLowerCase() === w;
  const describe = (t: Tok | undefined) => (t ? `'${t.text}'` : 'the end of the query');

  const value = (): string => {
    const t = toks[p++];
    if (t?.kind === 'str') return t.text;
    if (t?.kind === 'word') {
      const w = t.text.toLowerCase();
      if (w === 'empty' || w === 'null')
        error("The fake Jira supports empty checks only as 'is EMPTY' / 'is not EMPTY'.", t.at);
      if (JQL_RESERVED_WORDS.has(w))
        error(
          `'${t.text}' is a reserved JQL word. You must surround it in quotation marks to use it in a query.`,
          t.at,
        );
      if (peek()?.kind === '(') error(`The fake Jira does not support JQL functions ('${t.text}()').`, t.at);
      return t.text;
    }
    return error(`Expecting either a value, list or function but got ${describe(t)}.`, t?.at ?? end);
  };

  const clause = (): JqlClause => {
    const f = toks[p++];
    if (!f) return error('Expecting a field name but got the end of the query.', end);
    if (f.kind === '(') return error('The fake Jira does not support parentheses around clauses.', f.at);
    if (isWord(f, 'not')) return error("The fake Jira does not support 'NOT' before a clause.", f.at);
    if (f.kind !== 'word') return error(`Expecting a field name but got ${describe(f)}.`, f.at);
    const field = JQL_FIELDS[f.text.toLowerCase()];
    if (!field)
      return error(
        `Field '${f.text}' is not supported by the fake Jira (it supports project, labels, status, statusCategory and resolution).`,
        f.at,
      );
    const o = toks[p++];
    const operators = "the fake Jira supports '=', '!=', 'IN', 'NOT IN', 'IS' and 'IS NOT'";
    if (o?.kind === 'op' && (o.text === '=' || o.text === '!='))
      return { field, typed: f.text, op: o.text === '=' ? 'eq' : 'ne', values: [value()] };
    if (isWord(o, 'in') || (isWord(o, 'not') && isWord(peek(), 'in'))) {
      const negated = isWord(o, 'not');
      if (negated) p++;
      const lp = toks[p++];
      if (lp?.kind !== '(') return error(`Expecting '(' but got ${describe(lp)}.`, lp?.at ?? end);
      const values = [value()];
      for (;;) {
        const t = toks[p++];
        if (t?.kind === ')') break;
        if (t?.kind !== ',') return error(`Expecting ',' or ')' but got ${describe(t)}.`, t?.at ?? end);
        values.push(value());
      }
      return { field, typed: f.text, op: negated ? 'notin' : 'in', values };
    }
    if (isWord(o, 'is')) {
      const negated = isWord(peek(), 'not');
      if (negated) p++;
      const e = toks[p++];
      if (!isWord(e, 'empty') && !isWord(e, 'null'))
        return error(`Expecting 'EMPTY' or 'NULL' but got ${describe(e)}.`, e?.at ?? end);
      return { field, typed: f.text, op: negated ? 'notempty' : 'empty', values: [] };
    }
    if (!o) return error(`Expecting operator before the end of the query; ${operators}.`, end);
    return error(`Expecting operator but got '${o.text}'; ${operators}.`, o.at);
  };

  const order = (): 'ASC' | 'DESC' => {
    const by = toks[p++];
    if (!isWord(by, 'by')) return error(`Expecting 'by' but got ${describe(by)}.`, by?.at ?? end);
    const f = toks[p++];
    if (!isWord(f, 'created'))
      return error(`The fake Jira can order only by 'created' (got ${describe(f)}).`, f?.at ?? end);
    const d = peek();
    if (isWord(d, 'asc') || isWord(d, 'desc')) {
      p++;
      return (d as Tok).text.toUpperCase() as 'ASC' | 'DESC';
    }
    return 'ASC';
  };

  const q: JqlQuery = { clauses: [], order: 'DESC' };
  if (isWord(peek(), 'order')) {
    p++;
    q.order = order();
  } else if (toks.length > 0) {
    for (;;) {
      q.clauses.push(clause());
      const t = peek();
      if (!t) break;
      p++;
      if (isWord(t, 'and')) continue;
      if (isWord(t, 'order')) {
        q.order = order();
        break;
      }
      if (isWord(t, 'or')) error("The fake Jira supports only 'AND' between clauses, not 'OR'.", t.at);
      error(`Expecting either 'OR' or 'AND' but got '${t.text}'.`, t.at);
    }
  }
  const extra = peek();
  if (extra) error(`Expecting the end of the query but got '${extra.text}'.`, extra.at);
  return q;
}
