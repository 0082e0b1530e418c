// The Jira REST requests of each lifecycle step, built without I/O. Cloud speaks /rest/api/3 with
// descriptions and comments in Atlassian Document Format; Data Center speaks /rest/api/2 with wiki
// markup strings. Texts come from the shared ticket content. Pure.
// https://developer.atlassian.com/cloud/jira/platform/rest/v3/ and https://docs.atlassian.com/software/jira/docs/api/REST/latest/
import type { DeliveryEvent, WireRequest } from '../channel.js';
import { type AdfNode, type Block, toAdf, toWiki } from '../doc.js';
import { bySeverity } from '../ticket/config.js';
import {
  type CommentDoc,
  type ContentLimits,
  type EarlierTicket,
  fitting,
  ticketDescription,
  ticketSummary,
} from '../ticket/content.js';
import type { JiraChannelSettings } from './config.js';

export type JiraApi = 'cloud' | 'datacenter';

/** Jira's limits: summary, and description/comment (on Cloud counted over the ADF JSON). */
export const JIRA_LIMITS = { summary: 255, text: 32_767 } as const;
/** Cap for each free-text value, so that one huge annotation leaves room for the rest. */
const MAX_VALUE = 10_000;
/** What the adapter reads of an issue. */
export const READ_FIELDS = ['status', 'resolution', 'resolutiondate'] as const;
/** Answers the deployment type; on Cloud and Data Center alike. */
export const SERVER_INFO_PATH = '/rest/api/2/serverInfo';

export type JiraTarget = Pick<
  JiraChannelSettings,
  | 'url'
  | 'api'
  | 'project'
  | 'issueType'
  | 'priority'
  | 'labels'
  | 'components'
  | 'fields'
  | 'linkType'
  | 'maxAlerts'
>;

export interface JiraRequest {
  method: 'GET' | 'POST';
  /** Path and query below the Jira base URL. */
  path: string;
  body?: unknown;
}

export const apiRoot = (api: JiraApi) => (api === 'cloud' ? '/rest/api/3' : '/rest/api/2');

/** For `api: auto` before Jira was asked: Atlassian hosts Cloud sites under .atlassian.net. */
export function guessApi(s: Pick<JiraTarget, 'url' | 'api'>): JiraApi {
  if (s.api !== 'auto') return s.api;
  return new URL(s.url).hostname.toLowerCase().endsWith('.atlassian.net') ? 'cloud' : 'datacenter';
}

export function browseUrl(s: Pick<JiraTarget, 'url'>, key: string): string {
  return `${s.url}/browse/${key}`;
}

/** A JQL string literal: `"` and `\` escaped. */
export function jqlString(value: string): string {
  return `"${value.replace(/[\\"]/g, '\\$&')}"`;
}

export function findJql(s: Pick<JiraTarget, 'project'>, identity: string): string {
  return `project = ${jqlString(s.project)} AND labels = ${jqlString(identity)} ORDER BY created DESC`;
}

/**
 * The newest issue with the identity label. Cloud's /search/jql is eventually consistent: the lifecycle
 * does not trust a miss after a create it got no answer to. The old /rest/api/3/search answers 410.
 */
export function findRequest(api: JiraApi, s: JiraTarget, identity: string) {
  const jql = findJql(s, identity);
  const fields = [...READ_FIELDS];
  if (api === 'cloud') return post(`${apiRoot(api)}/search/jql`, { jql, fields, maxResults: 1 });
  return post(`${apiRoot(api)}/search`, { jql, fields, maxResults: 1, startAt: 0 });
}

function issuePath(api: JiraApi, id: string): string {
  return `${apiRoot(api)}/issue/${encodeURIComponent(id)}`;
}

export function getRequest(api: JiraApi, id: string): JiraRequest {
  return { method: 'GET', path: `${issuePath(api, id)}?fields=${READ_FIELDS.join(',')}` };
}

function limits(s: Pick<JiraTarget, 'maxAlerts'>): ContentLimits {
  return { maxAlerts: s.maxAlerts, maxValue: MAX_VALUE };
}

/** A document as the API version takes it, shrunk until it fits Jira's text limit. */
export function jiraText(
  api: JiraApi,
  s: Pick<JiraTarget, 'maxAlerts'>,
  render: (limits: ContentLimits) => Block[],
): AdfNode | string {
  if (api === 'cloud')
    return fitting(
      limits(s),
      JIRA_LIMITS.text,
      (l) => toAdf(render(l)),
      (doc) => JSON.stringify(doc).length,
    );
  return fitting(
    limits(s),
    JIRA_LIMITS.text,
    (l) => toWiki(render(l)),
    (text) => text.length,
  );
}

/** The configured labels and the identity; a `labels` entry of `fields` cannot drop the identity. */
function labelsOf(s: JiraTarget, identity: string): string[] {
  const extra = s.fields.labels;
  const configured = Array.isArray(extra) ? extra.filter((l): l is string => typeof l === 'string') : [];
  return [...new Set([...s.labels, ...configured, identity])];
}

export function createRequest(
  api: JiraApi,
  s: JiraTarget,
  event: DeliveryEvent,
  identity: string,
  earlier?: EarlierTicket,
): JiraRequest {
  const { group } = event;
  const priority = bySeverity(s.priority, group.severity);
  const fields = {
    project: { key: s.project },
    issuetype: { name: s.issueType },
    summary: ticketSummary(group, JIRA_LIMITS.summary),
    description: jiraText(api, s, (l) => ticketDescription(event, identity, l, earlier)),
    ...(priority !== undefined ? { priority: { name: priority } } : {}),
    ...(s.components.length > 0 ? { components: s.components.map((name) => ({ name })) } : {}),
    ...s.fields,
    labels: labelsOf(s, identity),
  };
  return post(`${apiRoot(api)}/issue`, { fields });
}

export function commentRequest(
  api: JiraApi,
  s: Pick<JiraTarget, 'maxAlerts'>,
  id: string,
  doc: CommentDoc,
): JiraRequest {
  return post(`${issuePath(api, id)}/comment`, { body: jiraText(api, s, doc) });
}

export function transitionsRequest(api: JiraApi, id: string): JiraRequest {
  return { method: 'GET', path: `${issuePath(api, id)}/transitions` };
}

export function transitionRequest(api: JiraApi, id: string, transitionId: string): JiraRequest {
  return post(`${issuePath(api, id)}/transitions`, { transition: { id: transitionId } });
}

/** Links the new issue to the earlier one ("LIC-7 relates to LIC-3"). */
export function linkRequest(
  api: JiraApi,
  s: Pick<JiraTarget, 'linkType'>,
  newKey: string,
  earlierKey: string,
): JiraRequest {
  return post(`${apiRoot(api)}/issueLink`, {
    type: { name: s.linkType },
    inwardIssue: { key: newKey },
    outwardIssue: { key: earlierKey },
  });
}

export function toWire(request: JiraRequest): WireRequest {
  return { action: `${request.method} ${request.path}`, body: request.body };
}

function post(path: string, body: unknown): JiraRequest {
  return { method: 'POST', path, body };
}
