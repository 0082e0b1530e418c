// Jira issues as a ticket system: one issue per alert group, marked by the identity label and found
// through JQL search (eventually consistent: a new issue may be missing for a while); comments for
// changes; workflow transitions by name to resolve and reopen. Cloud (API v3, ADF) and Data Center
// (API v2, wiki markup); `api: auto` asks serverInfo once. The request bodies are built in render.ts.
import type { Logger } from 'pino';
import { ChannelError, type DeliveryEvent, type WireRequest } from '../channel.js';
import { defineChannel } from '../descriptor.js';
import type { Block } from '../doc.js';
import { HttpClient, HttpError, type HttpResponse, oneLine, pageWords } from '../http.js';
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
import { buildJiraSettings, type JiraChannelSettings, jiraSchema } from './config.js';
import {
  browseUrl,
  commentRequest,
  createRequest,
  findRequest,
  getRequest,
  guessApi,
  type JiraApi,
  type JiraRequest,
  linkRequest,
  SERVER_INFO_PATH,
  toWire,
  transitionRequest,
  transitionsRequest,
} from './render.js';

const PEER = 'Jira';
/** Characters of Jira's error text kept in an error. */
const PEER_TEXT_MAX = 500;

/** An issue as the adapter reads it (fields=status,resolution,resolutiondate). */
interface JiraIssue {
  id: string;
  key: string;
  fields?: {
    status?: { name?: string; statusCategory?: { key?: string } };
    resolution?: { name?: string } | null;
    resolutiondate?: string | null;
  };
}

interface Transition {
  id: string;
  name: string;
}

export const jiraChannel = defineChannel({
  type: 'jira',
  schema: jiraSchema,
  build: buildJiraSettings,
  create: (settings, logger) =>
    new TicketChannel('jira', settings, createJiraSystem(settings, logger), logger),
  print: printTicketRequest,
});

export function createJiraSystem(settings: JiraChannelSettings, logger: Logger): TicketSystem {
  return new JiraSystem(settings, logger);
}

class JiraSystem implements TicketSystem {
  readonly peer = PEER;
  readonly searchLagMs: number;
  private readonly client: HttpClient;
  /** The API `auto` found (serverInfo is asked once; a failed ask is asked again). */
  private detected: JiraApi | undefined;

  constructor(
    private readonly settings: JiraChannelSettings,
    private readonly logger: Logger,
  ) {
    this.searchLagMs = settings.searchLagMs;
    this.client = new HttpClient({
      peer: PEER,
      baseUrl: settings.url,
      credentials: {
        token: settings.personalAccessToken,
        user: settings.email,
        password: settings.apiToken,
        required: 'API token or personal access token',
      },
      timeoutMs: settings.timeoutMs,
      describe: describeJira,
    });
  }

  identity(event: DeliveryEvent): string {
    return identityLabel(event);
  }

  async find(identity: string): Promise<RemoteTicket | undefined> {
    const request = findRequest(await this.api(), this.settings, identity);
    const res = await this.call<{ issues?: unknown }>(request);
    const issues = res.body?.issues;
    if (!Array.isArray(issues)) throw unexpected(request);
    return issues[0] === undefined ? undefined : this.remote(issueOf(issues[0], request));
  }

  async get(ref: TicketRef): Promise<RemoteTicket> {
    return this.remote(await this.read(ref));
  }

  async create(event: DeliveryEvent, identity: string, earlier?: TicketRef): Promise<TicketRef> {
    const api = await this.api();
    const request = createRequest(api, this.settings, event, identity, earlier);
    const res = await this.call<{ id?: unknown; key?: unknown }>(request);
    const { id, key } = res.body ?? {};
    if (typeof key !== 'string' || (typeof id !== 'string' && typeof id !== 'number'))
      // Created, but we cannot tell which issue: uncertain, so the core waits for search to show it.
      throw new HttpError(
        `${PEER} answered ${request.method} ${request.path} without the new issue's id and key`,
        true,
        undefined,
      );
    const ref = this.refOf(String(id), key);
    if (earlier) await this.link(api, ref, earlier);
    return ref;
  }

  async note(ref: TicketRef, note: Block[]): Promise<void> {
    await this.onIssue(
      ref,
      commentRequest(await this.api(), this.settings, ref.id, () => note),
    );
  }

  async comment(ref: TicketRef, event: DeliveryEvent, kind: CommentKind): Promise<void> {
    await this.onIssue(ref, commentRequest(await this.api(), this.settings, ref.id, commentOf(event, kind)));
  }

  /** Transition first, comment second: a retry after a failed comment finds the issue done and only comments. */
  async resolve(ref: TicketRef, event: DeliveryEvent): Promise<void> {
    const issue = await this.read(ref);
    if (categoryOf(issue) === 'done') {
      this.logger.debug({ ticket: ref.key }, `${PEER} issue is done already: commented only`);
    } else {
      await this.transition(ref, this.settings.resolveTransition, 'resolve_transition', statusOf(issue));
    }
    await this.comment(ref, event, 'resolve');
  }

  async reopen(ref: TicketRef, event: DeliveryEvent): Promise<void> {
    await this.transition(ref, this.settings.reopenTransition, 'reopen_transition');
    await this.comment(ref, event, 'reopen');
  }

  preview(step: TicketStep, event: DeliveryEvent, ref?: TicketRef, kind?: CommentKind): WireRequest[] {
    const s = this.settings;
    const api = this.detected ?? guessApi(s);
    const id = ref?.id ?? '<issue id>';
    const requests: JiraRequest[] = (() => {
      switch (step) {
        case 'find':
          return [ref ? getRequest(api, ref.id) : findRequest(api, s, this.identity(event))];
        case 'create': {
          const create = createRequest(api, s, event, this.identity(event), ref);
          return ref ? [create, linkRequest(api, s, '<new issue key>', ref.key)] : [create];
        }
        case 'comment':
          return [commentRequest(api, s, id, commentOf(event, kind))];
        case 'resolve':
          return [
            getRequest(api, id),
            transitionsRequest(api, id),
            transitionRequest(api, id, `<id of "${s.resolveTransition}">`),
            commentRequest(api, s, id, commentOf(event, 'resolve')),
          ];
        case 'reopen':
          return [
            transitionsRequest(api, id),
            transitionRequest(api, id, `<id of "${s.reopenTransition}">`),
            commentRequest(api, s, id, commentOf(event, 'reopen')),
          ];
      }
    })();
    return requests.map(toWire);
  }

  /** The API version to speak: configured, or found once through serverInfo. */
  private async api(): Promise<JiraApi> {
    if (this.settings.api !== 'auto') return this.settings.api;
    this.detected ??= await this.detect();
    return this.detected;
  }

  private async detect(): Promise<JiraApi> {
    const request: JiraRequest = { method: 'GET', path: SERVER_INFO_PATH };
    const res = await this.call<{ deploymentType?: unknown; version?: unknown }>(request);
    const type = res.body?.deploymentType;
    if (typeof type !== 'string')
      throw new ChannelError(
        `${PEER} answered GET ${SERVER_INFO_PATH} without a deploymentType (is the url the Jira base URL?)`,
        false,
      );
    const api: JiraApi = type === 'Cloud' ? 'cloud' : 'datacenter';
    this.logger.info({ deployment: type, version: res.body?.version, api }, `${PEER} API detected`);
    return api;
  }

  /** The issue now; TicketGoneError when Jira no longer shows it (deleted, or hidden from the account). */
  private async read(ref: TicketRef): Promise<JiraIssue> {
    const request = getRequest(await this.api(), ref.id);
    return issueOf((await this.onIssue(ref, request)).body, request);
  }

  /** Applies the workflow transition of this name (case-insensitive), as the issue offers it now. */
  private async transition(ref: TicketRef, name: string, key: string, status?: string): Promise<void> {
    const api = await this.api();
    const listed = await this.onIssue<{ transitions?: unknown }>(ref, transitionsRequest(api, ref.id));
    const offered = transitionsOf(listed.body?.transitions);
    const match = offered.find((t) => t.name.toLowerCase() === name.toLowerCase());
    if (!match) {
      const now = status ?? (await this.statusName(ref));
      const names = offered.map((t) => `"${t.name}"`).join(', ');
      throw new ChannelError(
        `${PEER} offers no transition "${name}" for ${ref.key} (status "${now}"); ` +
          (offered.length > 0
            ? `it offers ${names}: set ${key} to one of them`
            : `it offers none: check the workflow and the account's Transition issues permission`),
        false,
      );
    }
    await this.onIssue(ref, transitionRequest(api, ref.id, match.id));
  }

  /** For an error message only: the issue's status name, or "unknown". */
  private async statusName(ref: TicketRef): Promise<string> {
    try {
      return statusOf(await this.read(ref));
    } catch {
      return 'unknown';
    }
  }

  /** Best effort: the description names the earlier issue already, and a throw here would create twice. */
  private async link(api: JiraApi, ref: TicketRef, earlier: TicketRef): Promise<void> {
    try {
      await this.call(linkRequest(api, this.settings, ref.key, earlier.key));
    } catch (err) {
      this.logger.warn(
        { ticket: ref.key, earlier: earlier.key, err: (err as Error).message },
        `${PEER} issue link to the earlier issue failed; the description names it`,
      );
    }
  }

  /** A request on one issue: a 404 means the issue is gone (or the account can no longer see it). */
  private async onIssue<T = unknown>(ref: TicketRef, request: JiraRequest): Promise<HttpResponse<T>> {
    const res = await this.call<T>(request, [404]);
    if (res.status === 404)
      throw new TicketGoneError(
        `${PEER} issue ${ref.key} is gone: ${describeJira(res.body) ?? `HTTP 404 to ${request.path}`}`,
      );
    return res;
  }

  private async call<T = unknown>(request: JiraRequest, accept: number[] = []): Promise<HttpResponse<T>> {
    try {
      return await this.client.request<T>(request.method, request.path, request.body, { accept });
    } catch (err) {
      if (err instanceof HttpError && err.status === 401)
        throw new HttpError(`${err.message} (check ${credentialsOf(this.settings)})`, false, 401);
      throw err;
    }
  }

  private remote(issue: JiraIssue): RemoteTicket {
    const resolvedAt = jiraTime(issue.fields?.resolutiondate);
    const resolution = issue.fields?.resolution?.name;
    return {
      ref: this.refOf(issue.id, issue.key),
      open: categoryOf(issue) !== 'done',
      ...(resolvedAt !== undefined ? { resolvedAt } : {}),
      wontFix:
        typeof resolution === 'string' &&
        resolution.toLowerCase() === this.settings.wontFixResolution.toLowerCase(),
    };
  }

  private refOf(id: string, key: string): TicketRef {
    return { key, id, url: browseUrl(this.settings, key) };
  }
}

function credentialsOf(s: JiraChannelSettings): string {
  return s.personalAccessToken !== undefined
    ? 'the personal access token'
    : `the email (${s.email}) and the API token`;
}

/** Jira's `{ errorMessages: [...], errors: { field: message } }` → `msg1; msg2; field: message`. */
export function describeJira(body: unknown): string | undefined {
  if (typeof body === 'string') {
    // An HTML page from Atlassian's edge or a proxy: its words only.
    return pageWords(body, PEER_TEXT_MAX);
  }
  if (typeof body !== 'object' || body === null) return undefined;
  const { errorMessages, errors, message } = body as Record<string, unknown>;
  const parts: string[] = [];
  if (Array.isArray(errorMessages))
    for (const m of errorMessages) if (typeof m === 'string' && m.trim()) parts.push(oneLine(m));
  if (typeof errors === 'object' && errors !== null)
    for (const [field, m] of Object.entries(errors))
      if (typeof m === 'string') parts.push(`${field}: ${oneLine(m)}`);
  // Some gateways answer `{ message }` instead.
  if (parts.length === 0 && typeof message === 'string' && message.trim()) parts.push(oneLine(message));
  return parts.length === 0 ? undefined : parts.join('; ').slice(0, PEER_TEXT_MAX);
}

function issueOf(value: unknown, request: JiraRequest): JiraIssue {
  const issue = value as { id?: unknown; key?: unknown; fields?: unknown } | undefined;
  const id = issue?.id;
  if (typeof issue?.key !== 'string' || (typeof id !== 'string' && typeof id !== 'number'))
    throw unexpected(request);
  const fields = typeof issue.fields === 'object' && issue.fields !== null ? issue.fields : {};
  return { id: String(id), key: issue.key, fields: fields as JiraIssue['fields'] };
}

function transitionsOf(value: unknown): Transition[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((t: { id?: unknown; name?: unknown }) =>
    (typeof t?.id === 'string' || typeof t?.id === 'number') && typeof t.name === 'string'
      ? [{ id: String(t.id), name: t.name }]
      : [],
  );
}

function categoryOf(issue: JiraIssue): string | undefined {
  return issue.fields?.status?.statusCategory?.key;
}

function statusOf(issue: JiraIssue): string {
  return issue.fields?.status?.name ?? 'unknown';
}

function unexpected(request: JiraRequest): ChannelError {
  return new ChannelError(
    `${PEER} answered ${request.method} ${request.path.split('?')[0]} without the expected JSON (is the url the Jira base URL?)`,
    true,
  );
}

/** Jira's `2026-11-28T14:00:00.000+0000` → ms (the offset gets its colon, as ISO 8601 engines expect). */
export function jiraTime(value: string | null | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
  return Number.isNaN(ms) ? undefined : ms;
}
