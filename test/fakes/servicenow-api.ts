// A fake ServiceNow instance for tests: plain HTTP on 127.0.0.1 speaking the Table API's wire format
// for the `incident` table (GET/POST /api/now/table/incident, GET/PATCH/PUT …/incident/{sys_id},
// JSON in and out, answers wrapped in `{ result }`, errors as `{ error: { message, detail },
// status: 'failure' }`), with Basic auth or an OAuth bearer token.
//
// It checks what a real instance checks and what matters to an alert channel: credentials (401),
// the table (400 "Invalid table") and the record (404), the JSON body (400) and its Content-Type
// (415), choice values of urgency, impact and state (400; ServiceNow would store a bad choice, the
// fake refuses it to catch bugs), the resolution data policy (state 6/7 need a close code from
// `closeCodes` and close notes, 403), and that Closed (7) and Canceled (8) incidents cannot be
// updated (403 ACL). Like ServiceNow it computes priority from urgency × impact, sets resolved_at
// and closed_at, clears resolved_at and counts reopen_count when a resolved incident goes back to
// New/In Progress/On Hold, appends work_notes and comments to a journal (they read back as ''),
// truncates over-long strings (short_description 160, correlation_id 100, …), answers reference
// fields (assignment_group, caller_id, cmdb_ci) as `{ link, value }` unless
// sysparm_exclude_reference_link=true, and silently ignores unknown fields in writes and invalid
// terms in sysparm_query. Everything ServiceNow ignores silently is also recorded in `warnings`,
// so tests can assert the channel sent nothing the instance would drop.
//
// Lists support sysparm_query (field=value, !=, IN, ISEMPTY, ISNOTEMPTY, ORDERBY, ORDERBYDESC, ^EQ),
// name=value filters, sysparm_limit/offset (X-Total-Count and a Link header with first/prev/next/
// last), sysparm_fields; sysparm_display_value is accepted but values stay raw (warned when
// 'true'/'all'). Ties in ORDERBY are broken by creation order in the primary sort's direction, so
// ORDERBYDESCsys_created_on finds the newest incident even within one second.
//
// It can be told to fail on purpose: 429 with Retry-After and X-RateLimit-* headers, HTTP 500
// (JSON) or 502/503 (an HTML page, as from the load balancer), or a delayed answer (the write is
// done at once, the answer comes after `delayMs`: a request in flight). Faults apply after auth.
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { closeLoopback, listenLoopback } from '../helpers/loopback.js';

/** An incident as stored; every value is a string, as ServiceNow returns them. */
export interface Incident {
  sys_id: string;
  number: string;
  short_description: string;
  description: string;
  urgency: string;
  impact: string;
  priority: string;
  state: string;
  /** 'false' once Closed or Canceled ('true' while Resolved, as on a real instance). */
  active: string;
  correlation_id: string;
  correlation_display: string;
  close_code: string;
  close_notes: string;
  resolved_at: string;
  closed_at: string;
  assignment_group: string;
  caller_id: string;
  category: string;
  subcategory: string;
  cmdb_ci: string;
  contact_type: string;
  reopen_count: string;
  /** Journal fields: always '' on read; see `journal()`. */
  work_notes: string;
  comments: string;
  sys_created_on: string;
  sys_updated_on: string;
  sys_updated_by: string;
}

export type JournalField = 'work_notes' | 'comments';

export interface JournalEntry {
  field: JournalField;
  value: string;
  at: number;
}

export interface ServiceNowCall {
  method: string;
  /** Path without the query string. */
  path: string;
  query: Record<string, string>;
  /** HTTP status answered. */
  status: number;
  at: number;
  /** The JSON object sent, for POST/PATCH/PUT. */
  body?: Record<string, unknown>;
}

export type Fault =
  | { status: 429; retryAfter: number }
  | { status: 500 | 502 | 503 }
  /** Handle the request (the record IS written) but answer only after `delayMs`. */
  | { delayMs: number };

export interface FaultMatch {
  method?: string;
  path?: RegExp;
}

export interface FakeServiceNowOptions {
  username?: string;
  password?: string;
  bearerToken?: string;
  /** The choices of close_code (Resolution code). */
  closeCodes?: readonly string[];
}

export const STATE = {
  new: '1',
  inProgress: '2',
  onHold: '3',
  resolved: '6',
  closed: '7',
  canceled: '8',
} as const;

export const DEFAULT_CLOSE_CODES: readonly string[] = [
  'Solved (Permanently)',
  'Solved (Work Around)',
  'Solved Remotely (Permanently)',
  'Not Solved (Not Reproducible)',
  'Not Solved (Too Costly)',
  'Closed/Resolved by Caller',
];

/** Who `humanResolve`/`humanClose` act as (sys_updated_by). */
export const HUMAN_USER = 'itil.agent';

type Json = Record<string, unknown>;
type Field = keyof Incident;

const FIELDS: readonly Field[] = [
  'sys_id',
  'number',
  'short_description',
  'description',
  'urgency',
  'impact',
  'priority',
  'state',
  'active',
  'correlation_id',
  'correlation_display',
  'close_code',
  'close_notes',
  'resolved_at',
  'closed_at',
  'assignment_group',
  'caller_id',
  'category',
  'subcategory',
  'cmdb_ci',
  'contact_type',
  'reopen_count',
  'work_notes',
  'comments',
  'sys_created_on',
  'sys_updated_on',
  'sys_updated_by',
];
const FIELD_SET: ReadonlySet<string> = new Set(FIELDS);
const WRITABLE: ReadonlySet<string> = new Set<Field>([
  'short_description',
  'description',
  'urgency',
  'impact',
  'state',
  'correlation_id',
  'correlation_display',
  'close_code',
  'close_notes',
  'assignment_group',
  'caller_id',
  'category',
  'subcategory',
  'cmdb_ci',
  'contact_type',
  'work_notes',
  'comments',
]);
const JOURNAL: ReadonlySet<string> = new Set<Field>(['work_notes', 'comments']);
/** Reference fields and the table they point to (for the `link`). */
const REFERENCES: Partial<Record<Field, string>> = {
  assignment_group: 'sys_user_group',
  caller_id: 'sys_user',
  cmdb_ci: 'cmdb_ci',
};
/** Column lengths of a default instance; longer values are truncated on write. */
const MAX_LENGTH: Partial<Record<Field, number>> = {
  short_description: 160,
  correlation_id: 100,
  correlation_display: 100,
  description: 4000,
  close_notes: 4000,
  category: 40,
  subcategory: 40,
  contact_type: 40,
};
const INTEGER_FIELDS: ReadonlySet<string> = new Set([
  'urgency',
  'impact',
  'priority',
  'state',
  'reopen_count',
]);
const CHOICES: Partial<Record<Field, readonly string[]>> = {
  urgency: ['1', '2', '3'],
  impact: ['1', '2', '3'],
  state: Object.values(STATE),
};
const DEFAULT_LIMIT = 10_000;
const RATE_LIMIT = 100;

interface Stored {
  fields: Incident;
  seq: number;
  journal: JournalEntry[];
}

interface Answer {
  status: number;
  body: Json | string;
  headers?: Record<string, string>;
}

const failure = (status: number, message: string, detail: string | null): Answer => ({
  status,
  body: { error: { message, detail }, status: 'failure' },
});

const NOT_FOUND = () =>
  failure(404, 'No Record found', "Record doesn't exist or ACL restricts the record retrieval");
const ACL_UPDATE = () =>
  failure(403, 'Operation Failed', 'ACL Exception Update Failed due to security constraints');

/** 'YYYY-MM-DD HH:mm:ss' in UTC, as the Table API answers date-times. */
export function snTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** Milliseconds since the epoch of a 'YYYY-MM-DD HH:mm:ss' UTC value. */
export function parseSnTime(value: string): number {
  return Date.parse(`${value.replace(' ', 'T')}Z`);
}

/** ServiceNow's default priority lookup: 1+1 → 1, …, 3+3 → 5. */
export function priorityOf(urgency: string, impact: string): string {
  return String(Number(urgency) + Number(impact) - 1);
}

export class FakeServiceNow {
  readonly username: string;
  readonly password: string;
  readonly bearerToken: string;
  readonly closeCodes: readonly string[];
  readonly calls: ServiceNowCall[] = [];
  /** What ServiceNow would have ignored silently: unknown/read-only fields, invalid query terms, … */
  readonly warnings: string[] = [];
  url = '';
  private readonly records: Stored[] = [];
  private readonly faults: { match: FaultMatch; fault: Fault }[] = [];
  private readonly pendingTimers = new Set<NodeJS.Timeout>();
  private nextNumber = 10_001;
  private seq = 0;
  private server!: http.Server;

  private constructor(options: FakeServiceNowOptions) {
    this.username = options.username ?? 'svc-alerts';
    this.password = options.password ?? 'sn-password';
    this.bearerToken = options.bearerToken ?? 'sn-oauth-token';
    this.closeCodes = [...(options.closeCodes ?? DEFAULT_CLOSE_CODES)];
  }

  static async start(options: FakeServiceNowOptions = {}): Promise<FakeServiceNow> {
    const fake = new FakeServiceNow(options);
    const { server, url } = await listenLoopback((req, res) => fake.handle(req, res));
    fake.server = server;
    fake.url = url;
    return fake;
  }

  /** The `Authorization` header value for Basic auth with the configured user. */
  get basicAuth(): string {
    return `Basic ${Buffer.from(`${this.username}:${this.password}`).toString('base64')}`;
  }

  /** The next `count` requests (matching `match`, if given) fail with `fault`. */
  failNext(fault: Fault, count = 1, match: FaultMatch = {}): void {
    for (let i = 0; i < count; i++) this.faults.push({ match, fault });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  callsTo(method: string, path: RegExp): ServiceNowCall[] {
    return this.calls.filter((c) => c.method === method.toUpperCase() && matches(path, c.path));
  }

  /** Snapshots of all incidents, in creation order. */
  incidents(): Incident[] {
    return this.records.map((r) => ({ ...r.fields }));
  }

  /** A snapshot of one incident by number (INC…) or sys_id. */
  incident(numberOrSysId: string): Incident | undefined {
    const r = this.find(numberOrSysId);
    return r ? { ...r.fields } : undefined;
  }

  /** Journal entries (work_notes and comments), oldest first. */
  journal(numberOrSysId: string): JournalEntry[] {
    return this.mustFind(numberOrSysId).journal.map((e) => ({ ...e }));
  }

  /** A person resolves the incident in the UI (state 6), as `HUMAN_USER`. */
  humanResolve(numberOrSysId: string, closeCode: string, notes: string): void {
    this.humanSet(numberOrSysId, STATE.resolved, closeCode, notes);
  }

  /** A person closes the incident (state 7); close code and notes default to those on it. */
  humanClose(numberOrSysId: string, closeCode?: string, notes?: string): void {
    this.humanSet(numberOrSysId, STATE.closed, closeCode, notes);
  }

  /** Moves resolved_at `ms` into the past (for reopen-window tests). */
  backdateResolution(numberOrSysId: string, ms: number): void {
    const r = this.mustFind(numberOrSysId);
    if (r.fields.resolved_at === '') throw new Error(`${r.fields.number} has no resolved_at`);
    r.fields.resolved_at = snTime(parseSnTime(r.fields.resolved_at) - ms);
  }

  /** Forgets incidents, calls, warnings and faults; numbering starts again at INC0010001. */
  reset(): void {
    this.records.length = 0;
    this.calls.length = 0;
    this.warnings.length = 0;
    this.faults.length = 0;
    this.nextNumber = 10_001;
    this.seq = 0;
  }

  async close(): Promise<void> {
    for (const t of this.pendingTimers) clearTimeout(t);
    this.pendingTimers.clear();
    await closeLoopback(this.server);
  }

  private find(numberOrSysId: string): Stored | undefined {
    return this.records.find((r) => r.fields.sys_id === numberOrSysId || r.fields.number === numberOrSysId);
  }

  private mustFind(numberOrSysId: string): Stored {
    const r = this.find(numberOrSysId);
    if (!r) throw new Error(`no incident ${numberOrSysId}`);
    return r;
  }

  private humanSet(numberOrSysId: string, state: string, closeCode?: string, notes?: string): void {
    const r = this.mustFind(numberOrSysId);
    const f = r.fields;
    if (f.state === STATE.closed || f.state === STATE.canceled)
      throw new Error(`${f.number} is closed or canceled (state ${f.state})`);
    const code = closeCode ?? f.close_code;
    const text = notes ?? f.close_notes;
    if (!this.closeCodes.includes(code)) throw new Error(`invalid close code ${JSON.stringify(code)}`);
    if (text.trim() === '') throw new Error('close notes are mandatory');
    const now = Date.now();
    f.close_code = code;
    f.close_notes = text;
    this.transition(f, f.state, state, now);
    f.state = state;
    f.active = activeOf(state);
    f.sys_updated_on = snTime(now);
    f.sys_updated_by = HUMAN_USER;
  }

  private takeFault(method: string, path: string): Fault | undefined {
    const i = this.faults.findIndex(
      ({ match }) =>
        (match.method === undefined || match.method.toUpperCase() === method) &&
        (match.path === undefined || matches(match.path, path)),
    );
    if (i < 0) return undefined;
    return (this.faults.splice(i, 1)[0] as { fault: Fault }).fault;
  }

  /** The user the credentials belong to, or undefined. */
  private authenticate(header: string | undefined): string | undefined {
    if (!header) return undefined;
    const [scheme, value = ''] = header.split(/\s+/, 2) as [string, string?];
    if (/^bearer$/i.test(scheme)) return value === this.bearerToken ? this.username : undefined;
    if (/^basic$/i.test(scheme)) {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      return decoded === `${this.username}:${this.password}` ? this.username : undefined;
    }
    return undefined;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const at = Date.now();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const call: ServiceNowCall = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      status: 0,
      at,
    };
    this.calls.push(call);

    let delayMs = 0;
    const send = (answer: Answer): void => {
      call.status = answer.status;
      const isText = typeof answer.body === 'string';
      const write = (): void => {
        res
          .writeHead(answer.status, {
            'Content-Type': isText ? 'text/html;charset=UTF-8' : 'application/json;charset=UTF-8',
            ...answer.headers,
          })
          .end(isText ? answer.body : JSON.stringify(answer.body));
      };
      if (delayMs <= 0) {
        write();
        return;
      }
      const timer = setTimeout(() => {
        this.pendingTimers.delete(timer);
        write();
      }, delayMs);
      this.pendingTimers.add(timer);
    };

    const user = this.authenticate(req.headers.authorization);
    if (user === undefined) {
      const answer = failure(401, 'User Not Authenticated', 'Required to provide Auth information');
      answer.headers = { 'WWW-Authenticate': 'BASIC realm="Service-now"' };
      return send(answer);
    }

    const fault = this.takeFault(method, url.pathname);
    if (fault && 'status' in fault) return send(faultAnswer(fault, at, user));
    if (fault && 'delayMs' in fault) delayMs = fault.delayMs;

    const route = /^\/api\/now\/table\/([^/]+)(?:\/([^/]+))?$/.exec(url.pathname);
    if (!route) return send(failure(404, 'Requested URI does not represent any resource', null));
    const table = decodeURIComponent(route[1] as string);
    if (table !== 'incident') return send(failure(400, `Invalid table ${table}`, null));
    const sysId = route[2];

    const allowed = sysId === undefined ? ['GET', 'POST'] : ['GET', 'PATCH', 'PUT'];
    if (!allowed.includes(method)) {
      this.warnings.push(`${method} ${url.pathname}: method not supported by the fake`);
      return send(failure(405, 'Method not Supported', `${method} is not supported by this resource`));
    }
    this.checkParams(url.searchParams, sysId === undefined && method === 'GET');

    let body: Json | undefined;
    if (method !== 'GET') {
      const contentType = req.headers['content-type'] ?? '';
      if (!/json/i.test(contentType))
        return send(failure(415, 'Unsupported Media Type', `Content-Type ${contentType || '(none)'}`));
      try {
        const parsed = JSON.parse(raw) as unknown;
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
        body = parsed as Json;
      } catch {
        return send(failure(400, 'Exception while reading request', 'The payload is not valid JSON.'));
      }
      call.body = body;
    }

    if (sysId === undefined && method === 'GET') return send(this.list(url));
    if (sysId === undefined) {
      const result = this.write(undefined, body as Json, user, at);
      if ('status' in result) return send(result);
      return send({
        status: 201,
        body: { result: this.render(result.fields, url.searchParams) },
        headers: { Location: `${this.url}/api/now/table/incident/${result.fields.sys_id}` },
      });
    }
    const record = this.records.find((r) => r.fields.sys_id === sysId);
    if (!record) return send(NOT_FOUND());
    if (method === 'GET')
      return send({ status: 200, body: { result: this.render(record.fields, url.searchParams) } });
    const result = this.write(record, body as Json, user, at);
    if ('status' in result) return send(result);
    send({ status: 200, body: { result: this.render(result.fields, url.searchParams) } });
  }

  /** Warns about parameters the fake (or ServiceNow) ignores. */
  private checkParams(params: URLSearchParams, isList: boolean): void {
    const known = new Set(['sysparm_fields', 'sysparm_display_value', 'sysparm_exclude_reference_link']);
    if (isList) for (const p of ['sysparm_query', 'sysparm_limit', 'sysparm_offset']) known.add(p);
    for (const [key, value] of params) {
      if (key === 'sysparm_display_value') {
        if (value === 'true' || value === 'all')
          this.warnings.push(
            `sysparm_display_value=${value}: the fake answers raw values, not display values`,
          );
      } else if (key.startsWith('sysparm_') && !known.has(key)) {
        this.warnings.push(`ignored parameter ${key}`);
      } else if (!key.startsWith('sysparm_') && !(isList && FIELD_SET.has(key))) {
        this.warnings.push(`ignored parameter ${key}`);
      }
    }
  }

  private list(url: URL): Answer {
    const params = url.searchParams;
    const filters: ((f: Incident) => boolean)[] = [];
    const orders: { field: Field; desc: boolean }[] = [];
    for (const term of (params.get('sysparm_query') ?? '').split('^')) {
      // ServiceNow ignores invalid terms silently; the fake says so in `warnings`.
      const ignored = this.parseTerm(term, filters, orders);
      if (ignored) this.warnings.push(`sysparm_query: ignored term ${JSON.stringify(term)} (${ignored})`);
    }
    // Name-value pairs filter like field=value terms.
    for (const [key, value] of params)
      if (!key.startsWith('sysparm_') && FIELD_SET.has(key)) filters.push((f) => f[key as Field] === value);

    let rows = this.records.filter((r) => filters.every((test) => test(r.fields)));
    if (orders.length > 0) {
      const tieDesc = (orders[0] as { desc: boolean }).desc;
      rows = [...rows].sort((a, b) => {
        for (const { field, desc } of orders) {
          const c = compareField(field, a.fields[field], b.fields[field]);
          if (c !== 0) return desc ? -c : c;
        }
        return tieDesc ? b.seq - a.seq : a.seq - b.seq;
      });
    }

    const limit = this.intParam(params, 'sysparm_limit', DEFAULT_LIMIT, 1);
    const offset = this.intParam(params, 'sysparm_offset', 0, 0);
    const total = rows.length;
    const page = rows.slice(offset, offset + limit);
    const headers: Record<string, string> = { 'X-Total-Count': String(total) };
    if (params.has('sysparm_limit') || offset > 0) {
      const link = (o: number, rel: string) => {
        const u = new URL(url.pathname, this.url);
        for (const [k, v] of params)
          if (k !== 'sysparm_offset' && k !== 'sysparm_limit') u.searchParams.append(k, v);
        u.searchParams.set('sysparm_limit', String(limit));
        u.searchParams.set('sysparm_offset', String(o));
        return `<${u.href}>;rel="${rel}"`;
      };
      const lastOffset = total === 0 ? 0 : Math.floor((total - 1) / limit) * limit;
      const links = [link(0, 'first')];
      if (offset > 0) links.push(link(Math.max(0, offset - limit), 'prev'));
      if (offset + limit < total) links.push(link(offset + limit, 'next'));
      links.push(link(lastOffset, 'last'));
      headers.Link = links.join(',');
    }
    return { status: 200, body: { result: page.map((r) => this.render(r.fields, params)) }, headers };
  }

  private intParam(params: URLSearchParams, name: string, fallback: number, min: number): number {
    const value = params.get(name);
    if (value === null) return fallback;
    if (!/^\d+$/.test(value) || Number(value) < min) {
      this.warnings.push(`${name}=${value}: not a valid number, ignored`);
      return fallback;
    }
    return Number(value);
  }

  /** Adds a sysparm_query term to `filters` or `orders`; answers why it is ignored, if it is. */
  private parseTerm(
    term: string,
    filters: ((f: Incident) => boolean)[],
    orders: { field: Field; desc: boolean }[],
  ): string | undefined {
    if (term === '' || term === 'EQ') return undefined;
    const order = /^ORDERBY(DESC)?(.*)$/.exec(term);
    if (order) {
      const field = order[2] as string;
      if (!FIELD_SET.has(field)) return 'unknown field';
      orders.push({ field: field as Field, desc: order[1] !== undefined });
      return undefined;
    }
    if (/^(OR|NQ)/.test(term)) return 'OR/NQ queries are not supported by the fake';
    const m = /^([a-z_][a-z0-9_]*)(.*)$/s.exec(term);
    if (!m) return 'no field';
    const field = m[1] as string;
    const rest = m[2] as string;
    if (!FIELD_SET.has(field)) return 'unknown field';
    const get = (f: Incident) => f[field as Field];
    if (rest === 'ISEMPTY') filters.push((f) => get(f) === '');
    else if (rest === 'ISNOTEMPTY') filters.push((f) => get(f) !== '');
    else if (rest.startsWith('!=')) filters.push((f) => get(f) !== rest.slice(2));
    else if (rest.startsWith('=')) filters.push((f) => get(f) === rest.slice(1));
    else if (rest.startsWith('IN')) {
      const values = new Set(rest.slice(2).split(','));
      filters.push((f) => values.has(get(f)));
    } else return 'unsupported operator';
    return undefined;
  }

  /** A record as the Table API answers it, limited to sysparm_fields. */
  private render(fields: Incident, params: URLSearchParams): Json {
    let selected: readonly Field[] = FIELDS;
    const wanted = params.get('sysparm_fields');
    if (wanted !== null && wanted.trim() !== '') {
      const names = wanted
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      for (const name of names)
        if (!FIELD_SET.has(name)) this.warnings.push(`sysparm_fields: unknown field ${name} (not returned)`);
      selected = names.filter((n): n is Field => FIELD_SET.has(n));
    }
    const links = params.get('sysparm_exclude_reference_link') !== 'true';
    const out: Json = {};
    for (const field of selected) {
      const value = JOURNAL.has(field) ? '' : fields[field];
      const table = REFERENCES[field];
      out[field] =
        table && links && value !== ''
          ? { link: `${this.url}/api/now/table/${table}/${encodeURIComponent(value)}`, value }
          : value;
    }
    return out;
  }

  /** Inserts (no `existing`) or updates, with ServiceNow's checks and business rules. */
  private write(existing: Stored | undefined, body: Json, user: string, at: number): Stored | Answer {
    if (existing && (existing.fields.state === STATE.closed || existing.fields.state === STATE.canceled))
      return ACL_UPDATE();

    const changes: Partial<Record<Field, string>> = {};
    for (const [key, raw] of Object.entries(body)) {
      if (!WRITABLE.has(key)) {
        this.warnings.push(
          FIELD_SET.has(key) ? `ignored read-only field ${key}` : `ignored unknown field ${key}`,
        );
        continue;
      }
      let value: string;
      if (typeof raw === 'string') value = raw;
      else if (typeof raw === 'number' || typeof raw === 'boolean') value = String(raw);
      else if (raw === null) value = '';
      else {
        this.warnings.push(
          `ignored ${key}: a ${Array.isArray(raw) ? 'array' : 'object'} is not a field value`,
        );
        continue;
      }
      const max = MAX_LENGTH[key as Field];
      if (max !== undefined && value.length > max) {
        this.warnings.push(`${key} truncated to ${max} characters (was ${value.length})`);
        value = value.slice(0, max);
      }
      changes[key as Field] = value;
    }

    for (const [field, choices] of Object.entries(CHOICES)) {
      const value = changes[field as Field];
      if (value !== undefined && !choices.includes(value))
        return failure(400, `Invalid value for field ${field}`, null);
    }

    const before = existing?.fields ?? this.blank(at, user);
    const merged: Incident = { ...before };
    for (const [field, value] of Object.entries(changes))
      if (!JOURNAL.has(field)) merged[field as Field] = value;

    const closing = merged.state === STATE.resolved || merged.state === STATE.closed;
    if (closing) {
      const missing: string[] = [];
      if (merged.close_code.trim() === '') missing.push('Resolution code');
      if (merged.close_notes.trim() === '') missing.push('Resolution notes');
      if (missing.length > 0)
        return failure(
          403,
          'Operation Failed',
          `Data Policy Exception: \n The following fields are mandatory: ${missing.join(', ')}\n`,
        );
    }
    if (
      merged.close_code !== '' &&
      (closing || changes.close_code !== undefined) &&
      !this.closeCodes.includes(merged.close_code)
    )
      return failure(403, 'Operation Failed', 'Data Policy Exception: Resolution code: invalid value');

    const journal = (['work_notes', 'comments'] as const)
      .filter((f) => changes[f] !== undefined && changes[f] !== '')
      .map((f) => ({ field: f, value: changes[f] as string, at }));
    const changed = journal.length > 0 || FIELDS.some((f) => merged[f] !== before[f]);

    const stored: Stored = existing ?? { fields: merged, seq: ++this.seq, journal: [] };
    if (!existing) {
      merged.sys_id = randomBytes(16).toString('hex');
      merged.number = `INC${String(this.nextNumber++).padStart(7, '0')}`;
      this.records.push(stored);
    } else if (!changed) {
      return stored; // ServiceNow skips an update that changes nothing.
    }
    this.transition(merged, existing ? before.state : '', merged.state, at);
    merged.priority = priorityOf(merged.urgency, merged.impact);
    merged.active = activeOf(merged.state);
    merged.sys_updated_on = snTime(at);
    merged.sys_updated_by = user;
    stored.fields = merged;
    stored.journal.push(...journal);
    return stored;
  }

  /** resolved_at, closed_at and reopen_count as the state changes. */
  private transition(f: Incident, from: string, to: string, at: number): void {
    if (to === STATE.resolved && from !== STATE.resolved) f.resolved_at = snTime(at);
    if (to === STATE.closed && from !== STATE.closed) {
      f.closed_at = snTime(at);
      if (f.resolved_at === '') f.resolved_at = snTime(at);
    }
    if (from === STATE.resolved && (to === STATE.new || to === STATE.inProgress || to === STATE.onHold)) {
      f.resolved_at = '';
      f.reopen_count = String(Number(f.reopen_count) + 1);
    }
  }

  private blank(at: number, user: string): Incident {
    return {
      sys_id: '',
      number: '',
      short_description: '',
      description: '',
      urgency: '3',
      impact: '3',
      priority: '5',
      state: STATE.new,
      active: 'true',
      correlation_id: '',
      correlation_display: '',
      close_code: '',
      close_notes: '',
      resolved_at: '',
      closed_at: '',
      assignment_group: '',
      caller_id: '',
      category: '',
      subcategory: '',
      cmdb_ci: '',
      contact_type: '',
      reopen_count: '0',
      work_notes: '',
      comments: '',
      sys_created_on: snTime(at),
      sys_updated_on: snTime(at),
      sys_updated_by: user,
    };
  }
}

function activeOf(state: string): string {
  return state === STATE.closed || state === STATE.canceled ? 'false' : 'true';
}

function matches(re: RegExp, text: string): boolean {
  re.lastIndex = 0;
  return re.test(text);
}

function compareField(field: Field, a: string, b: string): number {
  if (INTEGER_FIELDS.has(field)) return Number(a) - Number(b);
  return a < b ? -1 : a > b ? 1 : 0;
}

function faultAnswer(
  fault: { status: 429 | 500 | 502 | 503; retryAfter?: number },
  at: number,
  user: string,
): Answer {
  if (fault.status === 429) {
    const retryAfter = fault.retryAfter ?? 1;
    const answer = failure(
      429,
      'Rate limit exceeded',
      `Rate limit of ${RATE_LIMIT} requests per hour exceeded for user ${user}; retry after ${retryAfter} seconds`,
    );
    answer.headers = {
      'Retry-After': String(retryAfter),
      'X-RateLimit-Limit': String(RATE_LIMIT),
      'X-RateLimit-Reset': String(Math.ceil(at / 1000) + retryAfter),
    };
    return answer;
  }
  if (fault.status === 500) return failure(500, 'Internal Server Error', 'Fault injected by the test');
  const text = fault.status === 502 ? 'Bad Gateway' : 'Service Unavailable';
  return {
    status: fault.status,
    body: `<html><head><title>${fault.status} ${text}</title></head><body><h1>${text}</h1></body></html>`,
  };
}
