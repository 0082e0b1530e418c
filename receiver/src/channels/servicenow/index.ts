// ServiceNow incidents through the Table API: one incident per alert group, marked by its correlation
// id; work notes for changes; resolve with a close code and close notes; reopen by moving the state
// back. A Closed (7) or Canceled (8) incident accepts no update, so it is never reopened: a new
// incident naming the old one is opened instead. The request bodies are built in render.ts.
import type { Logger } from 'pino';
import { ChannelError, type DeliveryEvent, type WireRequest } from '../channel.js';
import { defineChannel } from '../descriptor.js';
import type { Block } from '../doc.js';
import { HttpClient, type HttpResponse, oneLine, pageWords } from '../http.js';
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
import { buildServiceNowSettings, type ServiceNowChannelSettings, servicenowSchema } from './config.js';
import {
  checkIdentity,
  commentBody,
  createBody,
  createPath,
  findPath,
  INCIDENT_PATH,
  incidentPath,
  incidentUrl,
  reopenBody,
  resolveBody,
  STATE,
} from './render.js';

const PEER = 'ServiceNow';
/** Characters of ServiceNow's error text kept in an error. */
const PEER_TEXT_MAX = 500;

/** An incident as the adapter reads it (sysparm_fields, raw values). */
interface IncidentRow {
  sys_id: string;
  number: string;
  state: string;
  resolved_at: string;
  closed_at: string;
  close_code: string;
}

export const servicenowChannel = defineChannel({
  type: 'servicenow',
  schema: servicenowSchema,
  build: buildServiceNowSettings,
  create: (settings, logger) =>
    new TicketChannel('servicenow', settings, createServiceNowSystem(settings, logger), logger),
  print: printTicketRequest,
});

export class ServiceNowSystem implements TicketSystem {
  readonly peer = PEER;
  // The Table API reads the database: a created incident is found at once.
  readonly searchLagMs = 0;
  private readonly client: HttpClient;

  constructor(
    private readonly settings: ServiceNowChannelSettings,
    private readonly logger: Logger,
  ) {
    this.client = new HttpClient({
      peer: PEER,
      baseUrl: settings.url,
      credentials: {
        token: settings.token,
        user: settings.username,
        password: settings.password,
        required: 'password or token',
      },
      timeoutMs: settings.timeoutMs,
      describe: describeError,
    });
  }

  identity(event: DeliveryEvent): string {
    return checkIdentity(identityLabel(event));
  }

  async find(identity: string): Promise<RemoteTicket | undefined> {
    const path = findPath(checkIdentity(identity));
    const rows = resultOf(await this.request('GET', path), `GET ${INCIDENT_PATH}`);
    if (!Array.isArray(rows)) throw unexpected(`GET ${INCIDENT_PATH}`);
    return rows[0] === undefined ? undefined : this.remote(incidentOf(rows[0], `GET ${INCIDENT_PATH}`));
  }

  async get(ref: TicketRef): Promise<RemoteTicket> {
    return this.remote(await this.read(ref));
  }

  async create(event: DeliveryEvent, identity: string, earlier?: TicketRef): Promise<TicketRef> {
    const body = createBody(this.settings, event, identity, earlier);
    const what = `POST ${INCIDENT_PATH}`;
    const res = await this.request('POST', createPath(), body);
    return this.refOf(incidentOf(resultOf(res, what), what));
  }

  async note(ref: TicketRef, note: Block[]): Promise<void> {
    await this.patch(
      ref,
      commentBody(this.settings, () => note),
    );
  }

  async comment(ref: TicketRef, event: DeliveryEvent, kind: CommentKind): Promise<void> {
    await this.patch(ref, commentBody(this.settings, commentOf(event, kind)));
  }

  async resolve(ref: TicketRef, event: DeliveryEvent): Promise<void> {
    const row = await this.read(ref);
    if (row.state === STATE.closed || row.state === STATE.canceled) {
      // ServiceNow refuses any update of a Closed or Canceled incident (403): nothing to add.
      this.logger.warn(
        { ticket: ref.key, state: row.state },
        `${PEER} incident is closed or canceled already: resolve not written`,
      );
      return;
    }
    const body = resolveBody(this.settings, event);
    // Resolved already (by a person): add the note, keep their close code and close notes.
    const resolved = row.state === STATE.resolved || row.state === this.settings.resolveState;
    await this.patch(ref, resolved ? { work_notes: body.work_notes as string } : body);
  }

  async reopen(ref: TicketRef, event: DeliveryEvent): Promise<void> {
    await this.patch(ref, reopenBody(this.settings, event));
  }

  preview(step: TicketStep, event: DeliveryEvent, ref?: TicketRef, kind?: CommentKind): WireRequest[] {
    const s = this.settings;
    const target = `PATCH ${incidentPath(ref?.id ?? '<sys_id>', false)}`;
    switch (step) {
      case 'find':
        return [
          {
            action: `GET ${ref ? incidentPath(ref.id) : findPath(this.identity(event))}`,
            body: undefined,
          },
        ];
      case 'create':
        return [{ action: `POST ${createPath()}`, body: createBody(s, event, this.identity(event), ref) }];
      case 'comment':
        return [{ action: target, body: commentBody(s, commentOf(event, kind)) }];
      case 'resolve':
        return [
          { action: `GET ${incidentPath(ref?.id ?? '<sys_id>')}`, body: undefined },
          { action: target, body: resolveBody(s, event) },
        ];
      case 'reopen':
        return [{ action: target, body: reopenBody(s, event) }];
    }
  }

  /** The incident now; TicketGoneError when ServiceNow has no such record (or hides it by ACL). */
  private async read(ref: TicketRef): Promise<IncidentRow> {
    const path = incidentPath(ref.id);
    const res = await this.request('GET', path, undefined, [404]);
    if (res.status === 404) throw this.missing(ref, 'GET', path, res);
    const what = `GET ${INCIDENT_PATH}/${ref.id}`;
    return incidentOf(resultOf(res, what), what);
  }

  /** A 403 on a Closed or Canceled incident means it takes no more updates: it counts as gone. */
  private async patch(ref: TicketRef, body: Record<string, string>): Promise<void> {
    const path = incidentPath(ref.id, false);
    const res = await this.request('PATCH', path, body, [403, 404]);
    if (res.status === 404) throw this.missing(ref, 'PATCH', path, res);
    if (res.status !== 403) return;
    const row = await this.read(ref);
    if (row.state === STATE.closed || row.state === STATE.canceled)
      throw new TicketGoneError(`${PEER} incident ${ref.key} is closed and takes no updates`);
    throw this.client.failure('PATCH', path, res);
  }

  /** "No Record found" means the incident is gone; any other 404 (a wrong url) is a configuration error. */
  private missing(ref: TicketRef, method: string, path: string, res: HttpResponse): Error {
    if (errorOf(res.body)?.message !== 'No Record found') return this.client.failure(method, path, res);
    return new TicketGoneError(`${PEER} incident ${ref.key} no longer exists`);
  }

  private async request(
    method: string,
    path: string,
    body?: unknown,
    accept?: number[],
  ): Promise<HttpResponse> {
    return this.client.request(method, path, body, accept ? { accept } : {});
  }

  private remote(row: IncidentRow): RemoteTicket {
    const { settings } = this;
    const closed = [settings.resolveState, STATE.resolved, STATE.closed, STATE.canceled];
    const resolvedAt = snTime(row.resolved_at || row.closed_at);
    return {
      ref: this.refOf(row),
      open: !closed.includes(row.state),
      ...(resolvedAt !== undefined ? { resolvedAt } : {}),
      // Canceled is ServiceNow's "won't fix"; a Closed incident cannot be reopened, so it counts too.
      wontFix:
        row.state === STATE.canceled ||
        row.state === STATE.closed ||
        settings.wontFixCloseCodes.includes(row.close_code),
    };
  }

  private refOf(row: IncidentRow): TicketRef {
    return { key: row.number, id: row.sys_id, url: incidentUrl(this.settings.url, row.sys_id) };
  }
}

export function createServiceNowSystem(settings: ServiceNowChannelSettings, logger: Logger): TicketSystem {
  return new ServiceNowSystem(settings, logger);
}

/** ServiceNow's `{ error: { message, detail }, status: 'failure' }` → `message: detail`. */
export function describeError(body: unknown): string | undefined {
  if (typeof body === 'string') {
    // An HTML page from a proxy or a sleeping instance: its words only.
    return pageWords(body, PEER_TEXT_MAX);
  }
  const error = errorOf(body);
  if (!error) return undefined;
  const parts = [error.message, error.detail]
    .filter((p): p is string => typeof p === 'string')
    .map(oneLine)
    .filter((p) => p !== '');
  return parts.length === 0 ? undefined : parts.join(': ').slice(0, PEER_TEXT_MAX);
}

function errorOf(body: unknown): { message?: unknown; detail?: unknown } | undefined {
  const error = (body as { error?: unknown } | undefined)?.error;
  return error && typeof error === 'object' ? error : undefined;
}

/** The `result` of an answer; a 2xx without it is not the Table API (a login page, a proxy). */
function resultOf(res: HttpResponse, what: string): unknown {
  const result = (res.body as { result?: unknown } | undefined)?.result;
  if (result === undefined) throw unexpected(what);
  return result;
}

function incidentOf(value: unknown, what: string): IncidentRow {
  const row = value as Partial<Record<keyof IncidentRow, unknown>> | undefined;
  if (typeof row?.sys_id !== 'string' || typeof row.number !== 'string') throw unexpected(what);
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  return {
    sys_id: row.sys_id,
    number: row.number,
    state: text(row.state),
    resolved_at: text(row.resolved_at),
    closed_at: text(row.closed_at),
    close_code: text(row.close_code),
  };
}

function unexpected(what: string): ChannelError {
  return new ChannelError(
    `${PEER} answered ${what} without the expected incident JSON (is the instance asleep, or the url not the instance?)`,
    true,
  );
}

/** 'YYYY-MM-DD HH:mm:ss' in UTC (the Table API's raw date-time) → ms. */
function snTime(value: string): number | undefined {
  if (!/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(value)) return undefined;
  const ms = Date.parse(`${value.replace(' ', 'T')}Z`);
  return Number.isNaN(ms) ? undefined : ms;
}
